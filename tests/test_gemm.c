/* test_gemm.c - the engine's gemm (engine/gemm.c): every output is one fma
   chain in the order of k, so
     - gemm_f32 equals the element-by-element specification gemm_f32_naive
       bit for bit: both transposes, tails of every size in M and N, K of 0,
       one block and several (partial sums stored and reloaded), alpha and
       beta, a C with a row stride, the transposed orientation it picks for
       narrow products, NaN in C ignored when beta is 0;
     - the threaded eng_sgemm equals it too on 1, 2 and 3 threads;
     - identical columns of B give identical outputs in a row, identical rows
       of A identical outputs in a column, wherever they sit (OpenBLAS's
       sgemm does not: printed for comparison, not checked);
     - a product of one row equals that row of a taller product (batch
       invariance). */
#include "engine/engine.h"
#include "engine/gemm.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/check.h"

#include <cblas.h>
#include <string.h>

static EngRng rng;

static float *randv(size_t n) {
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = (float)eng_rng_normal(&rng);
    return v;
}

/* One product through gemm_f32 (or eng_sgemm) against the naive chains;
   1 if every bit agrees. */
static int product_case(int ta, int tb, int M, int N, int K, float alpha, float beta, int ldc_pad, int threaded) {
    int lda = ta ? M : K, ldb = tb ? K : N, ldc = N + ldc_pad;
    float *A = randv((size_t)M * K), *B = randv((size_t)K * N), *C0 = randv((size_t)M * ldc);
    float *C1 = malloc(sizeof(float) * M * ldc), *C2 = malloc(sizeof(float) * M * ldc);
    if (beta == 0.0f) C0[0] = NAN; /* must not leak into the result */
    memcpy(C1, C0, sizeof(float) * M * ldc);
    memcpy(C2, C0, sizeof(float) * M * ldc);
    if (threaded) eng_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    else gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    gemm_f32_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    int same = !memcmp(C1, C2, sizeof(float) * M * ldc);
    if (!same) printf("    differs: ta %d tb %d M %d N %d K %d alpha %g beta %g ldc+%d threaded %d\n", ta, tb, M, N,
                      K, alpha, beta, ldc_pad, threaded);
    free(A); free(B); free(C0); free(C1); free(C2);
    return same;
}

static void test_bits(void) {
    static const int Ms[] = {1, 5, 6, 7, 13, 32, 97, 200}, Ns[] = {1, 3, 15, 16, 17, 49, 98, 130};
    static const int Ks[] = {0, 1, 7, 256, 257, 600};
    int bad = 0, n = 0;
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
            for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++)
                for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++) {
                    float beta = (float)((i + j + k) % 3) * 0.5f, alpha = (i + k) % 2 ? 0.75f : 1.0f;
                    bad += !product_case(t & 1, t >> 1, Ms[i], Ns[j], Ks[k], alpha, beta, (int)(j % 2) * 3, 0);
                    n++;
                }
    /* an old C kept over several K blocks, in two bands of rows (1 Mi floats each) */
    bad += !product_case(0, 0, 600, 2000, 300, 1.0f, 1.0f, 0, 0);
    bad += !product_case(1, 1, 700, 1600, 520, 0.5f, 0.25f, 1, 0);
    n += 2;
    char msg[160];
    snprintf(msg, sizeof msg, "gemm_f32 == the naive fma chains bit for bit (%d products: transposes, tails, "
             "K blocks, alpha/beta, ldc, narrow orientation, banded old C)", n);
    CHECK(!bad, msg, "%d products differ", bad);
}

static void test_threads(void) {
    int bad = 0;
    for (int th = 1; th <= 3; th++) {
        eng_set_threads(th);
        bad += !product_case(0, 0, 200, 300, 300, 1.0f, 0.0f, 0, 1);  /* bands of rows */
        bad += !product_case(1, 0, 40, 3000, 64, 1.0f, 1.0f, 0, 1);   /* bands of columns */
        bad += !product_case(0, 1, 64, 100, 1000, 1.0f, 1.0f, 2, 1);  /* several K blocks, old C kept */
    }
    eng_set_threads(1);
    CHECK(!bad, "eng_sgemm on 1, 2 and 3 threads == the naive chains bit for bit", "%d products differ", bad);
}

/* Rows of C whose values are not all equal (B has identical columns). */
static int uneven_rows(const float *C, int M, int N) {
    int n = 0;
    for (int i = 0; i < M; i++)
        for (int j = 1; j < N; j++)
            if (C[(size_t)i * N + j] != C[(size_t)i * N]) { n++; break; }
    return n;
}

/* The shapes of im2col gemms: densenet's stem at 48 px (M 64, N 576, K 147)
   and a 3x3 layer; B's columns are identical (a constant image's patches). */
static void test_identical_patches(void) {
    static const int shapes[][3] = {{64, 576, 147}, {64, 3136, 576}, {128, 784, 1152}, {32, 196, 300}};
    int bad = 0, blas_bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = randv((size_t)M * K), *col = randv(K), *B = malloc(sizeof(float) * K * N);
        float *C = malloc(sizeof(float) * M * N);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++) B[(size_t)k * N + j] = col[k];
        eng_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        int u = uneven_rows(C, M, N);
        bad += u;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        int ub = uneven_rows(C, M, N);
        blas_bad += ub;
        printf("    M %d N %d K %d: rows not constant: gemm_f32 %d, OpenBLAS sgemm %d of %d\n", M, N, K, u, ub, M);
        /* identical rows of A (positions on M): every column constant */
        float *row = randv(K), *A2 = malloc(sizeof(float) * (size_t)N * K), *Bt = randv((size_t)K * M);
        float *C2 = malloc(sizeof(float) * (size_t)N * M);
        for (int i = 0; i < N; i++) memcpy(A2 + (size_t)i * K, row, sizeof(float) * K);
        eng_sgemm(0, 0, N, M, K, 1.0f, A2, K, Bt, M, 0.0f, C2, M);
        for (int j = 0; j < M; j++)
            for (int i = 1; i < N; i++)
                if (C2[(size_t)i * M + j] != C2[j]) { bad++; break; }
        free(A); free(col); free(B); free(C); free(row); free(A2); free(Bt); free(C2);
    }
    CHECK(!bad, "identical columns of B (rows of A) give identical outputs wherever they sit",
          "%d rows/columns vary", bad);
    printf("    (OpenBLAS on this machine, %s: %d rows vary)\n", eng_blas_info(), blas_bad);
}

/* A product's row does not depend on the rows around it. */
static void test_batch_rows(void) {
    int M = 7, N = 1000, K = 2048, bad = 0;
    float *A = randv((size_t)M * K), *B = randv((size_t)N * K), *C = malloc(sizeof(float) * M * N);
    float *c1 = malloc(sizeof(float) * N);
    eng_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N); /* linear layer: (M,K) x (N,K)^T */
    for (int i = 0; i < M; i++) {
        eng_sgemm(0, 1, 1, N, K, 1.0f, A + (size_t)i * K, K, B, K, 0.0f, c1, N);
        bad += memcmp(c1, C + (size_t)i * N, sizeof(float) * N) != 0;
    }
    CHECK(!bad, "one row alone == that row of a 7-row product, bit for bit (linear layer shape)",
          "%d rows differ", bad);
    free(A); free(B); free(C); free(c1);
}

int main(void) {
    eng_rng_seed(&rng, 11);
    eng_set_threads(1);
    test_bits();
    test_threads();
    test_identical_patches();
    test_batch_rows();
    CHECK_DONE();
}
