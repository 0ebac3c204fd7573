/* gemm.h - the engine's matrix product (gemm.c): every output element is the
   same fixed sequence of float operations (fma chains over blocks of 256 k,
   then the block sums in order), so its bits depend only on its row of
   op(A) and its column of op(B). Serial; ops.c's eng_sgemm
   splits it over the engine's threads. Row-major; ta/tb: op is a
   transpose; beta 0 ignores C's old value (it may hold NaN). */
#ifndef ENGINE_GEMM_H
#define ENGINE_GEMM_H

/* C (M,N) = alpha op(A) op(B) + beta C; A (M,K) or (K,M) if ta, B (K,N) or (N,K) if tb. */
void gemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);
/* The same sums, one element at a time with fmaf: the specification. */
void gemm_f32_naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc);

#endif
