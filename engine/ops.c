/* ops.c - the fast path of the engine's kernels (see ops.h for the contract).
   Convolution is im2col + gemm (darknet's scheme; the gemm is gemm.c's, one
   fixed fma chain per output, OpenBLAS for weight gradients), with the images
   of a batch gathered into one wide gemm when the output plane is small, and
   the im2col skipped for 1x1 stride-1 unpadded convolutions. Forward-only
   runs apply the following batch norm, residual add and relu while the gemm
   result is scattered into place (Epilogue), in one pass over the output.
   The 3x3 stride-1 convolutions where it pays run as Winograd F(2x2,3x3)
   instead (winograd.c; the pass chooses, engine/pass.c conv_forward_fast). */
#include "engine/ops.h"
#include "engine/error.h"
#include "engine/gemm.h"
#include "engine/parallel.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Work budget for im2col columns, in floats (64 MiB). */
#define CONV_WORK_FLOATS ((size_t)16 << 20)

void conv_shape_init(ConvShape *s, int N, int C, int H, int W, int O, int kh, int kw,
                     int stride, int pad, int dilation) {
    s->N = N; s->C = C; s->H = H; s->W = W; s->O = O; s->kh = kh; s->kw = kw;
    s->stride = stride; s->pad = pad; s->dilation = dilation;
    s->Ho = (H + 2 * pad - dilation * (kh - 1) - 1) / stride + 1;
    s->Wo = (W + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
}

static int conv_is_pointwise(const ConvShape *s) {
    return s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0;
}

/* Images per gemm: as many as fit the work budget (at least 1). A pointwise
   conv on a plane of 14x14 or more runs one gemm per image straight on the
   input planes: wide enough for the gemm, and no gathering copy (measured:
   resnet50 batch 16 at 224, forward 1.14-1.26 s -> 1.00-1.02 s). */
static int conv_chunk(const ConvShape *s) {
    size_t K = (size_t)s->C * s->kh * s->kw, P = (size_t)s->Ho * s->Wo;
    if (conv_is_pointwise(s) && P >= 196) return 1;
    size_t per = (K + s->O) * P;
    size_t nb = per ? CONV_WORK_FLOATS / per : 1;
    if (nb < 1) nb = 1;
    if (nb > (size_t)s->N) nb = s->N;
    return (int)nb;
}

static size_t conv_work_serial(const ConvShape *s) {
    size_t K = (size_t)s->C * s->kh * s->kw, P = (size_t)s->Ho * s->Wo;
    return (size_t)conv_chunk(s) * (K + s->O) * P;
}

/* Image groups: a batch's images are split into groups of conv_group
   images, a choice made from the shape alone (never from the thread
   count), and each group runs columns, gemm and epilogue on its own
   (gathered into one gemm when the plane is small). With two groups or
   more, the threads take whole groups; with one, they share its steps and
   the gemm's fixed bands (sgemm). The same sub-problems in the same order
   whatever the thread count: bit-identical results on any number of
   threads (tested). OpenBLAS's results do depend on the sub-problem's size
   (its small-matrix kernels), hence the fixed split. */
#define CONV_GROUP_COLUMNS 98

static int conv_group(const ConvShape *s) {
    int P = s->Ho * s->Wo, g = (CONV_GROUP_COLUMNS + P - 1) / P, most = conv_chunk(s);
    return g < most ? g : most;
}

static int conv_groups(const ConvShape *s) {
    int g = conv_group(s);
    return (s->N + g - 1) / g;
}

/* Threads taking groups: at most one per group; 1 = the group-shared path. */
static int conv_parts(const ConvShape *s) {
    int t = eng_parallel_width(), n = conv_groups(s);
    if (n < 2) return 1;
    return t < n ? t : n;
}

/* The input gradient of a stride-1, undilated conv with a kernel wider
   than 1 is itself a convolution: of dout, with the kernel flipped and its
   in/out channels swapped (wt), stride 1, padding k-1-pad. Run that way,
   it is a gemm of C rows over O*k*k (well shaped: densenet121's 3x3 convs
   have O = 32) straight into dinp, instead of a gemm of C*k*k rows over O
   and a scatter (col2im) of 9 times the input's size. Only where the
   outputs are at most half the inputs: with as many outputs as inputs
   (ResNet) both ways move as much memory, and the flipped copy of the
   weights, made on every call, would cost more than it saves. */
static int conv_grad_as_conv(const ConvShape *s) {
    return s->stride == 1 && s->dilation == 1 && (s->kh > 1 || s->kw > 1) && s->kh == s->kw &&
           s->pad <= s->kh - 1 && 2 * s->O <= s->C;
}

static ConvShape conv_grad_shape(const ConvShape *s) {
    ConvShape t;
    conv_shape_init(&t, s->N, s->O, s->Ho, s->Wo, s->C, s->kh, s->kw, 1, s->kh - 1 - s->pad, 1);
    return t;
}

static size_t conv_wt_floats(const ConvShape *s) {
    return conv_grad_as_conv(s) ? (size_t)s->O * s->C * s->kh * s->kw : 0;
}

/* Work floats of one part: one group's columns and gathered results, for
   the forward or either way of the input gradient. */
static size_t conv_part_floats(const ConvShape *s) {
    ConvShape sub = *s;
    sub.N = conv_group(s);
    size_t w = conv_work_serial(&sub);
    if (conv_grad_as_conv(s)) {
        ConvShape t = conv_grad_shape(&sub);
        size_t wt = conv_work_serial(&t);
        if (wt > w) w = wt;
    }
    return w;
}

size_t conv2d_work_floats(const ConvShape *s) {
    size_t groups = conv_wt_floats(s) + conv_part_floats(s) * conv_parts(s), whole = conv_work_serial(s);
    return groups > whole ? groups : whole; /* whole: weight gradients (conv_backward_serial) */
}

/* wt (C, O, kh, kw): weight (O, C, kh, kw) with in/out swapped and the kernel flipped. */
static void conv_flip_weights(float *wt, const float *weight, const ConvShape *s) {
    int k2 = s->kh * s->kw;
    for (int o = 0; o < s->O; o++)
        for (int c = 0; c < s->C; c++)
            for (int q = 0; q < k2; q++)
                wt[((size_t)c * s->O + o) * k2 + q] = weight[((size_t)o * s->C + c) * k2 + (k2 - 1 - q)];
}

/* Output columns ox in [*lo, *hi) read input columns ox*stride + ix0 inside
   [0, W); the rest read padding. */
static void valid_range(int ix0, int stride, int W, int Wo, int *lo, int *hi) {
    int a = ix0 >= 0 ? 0 : (-ix0 + stride - 1) / stride;   /* first ox with ix >= 0 */
    int b = W - ix0 <= 0 ? 0 : (W - ix0 + stride - 1) / stride; /* first ox with ix >= W */
    if (a > Wo) a = Wo;
    if (b > Wo) b = Wo;
    if (b < a) b = a;
    *lo = a; *hi = b;
}

/* col (K, ldc) columns [off, off+P), the rows of channel c, from one image
   inp (C,H,W); K = C*kh*kw. Each column row is zero outside the valid range
   and a strided copy inside, with no per-element bounds test. */
static void im2col_channel(float *col, size_t ldc, size_t off, const float *inp, const ConvShape *s, int c) {
    int Ho = s->Ho, Wo = s->Wo, st = s->stride;
    for (int ki = 0; ki < s->kh; ki++)
        for (int kj = 0; kj < s->kw; kj++) {
            size_t row = ((size_t)c * s->kh + ki) * s->kw + kj;
            float *dst = col + row * ldc + off;
            const float *src = inp + (size_t)c * s->H * s->W;
            int ix0 = -s->pad + kj * s->dilation, lo, hi;
            valid_range(ix0, st, s->W, Wo, &lo, &hi);
            for (int oy = 0; oy < Ho; oy++) {
                int iy = oy * st - s->pad + ki * s->dilation;
                float *d = dst + (size_t)oy * Wo;
                if (iy < 0 || iy >= s->H) { memset(d, 0, sizeof(float) * Wo); continue; }
                const float *srow = src + (size_t)iy * s->W + ix0;
                for (int ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                if (st == 1) memcpy(d + lo, srow + lo, sizeof(float) * (hi - lo));
                else for (int ox = lo; ox < hi; ox++) d[ox] = srow[ox * st];
                for (int ox = hi; ox < Wo; ox++) d[ox] = 0.0f;
            }
        }
}

/* dinp (C,H,W), channel c only, += scatter of col (K, ldc) columns [off, off+P). */
static void col2im_channel(float *dinp, const float *col, size_t ldc, size_t off, const ConvShape *s, int c) {
    int Ho = s->Ho, Wo = s->Wo, st = s->stride;
    for (int ki = 0; ki < s->kh; ki++)
        for (int kj = 0; kj < s->kw; kj++) {
            size_t row = ((size_t)c * s->kh + ki) * s->kw + kj;
            const float *src = col + row * ldc + off;
            float *dst = dinp + (size_t)c * s->H * s->W;
            int ix0 = -s->pad + kj * s->dilation, lo, hi;
            valid_range(ix0, st, s->W, Wo, &lo, &hi);
            for (int oy = 0; oy < Ho; oy++) {
                int iy = oy * st - s->pad + ki * s->dilation;
                if (iy < 0 || iy >= s->H) continue;
                float *drow = dst + (size_t)iy * s->W + ix0;
                const float *srow = src + (size_t)oy * Wo;
                if (st == 1) for (int ox = lo; ox < hi; ox++) drow[ox] += srow[ox];
                else for (int ox = lo; ox < hi; ox++) drow[ox * st] += srow[ox];
            }
        }
}

/* The per-(image, channel) loops below run on the engine's threads
   (parallel.h): item i is channel i % C of image i / C of the chunk, and
   each item writes its own rows or plane. */
typedef struct {
    const ConvShape *s;
    float *col; const float *inp; float *dinp; /* col (K, nb*P); inp / dinp: the chunk's first image */
    int nb;
} ColJob;

static void im2col_range(void *ctx, size_t lo, size_t hi) {
    const ColJob *j = ctx;
    const ConvShape *s = j->s;
    size_t P = (size_t)s->Ho * s->Wo, in_sz = (size_t)s->C * s->H * s->W;
    for (size_t i = lo; i < hi; i++) {
        size_t b = i / s->C;
        im2col_channel(j->col, j->nb * P, b * P, j->inp + b * in_sz, s, (int)(i % s->C));
    }
}

static void gather_range(void *ctx, size_t lo, size_t hi) { /* pointwise: the planes are the columns */
    const ColJob *j = ctx;
    size_t P = (size_t)j->s->Ho * j->s->Wo, C = j->s->C;
    for (size_t i = lo; i < hi; i++) {
        size_t b = i / C, k = i % C;
        memcpy(j->col + k * j->nb * P + b * P, j->inp + (b * C + k) * P, sizeof(float) * P);
    }
}

static void col2im_range(void *ctx, size_t lo, size_t hi) {
    const ColJob *j = ctx;
    const ConvShape *s = j->s;
    size_t P = (size_t)s->Ho * s->Wo, in_sz = (size_t)s->C * s->H * s->W;
    for (size_t i = lo; i < hi; i++) {
        size_t b = i / s->C, c = i % s->C;
        if (conv_is_pointwise(s)) {
            const float *src = j->col + c * j->nb * P + b * P;
            float *d = j->dinp + b * in_sz + c * P;
            for (size_t p = 0; p < P; p++) d[p] += src[p];
        } else {
            col2im_channel(j->dinp + b * in_sz, j->col, j->nb * P, b * P, s, (int)c);
        }
    }
}

/* C (M,N) = alpha op(A) op(B) + beta C on the engine's threads. Every gemm
   whose result feeds the network's values or input gradients runs
   gemm_f32 (gemm.c): each output one fused multiply-add chain in the order
   of k, so identical patches give identical outputs, whatever the
   position, the batch, the split or the CPU. Weight gradients, which
   decide nothing downstream (no ReLU, max-pool or ranking reads them; the
   gradient checks do), run OpenBLAS's sgemm, single-threaded: its own
   threads would yield-spin against the engine's (measured: a quarter of a
   densenet121 batch-4 gradient pass in sched_yield). A gemm of 2^20
   multiply-adds or more is cut into GEMM_BANDS bands of C's rows (when it
   has 64 or more), else of its columns, each a multiple of 16 wide, from
   the shape alone; the threads take bands. */
#define GEMM_BANDS 2

typedef struct {
    enum CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, by_rows, band, blas;
    float alpha, beta;
    const float *A, *B;
    float *C;
} GemmJob;

static void gemm_range(void *ctx, size_t lo, size_t hi) {
    const GemmJob *g = ctx;
    size_t end = (size_t)(g->by_rows ? g->M : g->N);
    for (size_t k = lo; k < hi; k++) {
        size_t a0 = k * g->band, a1 = a0 + g->band < end ? a0 + g->band : end;
        const float *A = g->A, *B = g->B;
        float *C = g->C;
        int m = g->M, n = g->N;
        if (g->by_rows) {
            A += g->ta == CblasNoTrans ? a0 * g->lda : a0;
            C += a0 * g->ldc;
            m = (int)(a1 - a0);
        } else {
            B += g->tb == CblasNoTrans ? a0 : a0 * g->ldb;
            C += a0;
            n = (int)(a1 - a0);
        }
        if (g->blas)
            cblas_sgemm(CblasRowMajor, g->ta, g->tb, m, n, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta, C, g->ldc);
        else
            gemm_f32(g->ta == CblasTrans, g->tb == CblasTrans, m, n, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta,
                     C, g->ldc);
    }
}

static void blas_single_threaded(void) { openblas_set_num_threads(1); }

static void gemm_run(int blas, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_single_threaded); /* before any call into OpenBLAS from here */
    GemmJob g = {ta, tb, M, N, K, lda, ldb, ldc, 1, M, blas, alpha, beta, A, B, C};
    if ((double)M * N * K >= (double)(1 << 20)) {
        g.by_rows = M >= 64;
        int len = g.by_rows ? M : N, per = (len + GEMM_BANDS - 1) / GEMM_BANDS;
        g.band = (per + 15) / 16 * 16;
    }
    size_t bands = ((size_t)(g.by_rows ? M : N) + g.band - 1) / g.band;
    eng_parallel_for(bands, 1, gemm_range, &g);
}

/* Values and input gradients: the fixed-order gemm, or OpenBLAS when a
   benchmark asks (eng_set_gemm_openblas: what the fixed order costs). */
static int g_gemm_openblas;
void eng_set_gemm_openblas(int on) { g_gemm_openblas = on; }

static void sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(g_gemm_openblas, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Weight gradients: OpenBLAS. */
static void sgemm_blas(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(1, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void eng_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    sgemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
          beta, C, ldc);
}

/* Columns of images [n0, n0+nb) into col (K, nb*P); for pointwise convs the
   input planes themselves are the columns. */
static const float *conv_columns(float *col, const float *inp, const ConvShape *s, int n0, int nb) {
    size_t P = (size_t)s->Ho * s->Wo, in_sz = (size_t)s->C * s->H * s->W;
    if (conv_is_pointwise(s) && nb == 1) return inp + (size_t)n0 * in_sz;
    ColJob j = {s, col, inp + (size_t)n0 * in_sz, NULL, nb};
    size_t per_item = (size_t)s->kh * s->kw * P;
    eng_parallel_for((size_t)nb * s->C, eng_min_items(per_item), conv_is_pointwise(s) ? gather_range : im2col_range, &j);
    return col;
}

/* One pass over a plane with the steps fixed at compile time (each caller
   below passes constants, so the compiler drops the unused steps). */
static inline __attribute__((always_inline)) void epilogue_loop(float *dst, const float *src, size_t P,
        float bias, float a, float b, const float *res, int has_bias, int has_bn, int has_res, int relu) {
    for (size_t p = 0; p < P; p++) {
        float y = src[p];
        if (has_bias) y = y + bias;
        if (has_bn) y = y * a + b;
        if (has_res) y = y + res[p];
        if (relu) y = y > 0.0f ? y : 0.0f;
        dst[p] = y;
    }
}

void epilogue_span(float *dst, const float *src, size_t P, const Epilogue *e, int c, const float *res) {
    float bias = e->bias ? e->bias[c] : 0.0f, a = e->scale ? e->scale[c] : 1.0f, b = e->scale ? e->shift[c] : 0.0f;
    int bn = e->scale != NULL, r = res != NULL;
    if (e->bias) { epilogue_loop(dst, src, P, bias, a, b, res, 1, bn, r, e->relu); return; }
    switch ((bn << 2) | (r << 1) | (e->relu != 0)) {
    case 0: if (src != dst) memcpy(dst, src, sizeof(float) * P); break;
    case 1: epilogue_loop(dst, src, P, 0, 1, 0, NULL, 0, 0, 0, 1); break;
    case 2: epilogue_loop(dst, src, P, 0, 1, 0, res, 0, 0, 1, 0); break;
    case 3: epilogue_loop(dst, src, P, 0, 1, 0, res, 0, 0, 1, 1); break;
    case 4: epilogue_loop(dst, src, P, 0, a, b, NULL, 0, 1, 0, 0); break;
    case 5: epilogue_loop(dst, src, P, 0, a, b, NULL, 0, 1, 0, 1); break;
    case 6: epilogue_loop(dst, src, P, 0, a, b, res, 0, 1, 1, 0); break;
    default: epilogue_loop(dst, src, P, 0, a, b, res, 0, 1, 1, 1); break;
    }
}

typedef struct {
    float *out; const float *src; const Epilogue *e;
    int C, nb;           /* channels; images of the chunk (src is (C, nb*P) if nb > 1, else (C,P) planes) */
    size_t P, n0;        /* plane size; the chunk's first image */
    int gathered;        /* src holds a gemm result (C, nb*P) rather than images (nb, C, P) */
} EpiJob;

static void epilogue_range(void *ctx, size_t lo, size_t hi) {
    const EpiJob *j = ctx;
    size_t P = j->P, out_sz = (size_t)j->C * P;
    for (size_t i = lo; i < hi; i++) {
        size_t b = i / j->C, c = i % j->C, off = (j->n0 + b) * out_sz + c * P;
        const float *src = j->gathered ? j->src + c * j->nb * P + b * P : j->src + off;
        epilogue_span(j->out + off, src, P, j->e, (int)c, j->e->residual ? j->e->residual + off : NULL);
    }
}

void epilogue_forward(float *out, const float *inp, const Epilogue *e, int N, int C, size_t P) {
    EpiJob j = {out, inp, e, C, N, P, 0, 0};
    eng_parallel_for((size_t)N * C, eng_min_items(P), epilogue_range, &j);
}

/* Groups on threads (see conv_group): part p of parts takes groups
   [groups p / parts, groups (p+1) / parts) with its own share of the work
   buffer; its calls into eng_parallel_for and sgemm run inline. */
typedef struct {
    const ConvShape *s;
    int parts;
    size_t work_per;
    float *work;
    /* forward */
    float *out; const float *inp, *weight; const Epilogue *e;
    /* backward (input gradient only) */
    float *dinp; const float *dout, *wt;
} ConvGroupsJob;

static void conv_forward_serial(float *out, const float *inp, const float *weight, const Epilogue *e,
                                const ConvShape *s, float *work);
static void conv_backward_serial(float *dinp, float *dweight, float *dbias, const float *dout,
                                 const float *inp, const float *weight, const ConvShape *s, float *work);
static void conv_grad_by_conv(float *dinp, const float *dout, const float *wt, const ConvShape *s, float *work);

static void conv_groups_range(void *ctx, size_t lo, size_t hi) {
    const ConvGroupsJob *j = ctx;
    const ConvShape *s = j->s;
    size_t in_sz = (size_t)s->C * s->H * s->W, out_sz = (size_t)s->O * s->Ho * s->Wo;
    int G = conv_group(s), groups = conv_groups(s);
    for (size_t p = lo; p < hi; p++) {
        float *work = j->work + p * j->work_per;
        int g0 = (int)((long long)groups * p / j->parts), g1 = (int)((long long)groups * (p + 1) / j->parts);
        for (int g = g0; g < g1; g++) {
            ConvShape sub = *s;
            int n0 = g * G;
            sub.N = s->N - n0 < G ? s->N - n0 : G;
            if (j->out) {
                Epilogue e = *j->e;
                if (e.residual) e.residual += (size_t)n0 * out_sz;
                conv_forward_serial(j->out + (size_t)n0 * out_sz, j->inp + (size_t)n0 * in_sz, j->weight, &e,
                                    &sub, work);
            } else if (j->wt) {
                conv_grad_by_conv(j->dinp + (size_t)n0 * in_sz, j->dout + (size_t)n0 * out_sz, j->wt, &sub, work);
            } else {
                conv_backward_serial(j->dinp + (size_t)n0 * in_sz, NULL, NULL, j->dout + (size_t)n0 * out_sz,
                                     NULL, j->weight, &sub, work);
            }
        }
    }
}

void conv2d_forward_fused(float *out, const float *inp, const float *weight, const Epilogue *e,
                          const ConvShape *s, float *work) {
    int parts = conv_parts(s);
    ConvGroupsJob j = {s, parts, conv_part_floats(s), work, out, inp, weight, e, NULL, NULL, NULL};
    eng_parallel_for((size_t)parts, 1, conv_groups_range, &j);
}

static void conv_forward_serial(float *out, const float *inp, const float *weight, const Epilogue *e,
                                const ConvShape *s, float *work) {
    size_t P = (size_t)s->Ho * s->Wo, K = (size_t)s->C * s->kh * s->kw;
    size_t out_sz = (size_t)s->O * P;
    int chunk = conv_chunk(s);
    for (int n0 = 0; n0 < s->N; n0 += chunk) {
        int nb = s->N - n0 < chunk ? s->N - n0 : chunk;
        float *col = work, *tmp = work + K * nb * P;
        const float *cols = conv_columns(col, inp, s, n0, nb);
        float *dst = nb == 1 ? out + (size_t)n0 * out_sz : tmp;
        sgemm(CblasNoTrans, CblasNoTrans, s->O, (int)(nb * P), (int)K,
                    1.0f, weight, (int)K, cols, (int)(nb * P), 0.0f, dst, (int)(nb * P));
        /* scatter (O, nb*P) to images (nb, O, P), applying the epilogue on the way */
        EpiJob j = {out, nb == 1 ? out : tmp, e, s->O, nb, P, (size_t)n0, nb > 1};
        eng_parallel_for((size_t)nb * s->O, eng_min_items(P), epilogue_range, &j);
    }
}

void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const ConvShape *s, float *work) {
    Epilogue e = {.bias = bias};
    conv2d_forward_fused(out, inp, weight, &e, s, work);
}

/* dout of images [n0, n0+nb) gathered as (O, nb*P). */
static const float *conv_gather_dout(float *tmp, const float *dout, const ConvShape *s, int n0, int nb) {
    size_t P = (size_t)s->Ho * s->Wo, out_sz = (size_t)s->O * P;
    if (nb == 1) return dout + (size_t)n0 * out_sz;
    for (int b = 0; b < nb; b++)
        for (int o = 0; o < s->O; o++)
            memcpy(tmp + (size_t)o * nb * P + b * P, dout + (size_t)(n0 + b) * out_sz + o * P, sizeof(float) * P);
    return tmp;
}

void conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, const ConvShape *s, float *work) {
    /* weight and bias gradients sum over the whole batch, in chunks of conv_chunk */
    if (dweight || dbias) conv_backward_serial(NULL, dweight, dbias, dout, inp, weight, s, work);
    if (!dinp) return;
    int parts = conv_parts(s);
    float *wt = NULL;
    if (conv_grad_as_conv(s)) { wt = work; conv_flip_weights(wt, weight, s); }
    ConvGroupsJob j = {s, parts, conv_part_floats(s), work + conv_wt_floats(s), NULL, NULL, weight, NULL,
                       dinp, dout, wt};
    eng_parallel_for((size_t)parts, 1, conv_groups_range, &j);
}

/* dinp (N,C,H,W) += the convolution of dout with wt (conv_grad_as_conv),
   images in chunks as the forward runs them. */
static void conv_grad_by_conv(float *dinp, const float *dout, const float *wt, const ConvShape *s, float *work) {
    ConvShape t = conv_grad_shape(s);
    size_t P = (size_t)s->H * s->W, K = (size_t)t.C * t.kh * t.kw, in_sz = (size_t)s->C * P;
    int chunk = conv_chunk(&t);
    for (int n0 = 0; n0 < t.N; n0 += chunk) {
        int nb = t.N - n0 < chunk ? t.N - n0 : chunk;
        float *col = work, *tmp = work + K * nb * P;
        const float *cols = conv_columns(col, dout, &t, n0, nb);
        if (nb == 1) { /* dinp (C,P) += wt (C,K) cols (K,P) */
            sgemm(CblasNoTrans, CblasNoTrans, s->C, (int)P, (int)K, 1.0f, wt, (int)K, cols, (int)P, 1.0f,
                  dinp + (size_t)n0 * in_sz, (int)P);
            continue;
        }
        sgemm(CblasNoTrans, CblasNoTrans, s->C, (int)(nb * P), (int)K, 1.0f, wt, (int)K, cols, (int)(nb * P), 0.0f,
              tmp, (int)(nb * P));
        for (int b = 0; b < nb; b++)
            for (int c = 0; c < s->C; c++) {
                const float *src = tmp + (size_t)c * nb * P + b * P;
                float *d = dinp + (size_t)(n0 + b) * in_sz + (size_t)c * P;
                for (size_t q = 0; q < P; q++) d[q] += src[q];
            }
    }
}

static void conv_backward_serial(float *dinp, float *dweight, float *dbias, const float *dout,
                                 const float *inp, const float *weight, const ConvShape *s, float *work) {
    size_t P = (size_t)s->Ho * s->Wo, K = (size_t)s->C * s->kh * s->kw;
    size_t in_sz = (size_t)s->C * s->H * s->W, out_sz = (size_t)s->O * P;
    int chunk = conv_chunk(s);
    for (int n0 = 0; n0 < s->N; n0 += chunk) {
        int nb = s->N - n0 < chunk ? s->N - n0 : chunk;
        float *col = work, *tmp = work + K * nb * P;
        const float *g = conv_gather_dout(tmp, dout, s, n0, nb);
        if (dweight) { /* dW (O,K) += dout (O, nb P) col^T (nb P, K) */
            const float *cols = conv_columns(col, inp, s, n0, nb);
            sgemm_blas(CblasNoTrans, CblasTrans, s->O, (int)K, (int)(nb * P), 1.0f,
                       g, (int)(nb * P), cols, (int)(nb * P), 1.0f, dweight, (int)K);
        }
        if (!dinp) continue;
        if (conv_is_pointwise(s) && nb == 1) { /* dinp (C,P) += W^T (C,O) dout (O,P) */
            sgemm(CblasTrans, CblasNoTrans, (int)K, (int)P, s->O, 1.0f, weight,
                        (int)K, g, (int)P, 1.0f, dinp + (size_t)n0 * in_sz, (int)P);
            continue;
        }
        /* dcol (K, nb P) = W^T dout, then scatter */
        sgemm(CblasTrans, CblasNoTrans, (int)K, (int)(nb * P), s->O, 1.0f,
                    weight, (int)K, g, (int)(nb * P), 0.0f, col, (int)(nb * P));
        ColJob j = {s, col, NULL, dinp + (size_t)n0 * in_sz, nb};
        eng_parallel_for((size_t)nb * s->C, eng_min_items((size_t)s->kh * s->kw * P), col2im_range, &j);
    }
    if (!dbias) return;
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->O; o++) {
            const float *d = dout + (size_t)n * out_sz + o * P;
            double acc = 0;
            for (size_t p = 0; p < P; p++) acc += d[p];
            dbias[o] += (float)acc;
        }
}

static void bn_scale_shift(double *scale, double *shift, float gamma, float beta, float mean,
                           float var, float eps) {
    *scale = (double)gamma / sqrt((double)var + (double)eps);
    *shift = (double)beta - (double)mean * *scale;
}

void batchnorm_coeffs(float *a, float *b, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps, int C) {
    for (int c = 0; c < C; c++) {
        double sc, sh;
        bn_scale_shift(&sc, &sh, gamma[c], beta[c], mean[c], var[c], eps);
        a[c] = (float)sc;
        b[c] = (float)sh;
    }
}

void batchnorm_forward(float *out, const float *inp, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps, int N, int C, int HW) {
    for (int c = 0; c < C; c++) {
        float a, b;
        batchnorm_coeffs(&a, &b, gamma + c, beta + c, mean + c, var + c, eps, 1);
        for (int n = 0; n < N; n++) {
            const float *x = inp + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * a + b;
        }
    }
}

void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *var, float eps, int N, int C, int HW) {
    for (int c = 0; c < C; c++) {
        double invstd = 1.0 / sqrt((double)var[c] + (double)eps);
        float a = (float)((double)gamma[c] * invstd);
        double dg = 0, db = 0;
        for (int n = 0; n < N; n++) {
            const float *dy = dout + ((size_t)n * C + c) * HW;
            if (dinp) {
                float *dx = dinp + ((size_t)n * C + c) * HW;
                for (int i = 0; i < HW; i++) dx[i] += dy[i] * a;
            }
            if (dgamma || dbeta) {
                const float *x = inp + ((size_t)n * C + c) * HW;
                for (int i = 0; i < HW; i++) {
                    dg += (double)dy[i] * ((double)x[i] - mean[c]) * invstd;
                    db += dy[i];
                }
            }
        }
        if (dgamma) dgamma[c] += (float)dg;
        if (dbeta) dbeta[c] += (float)db;
    }
}

void relu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0.0f) dinp[i] += dout[i];
}

typedef struct {
    float *out; int32_t *argmax; const float *inp;
    int H, W, k, stride, pad, Ho, Wo;
} PoolJob;

static void maxpool_range(void *ctx, size_t lo, size_t hi) {
    const PoolJob *j = ctx;
    int H = j->H, W = j->W, k = j->k, stride = j->stride, pad = j->pad, Ho = j->Ho, Wo = j->Wo;
    for (size_t nc = lo; nc < hi; nc++) {
        const float *x = j->inp + nc * H * W;
        float *y = j->out + nc * Ho * Wo;
        int32_t *am = j->argmax ? j->argmax + nc * Ho * Wo : NULL;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                int y0 = oy * stride - pad, x0 = ox * stride - pad;
                float best = -INFINITY;
                int32_t bi = -1;
                for (int i = y0; i < y0 + k; i++) {
                    if (i < 0 || i >= H) continue;
                    for (int jx = x0; jx < x0 + k; jx++) {
                        if (jx < 0 || jx >= W) continue;
                        float v = x[i * W + jx];
                        if (v > best || isnan(v) || bi < 0) { best = v; bi = i * W + jx; }
                        if (isnan(v)) goto done;
                    }
                }
            done:
                y[oy * Wo + ox] = best;
                if (am) am[oy * Wo + ox] = bi;
            }
    }
}

void maxpool_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                     int k, int stride, int pad, int Ho, int Wo) {
    PoolJob j = {out, argmax, inp, H, W, k, stride, pad, Ho, Wo};
    eng_parallel_for((size_t)N * C, eng_min_items((size_t)Ho * Wo * k * k), maxpool_range, &j);
}

void maxpool_backward(float *dinp, const float *dout, const int32_t *argmax,
                      int N, int C, int H, int W, int Ho, int Wo) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        float *dx = dinp + nc * H * W;
        const float *dy = dout + nc * Ho * Wo;
        const int32_t *am = argmax + nc * Ho * Wo;
        for (int i = 0; i < Ho * Wo; i++)
            if (am[i] >= 0) dx[am[i]] += dy[i];
    }
}

/* torch's avg_pool2d window: start clipped to 0, end clipped to H + pad for
   the divisor (count_include_pad), then to H for the sum. */
static void avg_window(int o, int stride, int pad, int k, int H, int *s, int *e, int *len) {
    int start = o * stride - pad, end = start + k;
    if (end > H + pad) end = H + pad;
    *len = end - start;
    if (start < 0) start = 0;
    if (end > H) end = H;
    *s = start; *e = end;
}

void avgpool_forward(float *out, const float *inp, int N, int C, int H, int W,
                     int k, int stride, int pad, int Ho, int Wo) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            int ys, ye, yl;
            avg_window(oy, stride, pad, k, H, &ys, &ye, &yl);
            for (int ox = 0; ox < Wo; ox++) {
                int xs, xe, xl;
                avg_window(ox, stride, pad, k, W, &xs, &xe, &xl);
                float acc = 0;
                for (int i = ys; i < ye; i++)
                    for (int j = xs; j < xe; j++) acc += x[i * W + j];
                y[oy * Wo + ox] = acc / (float)(yl * xl);
            }
        }
    }
}

void avgpool_backward(float *dinp, const float *dout, int N, int C, int H, int W,
                      int k, int stride, int pad, int Ho, int Wo) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        float *dx = dinp + nc * H * W;
        const float *dy = dout + nc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            int ys, ye, yl;
            avg_window(oy, stride, pad, k, H, &ys, &ye, &yl);
            for (int ox = 0; ox < Wo; ox++) {
                int xs, xe, xl;
                avg_window(ox, stride, pad, k, W, &xs, &xe, &xl);
                float g = dy[oy * Wo + ox] / (float)(yl * xl);
                for (int i = ys; i < ye; i++)
                    for (int j = xs; j < xe; j++) dx[i * W + j] += g;
            }
        }
    }
}

static int adaptive_start(int i, int in, int out) { return (int)(((long long)i * in) / out); }
static int adaptive_end(int i, int in, int out) {
    return (int)((((long long)i + 1) * in + out - 1) / out);
}

void adaptive_avgpool_forward(float *out, const float *inp, int N, int C, int H, int W,
                              int Ho, int Wo) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *x = inp + nc * H * W;
        float *y = out + nc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            int ys = adaptive_start(oy, H, Ho), ye = adaptive_end(oy, H, Ho);
            for (int ox = 0; ox < Wo; ox++) {
                int xs = adaptive_start(ox, W, Wo), xe = adaptive_end(ox, W, Wo);
                float acc = 0;
                for (int i = ys; i < ye; i++)
                    for (int j = xs; j < xe; j++) acc += x[i * W + j];
                y[oy * Wo + ox] = acc / (float)((ye - ys) * (xe - xs));
            }
        }
    }
}

void adaptive_avgpool_backward(float *dinp, const float *dout, int N, int C, int H, int W,
                               int Ho, int Wo) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        float *dx = dinp + nc * H * W;
        const float *dy = dout + nc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            int ys = adaptive_start(oy, H, Ho), ye = adaptive_end(oy, H, Ho);
            for (int ox = 0; ox < Wo; ox++) {
                int xs = adaptive_start(ox, W, Wo), xe = adaptive_end(ox, W, Wo);
                float g = dy[oy * Wo + ox] / (float)((ye - ys) * (xe - xs));
                for (int i = ys; i < ye; i++)
                    for (int j = xs; j < xe; j++) dx[i * W + j] += g;
            }
        }
    }
}

/* The (image, input) slabs of a concatenation, one per item, on the
   engine's threads: each item copies or adds its own slab. */
typedef struct {
    float *cat; const float *const *inps; float *const *dinps;
    const int *C; int n_in, Ct, HW;
} ConcatJob;

static void concat_range(void *ctx, size_t lo, size_t hi) {
    const ConcatJob *j = ctx;
    for (size_t it = lo; it < hi; it++) {
        int n = (int)(it / j->n_in), k = (int)(it % j->n_in), c0 = 0;
        for (int q = 0; q < k; q++) c0 += j->C[q];
        size_t sz = (size_t)j->C[k] * j->HW;
        float *slab = j->cat + ((size_t)n * j->Ct + c0) * j->HW;
        if (j->inps) { memcpy(slab, j->inps[k] + n * sz, sizeof(float) * sz); continue; }
        if (!j->dinps[k]) continue;
        float *d = j->dinps[k] + n * sz;
        for (size_t i = 0; i < sz; i++) d[i] += slab[i];
    }
}

static void concat_run(ConcatJob *j, int N) {
    j->Ct = 0;
    for (int k = 0; k < j->n_in; k++) j->Ct += j->C[k];
    size_t per = (size_t)j->Ct * j->HW / (j->n_in ? j->n_in : 1);
    eng_parallel_for((size_t)N * j->n_in, eng_min_items(per), concat_range, j);
}

void concat_forward(float *out, const float *const *inps, const int *C, int n_in, int N, int HW) {
    ConcatJob j = {out, inps, NULL, C, n_in, 0, HW};
    concat_run(&j, N);
}

void concat_backward(float *const *dinps, const float *dout, const int *C, int n_in, int N, int HW) {
    ConcatJob j = {(float *)dout, NULL, dinps, C, n_in, 0, HW};
    concat_run(&j, N);
}

void add_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void add_backward(float *da, float *db, const float *dout, size_t n) {
    if (da) for (size_t i = 0; i < n; i++) da[i] += dout[i];
    if (db) for (size_t i = 0; i < n; i++) db[i] += dout[i];
}

void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int In, int O) {
    sgemm(CblasNoTrans, CblasTrans, N, O, In, 1.0f, inp, In, weight, In, 0.0f, out, O);
    if (bias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) out[(size_t)n * O + o] += bias[o];
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int In, int O) {
    if (dinp) /* (N,In) += dout (N,O) W (O,In) */
        sgemm(CblasNoTrans, CblasNoTrans, N, In, O, 1.0f, dout, O, weight, In, 1.0f, dinp, In);
    if (dweight) /* (O,In) += dout^T (O,N) inp (N,In) */
        sgemm_blas(CblasTrans, CblasNoTrans, O, In, N, 1.0f, dout, O, inp, In, 1.0f, dweight, In);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) dbias[o] += dout[(size_t)n * O + o];
}

/* max of a row and sum of exp(x - max) in double: the shared first half of
   softmax and log-softmax. */
static double row_exp_sum(const float *x, int K, float *mx) {
    float m = -INFINITY;
    for (int k = 0; k < K; k++) if (x[k] > m) m = x[k];
    double sum = 0;
    for (int k = 0; k < K; k++) sum += exp((double)x[k] - m);
    *mx = m;
    return sum;
}

void softmax_forward(float *out, const float *inp, int N, int K) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * K;
        float *y = out + (size_t)n * K, mx;
        double sum = row_exp_sum(x, K, &mx);
        for (int k = 0; k < K; k++) y[k] = (float)(exp((double)x[k] - mx) / sum);
    }
}

double class_prob(const float *logits, int K, int k, int sigmoid) {
    if (sigmoid) return 1.0 / (1.0 + exp(-(double)logits[k]));
    double mx = logits[0], s = 0;
    for (int j = 1; j < K; j++) if (logits[j] > mx) mx = logits[j];
    for (int j = 0; j < K; j++) s += exp((double)logits[j] - mx);
    return exp((double)logits[k] - mx) / s;
}

int probs_argmax(float *prob, const float *logits, int K, int sigmoid) {
    if (!sigmoid) return softmax_argmax(prob, logits, K);
    int best = 0;
    for (int k = 0; k < K; k++) {
        prob[k] = (float)class_prob(logits, K, k, 1);
        if (logits[k] > logits[best]) best = k;
    }
    return best;
}

int probs_topk(const float *prob, int K, int k, int *idx) {
    char *used = calloc(K, 1);
    if (!used) return eng_fail("top-k: out of memory");
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int c = 0; c < K; c++)
            if (!used[c] && (best < 0 || prob[c] > prob[best])) best = c;
        idx[j] = best;
        used[best] = 1;
    }
    free(used);
    return 0;
}

int softmax_argmax(float *prob, const float *logits, int K) {
    softmax_forward(prob, logits, 1, K);
    int best = 0;
    for (int k = 1; k < K; k++) if (prob[k] > prob[best]) best = k;
    return best;
}

void softmax_backward(float *dinp, const float *dout, const float *out, int N, int K) {
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * K, *y = out + (size_t)n * K;
        double dot = 0;
        for (int k = 0; k < K; k++) dot += (double)dy[k] * y[k];
        for (int k = 0; k < K; k++) dinp[(size_t)n * K + k] += (float)(y[k] * (dy[k] - dot));
    }
}

void log_softmax_forward(float *out, const float *inp, int N, int K) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * K;
        float *y = out + (size_t)n * K, mx;
        double sum = row_exp_sum(x, K, &mx), lse = mx + log(sum);
        for (int k = 0; k < K; k++) y[k] = (float)((double)x[k] - lse);
    }
}

void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int K) {
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * K, *y = out + (size_t)n * K;
        double sum = 0;
        for (int k = 0; k < K; k++) sum += dy[k];
        for (int k = 0; k < K; k++) dinp[(size_t)n * K + k] += (float)(dy[k] - exp((double)y[k]) * sum);
    }
}
