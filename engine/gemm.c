/* gemm.c - the engine's matrix product, with one fixed rounding per output.

   C (M,N) = alpha op(A) op(B) + beta C, row-major, where every product
   element is the same sequence of float operations wherever it sits:

       for each block b of KC = 256 consecutive k (in order):
           s_b = 0;  for k in block b:  s_b = fma(A[i][k], B[k][j], s_b)
       t = s_0 + s_1 + ... (left to right);   C[i][j] = alpha t (+ beta C[i][j])

   so its bits depend only on row i of A and column j of B - not on where
   the element sits in the matrix, on M or N, on the thread count or on the
   CPU. Two identical image patches give identical outputs, a batch of 1
   gives the bits of a batch of 7, and every x86-64 with FMA (and the plain
   fmaf() loop below, on any other machine) rounds alike. Blocks of 256
   keep the rounding error of long sums (K = 4608 in resnet50's layer4)
   near that of a pairwise sum: each chain is at most 256 long, and the
   block sums are few. OpenBLAS's sgemm promises none of this: its edge
   kernels and small-matrix paths sum in other orders, so identical columns
   of B come out different in the last bits (tests/test_gemm.c prints how
   many), which broke max-pool and Guided IG ties that exact arithmetic
   (and PyTorch's direct convolutions) resolve by index order.

   The scheme is GotoBLAS's: B is packed in strips of NR columns (read in
   place when not transposed) and A in strips of MR rows, K in the blocks
   above (C holds the running sum between blocks), and a 6x16 AVX2
   micro-kernel keeps 12 accumulators in registers. Where beta != 0 and K
   spans several blocks, the sum runs in a scratch buffer first, so C's old
   value enters only at the end. Narrow products run transposed (B^T A^T:
   fma(a, b, c) == fma(b, a, c), the same sums) where that pads less. Cost:
   README, Speed. */
#include "engine/gemm.h"

#include <stdlib.h>
#include <string.h>
#include <math.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GEMM_AVX2 1
#endif

#define MR 6
#define NR 16
#define KC 256
#define MC 96
#define NC 2048

/* Grow-only per-thread packing buffers (64-byte aligned). */
typedef struct { float *p; size_t cap; } Buf;
static _Thread_local Buf g_apack, g_bpack;

static float *buf_get(Buf *b, size_t floats) {
    if (floats <= b->cap) return b->p;
    free(b->p);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    b->p = aligned_alloc(64, bytes);
    b->cap = b->p ? floats : 0;
    return b->p;
}

/* Element (i,k) of op(A) and (k,j) of op(B). */
static inline float a_at(const float *A, int lda, int ta, int i, int k) {
    return ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
}

/* A's rows [i0, i0+mc), columns [k0, k0+kc) as strips of MR rows, k-major
   inside a strip: ap[s][k][r]; rows past mc are zero. */
static void pack_a(float *ap, const float *A, int lda, int ta, int i0, int mc, int k0, int kc) {
    for (int s = 0; s < mc; s += MR) {
        int rows = mc - s < MR ? mc - s : MR;
        float *dst = ap + (size_t)s * kc;
        if (!ta) {
            for (int r = 0; r < MR; r++) {
                const float *src = r < rows ? A + (size_t)(i0 + s + r) * lda + k0 : NULL;
                for (int k = 0; k < kc; k++) dst[k * MR + r] = src ? src[k] : 0.0f;
            }
        } else {
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + s;
                int r = 0;
                for (; r < rows; r++) dst[k * MR + r] = src[r];
                for (; r < MR; r++) dst[k * MR + r] = 0.0f;
            }
        }
    }
}

/* B's rows [k0, k0+kc), columns [j0, j0+nc) as strips of NR columns:
   bp[s][k][c]; columns past nc are zero. */
static void pack_b(float *bp, const float *B, int ldb, int tb, int k0, int kc, int j0, int nc) {
    for (int s = 0; s < nc; s += NR) {
        int cols = nc - s < NR ? nc - s : NR;
        float *dst = bp + (size_t)s * kc;
        if (!tb) {
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + s;
                float *d = dst + (size_t)k * NR;
                if (cols == NR) memcpy(d, src, sizeof(float) * NR);
                else {
                    int c = 0;
                    for (; c < cols; c++) d[c] = src[c];
                    for (; c < NR; c++) d[c] = 0.0f;
                }
            }
        } else {
            for (int c = 0; c < NR; c++) {
                const float *src = c < cols ? B + (size_t)(j0 + s + c) * ldb + k0 : NULL;
                for (int k = 0; k < kc; k++) dst[(size_t)k * NR + c] = src ? src[k] : 0.0f;
            }
        }
    }
}

/* acc (MR,NR) continues its chains over kc steps of the packed strips. */
#ifdef GEMM_AVX2
#define KERNEL_REGS \
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51
#define KERNEL_LOOP(kc, ap, bp, ldb) \
    for (int k = 0; k < (kc); k++) { \
        __m256 b0 = _mm256_loadu_ps((bp) + (size_t)k * (ldb)), b1 = _mm256_loadu_ps((bp) + (size_t)k * (ldb) + 8), av; \
        const float *a = (ap) + (size_t)k * MR; \
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01); \
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11); \
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21); \
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31); \
        av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41); \
        av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51); \
    }
/* Rows of 16 at p with row stride ld: load into / store from the registers. */
#define KERNEL_IO(op, p, ld) \
    op(c00, c01, (p)); op(c10, c11, (p) + (ld)); op(c20, c21, (p) + 2 * (ld)); \
    op(c30, c31, (p) + 3 * (ld)); op(c40, c41, (p) + 4 * (ld)); op(c50, c51, (p) + 5 * (ld))
#define LOAD_ROW(x, y, q) (x = _mm256_loadu_ps(q), y = _mm256_loadu_ps((q) + 8))
#define STORE_ROW(x, y, q) (_mm256_storeu_ps(q, x), _mm256_storeu_ps((q) + 8, y))
#define ADD_ROW(x, y, q) (_mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), x)), \
                          _mm256_storeu_ps((q) + 8, _mm256_add_ps(_mm256_loadu_ps((q) + 8), y)))

static void kernel(int kc, const float *ap, const float *bp, int ldb, float *acc) {
    KERNEL_REGS;
    KERNEL_IO(LOAD_ROW, acc, NR);
    KERNEL_LOOP(kc, ap, bp, ldb);
    KERNEL_IO(STORE_ROW, acc, NR);
}

/* A whole tile straight in C: a block's chains start at 0; at the end
   C = acc, or C = C + acc (add: a later block joins the running sum, or
   the only block meets beta = alpha = 1). */
static void kernel_c(int kc, const float *ap, const float *bp, int ldb, float *C, int ldc, int add) {
    KERNEL_REGS;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    KERNEL_LOOP(kc, ap, bp, ldb);
    if (add) { KERNEL_IO(ADD_ROW, C, ldc); }
    else { KERNEL_IO(STORE_ROW, C, ldc); }
}
#define HAVE_KERNEL_C 1
#else
static void kernel(int kc, const float *ap, const float *bp, int ldb, float *acc) {
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++)
            for (int c = 0; c < NR; c++) acc[r * NR + c] = fmaf(ap[k * MR + r], bp[(size_t)k * ldb + c], acc[r * NR + c]);
}
#endif

typedef struct {
    float *C;
    int ldc;
    float alpha, beta;
    int first, last;   /* this K block starts / ends the sum */
    int trans;         /* the product runs transposed: tile (r,q) is C[q][r] */
} Store;

/* C = the epilogue of the sum t: alpha t, plus beta C. */
static inline float store_value(const Store *st, float c, float t) {
    if (st->beta == 0.0f) return st->alpha == 1.0f ? t : st->alpha * t;
    return st->alpha == 1.0f && st->beta == 1.0f ? c + t : st->beta * c + st->alpha * t;
}

/* C's new value from its current one and this block's chain a: the running
   sum t (a for the first block, C + a after), stored as it is or, at the
   last block, through the epilogue (beta != 0 only with a single block). */
static inline float block_value(const Store *st, float c, float a) {
    float t = st->first ? a : c + a;
    return st->last ? store_value(st, c, t) : t;
}

/* A tile of the transposed product: element (r,q) is C[j+q][i+r]. */
static void tile_trans(const Store *st, int i, int j, int mr, int nr, int kc, const float *ap, const float *bp,
                       int ldb) {
    float acc[MR * NR] __attribute__((aligned(32)));
    memset(acc, 0, sizeof acc);
    float *C = st->C + (size_t)j * st->ldc + i;
    kernel(kc, ap, bp, ldb, acc);
    for (int q = 0; q < nr; q++)
        for (int r = 0; r < mr; r++) {
            float *c = C + (size_t)q * st->ldc + r;
            *c = block_value(st, *c, acc[r * NR + q]);
        }
}

/* One MR x NR tile: this block's chains from 0, then into C. */
static void tile(const Store *st, int i, int j, int mr, int nr, int kc, const float *ap, const float *bp, int ldb) {
    if (st->trans) { tile_trans(st, i, j, mr, nr, kc, ap, bp, ldb); return; }
    float *C = st->C + (size_t)i * st->ldc + j;
#ifdef HAVE_KERNEL_C
    if (mr == MR && nr == NR) {
        int plain = !st->last || (st->beta == 0.0f && st->alpha == 1.0f);
        if (plain || (st->first && st->alpha == 1.0f && st->beta == 1.0f)) {
            kernel_c(kc, ap, bp, ldb, C, st->ldc, !st->first || !plain);
            return;
        }
    }
#endif
    float acc[MR * NR] __attribute__((aligned(32)));
    memset(acc, 0, sizeof acc);
    kernel(kc, ap, bp, ldb, acc);
    for (int r = 0; r < mr; r++) {
        float *c = C + (size_t)r * st->ldc;
        const float *a = acc + r * NR;
        for (int q = 0; q < nr; q++) c[q] = block_value(st, c[q], a[q]);
    }
}

/* The product into C with beta applied at the last K block; C holds the
   partial chains between blocks, so the caller guarantees beta == 0 or a
   single block. */
static void gemm_blocked(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc, int trans) {
    int kc_max = K < KC ? (K > 0 ? K : 1) : KC;
    int nc_max = N < NC ? N : NC;
    float *bp = buf_get(&g_bpack, (size_t)kc_max * ((nc_max + NR - 1) / NR * NR));
    float *ap = buf_get(&g_apack, (size_t)kc_max * ((MC + MR - 1) / MR * MR));
    if (!bp || !ap) { /* no memory for the packing buffers: the same sums, element by element */
        if (trans) gemm_f32_naive(!tb, !ta, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc); /* see gemm_oriented */
        else gemm_f32_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (K == 0) { /* no products: C = beta C */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = trans ? C + (size_t)j * ldc + i : C + (size_t)i * ldc + j;
                *c = beta == 0.0f ? 0.0f : beta * *c;
            }
        return;
    }
    /* B not transposed: whole strips are read in place (row k of a strip is
       16 consecutive floats), only a last narrower strip is packed */
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC, whole = tb ? 0 : nc / NR * NR;
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            Store st = {C, ldc, alpha, beta, k0 == 0, k0 + kc == K, trans};
            if (whole < nc) pack_b(bp + (size_t)whole * kc, B, ldb, tb, k0, kc, j0 + whole, nc - whole);
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC;
                pack_a(ap, A, lda, ta, i0, mc, k0, kc);
                for (int js = 0; js < nc; js += NR) {
                    const float *bs = js < whole ? B + (size_t)k0 * ldb + j0 + js : bp + (size_t)js * kc;
                    int ldbs = js < whole ? ldb : NR;
                    for (int is = 0; is < mc; is += MR)
                        tile(&st, i0 + is, j0 + js, mc - is < MR ? mc - is : MR, nc - js < NR ? nc - js : NR, kc,
                             ap + (size_t)is * kc, bs, ldbs);
                }
            }
        }
    }
}

/* Floats the kernel computes for an M x N product (tiles padded). */
static double padded(int M, int N) {
    return (double)((M + MR - 1) / MR * MR) * ((N + NR - 1) / NR * NR);
}

/* The product, or its transpose B^T A^T where that pads 15% less
   (fma(a, b, c) == fma(b, a, c): the same chains either way). */
static void gemm_oriented(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                          const float *B, int ldb, float beta, float *C, int ldc) {
    if (padded(N, M) < 0.85 * padded(M, N))
        gemm_blocked(!tb, !ta, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc, 1);
    else
        gemm_blocked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0);
}

/* Floats of the per-thread buffer a product with an old C to keep sums in
   (a band of rows at a time). */
#define T_FLOATS ((size_t)1 << 20)
static _Thread_local Buf g_tpack;

void gemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (beta == 0.0f || K <= KC) {
        gemm_oriented(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* several K blocks and an old C to keep: each band of rows sums in T,
       then C = beta C + alpha T (the same operations as the specification) */
    int rows = (int)(T_FLOATS / (size_t)N);
    if (rows < 1) rows = 1;
    if (rows > M) rows = M;
    float *T = buf_get(&g_tpack, (size_t)rows * N);
    if (!T) { gemm_f32_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    for (int i0 = 0; i0 < M; i0 += rows) {
        int m = M - i0 < rows ? M - i0 : rows;
        const float *Ai = ta ? A + i0 : A + (size_t)i0 * lda;
        gemm_oriented(ta, tb, m, N, K, 1.0f, Ai, lda, B, ldb, 0.0f, T, N);
        for (int i = 0; i < m; i++) {
            float *c = C + (size_t)(i0 + i) * ldc;
            const float *t = T + (size_t)i * N;
            if (alpha == 1.0f && beta == 1.0f) for (int j = 0; j < N; j++) c[j] = c[j] + t[j];
            else for (int j = 0; j < N; j++) c[j] = beta * c[j] + alpha * t[j];
        }
    }
}

/* The same sums, element by element: the specification the kernel is
   tested against (tests/test_gemm.c). */
void gemm_f32_naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float t = 0.0f;
            for (int k0 = 0; k0 < K; k0 += KC) {
                float acc = 0.0f;
                for (int k = k0; k < K && k < k0 + KC; k++)
                    acc = fmaf(a_at(A, lda, ta, i, k), tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j], acc);
                t = k0 == 0 ? acc : t + acc;
            }
            float *c = C + (size_t)i * ldc + j;
            if (beta == 0.0f) *c = alpha == 1.0f ? t : alpha * t;
            else *c = alpha == 1.0f && beta == 1.0f ? *c + t : beta * *c + alpha * t;
        }
}
