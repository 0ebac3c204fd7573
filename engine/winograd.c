/* winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering
   F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
   Networks", CVPR 2016), forward and input gradient.

   Each 2x2 tile of an output plane, from the 4x4 input tile d around it
   (tiles overlap by 2) and the 3x3 kernel g, is
       Y = A^T [ (G g G^T) .* (B^T d B) ] A
   with the interpolation points 0, 1, -1 and infinity:
       B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
       G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
       A^T = [1 1 1 0; 0 1 -1 -1]
   Summed over the input channels, the elementwise product becomes 16
   independent gemms, one per position xi of the 4x4 transformed tile:
       M[xi] (O, T) = U[xi] (O, C) . V[xi] (C, T),   T = tiles,
   U = G g G^T (the transformed weights, made once per set of weights and
   cached by the model), V = B^T d B (the transformed input tiles): 16
   multiply-adds per tile and channel pair where im2col's gemm does 36,
   2.25 times fewer, and no 9-fold column copy of the input.

   Accuracy: B^T and A^T only add and subtract, G halves; the result
   differs from a double-accumulated reference by a few 1e-7 of the output's
   magnitude, as im2col's does (F(4x4,3x3), tried first, was 2.5x faster
   than im2col but 10x less accurate: it flipped near-zero ReLUs of the
   golden inputs that PyTorch's float32 and float64 agree on).
   tests/test_ops.c bounds it against the reference path; the model tests
   hold whole networks to PyTorch's outputs.

   Order of work, fixed by the shape alone (bit-identical on any thread
   count): the tiles are taken in blocks of whole tile rows (the images'
   rows of tiles one after the other); per block, the input transform runs
   on the threads by (channel, tile row), the 16 gemms by xi, the output
   transform (and the forward's epilogue, or the input gradient's
   accumulation) by (output channel, tile row). */
#include "engine/ops.h"
#include "engine/parallel.h"

#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

/* Tiles handled at once along a tile row (bounds the stack buffers; a multiple of 8). */
#define WINO_SEG 32
/* Floats of a block's transformed inputs and gemm results (8 MiB). */
#define WINO_BLOCK_FLOATS ((size_t)2 << 20)
#define WINO_XI 16 /* positions of the 4x4 transformed tile */

/* Where it pays (measured against im2col + the same sgemm, batch 4, one
   and two threads), for convolutions reading 64 channels or more:
     - 56x56 planes and up: resnet's layer1 (1.3-1.7x), densenet's first
       block forward with its 32 outputs (1.5x);
     - 28x28 and up with 64 outputs or more: resnet's layer2 (1.4-1.5x);
     - 14x14 and up with 128 channels or more on both sides: resnet's
       layer3 (1.2-1.5x); with 64 channels, 0.9-1.3x on sub-millisecond
       convolutions, not worth it.
   Not where the convolution reads 32 channels (densenet's input gradients:
   0.65-1.2x, a K=32 gemm is cheap next to the transforms), nor on 7x7
   planes (resnet's layer4: 1.1-1.2x, for 67 MB of transformed weights on
   resnet50). */
int conv_wino_ok(const ConvShape *s, int input_grad) {
    size_t plane = (size_t)s->Ho * s->Wo;
    int in = input_grad ? s->O : s->C, out = input_grad ? s->C : s->O; /* of the convolution run */
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->pad != 1 || s->dilation != 1 || in < 64) return 0;
    if (plane >= 3136) return 1;
    if (plane >= 784) return out >= 64;
    return plane >= 196 && in >= 128 && out >= 128;
}

size_t conv_wino_weights_floats(const ConvShape *s) { return (size_t)WINO_XI * s->O * s->C; }

/* U[xi][o][c] = (G g G^T)[xi] for g = weight[o][c] (forward), or, for the
   input gradient's convolution (dout with the kernel flipped and in/out
   swapped), Ut[xi][c][o] from g = weight[o][c] flipped. In double, rounded
   once. */
void conv_wino_weights(float *U, const float *weight, const ConvShape *s, int input_grad) {
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    int rows = input_grad ? s->C : s->O, cols = input_grad ? s->O : s->C;
    for (int o = 0; o < s->O; o++)
        for (int c = 0; c < s->C; c++) {
            const float *w = weight + ((size_t)o * s->C + c) * 9;
            double g[3][3], t[4][3];
            for (int q = 0; q < 9; q++) g[q / 3][q % 3] = input_grad ? w[8 - q] : w[q];
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 3; k++) t[i][k] = G[i][0] * g[0][k] + G[i][1] * g[1][k] + G[i][2] * g[2][k];
            size_t at = input_grad ? (size_t)c * cols + o : (size_t)o * cols + c;
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++)
                    U[(size_t)(i * 4 + k) * rows * cols + at] =
                        (float)(t[i][0] * G[k][0] + t[i][1] * G[k][1] + t[i][2] * G[k][2]);
        }
}

/* The transforms below run on rows of WINO_SEG tiles: each loop goes over
   whole groups of 8 floats, which the compiler turns into vector
   instructions; buffers are padded to that. */
#define WINO_PAD(n) (((n) + 7) & ~7)
#define WINO_PH WINO_PAD(WINO_SEG + 1)

/* o = B^T d over len elements (rounded up to 8). */
static void wino_bt(float *const o[4], const float *const d[4], int len) {
    for (int x0 = 0; x0 < len; x0 += 8)
#pragma GCC ivdep
        for (int x = x0; x < x0 + 8; x++) {
            float d0 = d[0][x], d1 = d[1][x], d2 = d[2][x], d3 = d[3][x];
            o[0][x] = d0 - d2;
            o[1][x] = d1 + d2;
            o[2][x] = d2 - d1;
            o[3][x] = d1 - d3;
        }
}

/* o = A^T m over len elements (rounded up to 8). */
static void wino_at(float *const o[2], const float *const m[4], int len) {
    for (int x0 = 0; x0 < len; x0 += 8)
#pragma GCC ivdep
        for (int x = x0; x < x0 + 8; x++) {
            float m0 = m[0][x], m1 = m[1][x], m2 = m[2][x], m3 = m[3][x];
            o[0][x] = m0 + m1 + m2;
            o[1][x] = m1 - m2 - m3;
        }
}

/* dst[0..n) = src[0..n): short runs (a segment's tiles), where an inlined
   memcpy (rep movs) costs more than the copy. */
static inline void copy_run(float *dst, const float *src, int n) {
    int i = 0;
#ifdef __AVX2__
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
#endif
    for (; i < n; i++) dst[i] = src[i];
}

typedef struct {
    const ConvShape *s;      /* C inputs, O outputs, H x W both ways (pad 1, stride 1) */
    int tw, th;              /* tiles per row, tile rows per image */
    int r0, rb;              /* the block's first tile row (over the batch), its rows */
    const float *inp, *U;    /* inp (N,C,H,W); U (16,O,C) */
    float *V, *M;            /* V (16,C,rb*tw), M (16,O,rb*tw) */
    float *out;              /* (N,O,H,W) */
    const Epilogue *e;       /* forward: applied while storing; NULL: out += result */
} WinoJob;

/* Tile t of a segment reads input columns 2t-1 .. 2t+2 (relative to the
   segment). Each input row is split into its 2 phases, ph[r][t] = column
   2t-1+r, so that the 4 columns of every tile are the contiguous arrays
   ph[0], ph[1], ph[0]+1, ph[1]+1. */
static void wino_load_phases(float ph[2][WINO_PH], const float *row, int W, int x0, int nt) {
    float buf[2 * WINO_PH];
    int wd = 2 * WINO_PAD(nt + 1), lo = x0 < 0 ? -x0 : 0, hi = W - x0 < wd ? W - x0 : wd;
    if (hi < lo) hi = lo;
    memset(buf, 0, sizeof(float) * lo);
    memcpy(buf + lo, row + x0 + lo, sizeof(float) * (hi - lo));
    memset(buf + hi, 0, sizeof(float) * (wd - hi));
    int t = 0;
#ifdef __AVX2__
    for (; t < nt + 1; t += 8) { /* even and odd columns of 16, up to the padded end */
        __m256 a = _mm256_loadu_ps(buf + 2 * t), b = _mm256_loadu_ps(buf + 2 * t + 8);
        __m256d ev = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), od = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD));
        _mm256_storeu_ps(ph[0] + t, _mm256_castpd_ps(_mm256_permute4x64_pd(ev, 0xD8)));
        _mm256_storeu_ps(ph[1] + t, _mm256_castpd_ps(_mm256_permute4x64_pd(od, 0xD8)));
    }
#endif
    for (; t <= nt; t++) { ph[0][t] = buf[2 * t]; ph[1][t] = buf[2 * t + 1]; }
}

/* row[2t+q] = y[q][t]: the 2 phases of an output row back in place. */
static void wino_interleave(float *row, float y[2][WINO_PH], int nt) {
    int t = 0;
#ifdef __AVX2__
    for (; t < nt; t += 8) { /* the inverse of wino_load_phases' split, up to the padded end */
        __m256 p0 = _mm256_loadu_ps(y[0] + t), p1 = _mm256_loadu_ps(y[1] + t);
        __m256 lo = _mm256_unpacklo_ps(p0, p1), hi = _mm256_unpackhi_ps(p0, p1);
        _mm256_storeu_ps(row + 2 * t, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(row + 2 * t + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
#endif
    for (; t < nt; t++) { row[2 * t] = y[0][t]; row[2 * t + 1] = y[1][t]; }
}

/* V's columns of tile row rr of the block, channel c. */
static void wino_input_row(const WinoJob *j, int c, int rr) {
    const ConvShape *s = j->s;
    int r = j->r0 + rr, n = r / j->th, y0 = (r % j->th) * 2 - 1;
    const float *plane = j->inp + ((size_t)n * s->C + c) * s->H * s->W;
    size_t ld = (size_t)j->rb * j->tw, xstride = (size_t)s->C * ld;
    float *V = j->V + (size_t)c * ld + (size_t)rr * j->tw;
    for (int t0 = 0; t0 < j->tw; t0 += WINO_SEG) {
        int nt = j->tw - t0 < WINO_SEG ? j->tw - t0 : WINO_SEG;
        float d[4][2][WINO_PH], e[4][2][WINO_PH], v[4][WINO_PH];
        for (int i = 0; i < 4; i++) {
            int y = y0 + i;
            if (y < 0 || y >= s->H) memset(d[i], 0, sizeof d[i]);
            else wino_load_phases(d[i], plane + (size_t)y * s->W, s->W, 2 * t0 - 1, nt);
        }
        for (int ph = 0; ph < 2; ph++) { /* down the columns: e = B^T d */
            const float *dr[4] = {d[0][ph], d[1][ph], d[2][ph], d[3][ph]};
            float *er[4] = {e[0][ph], e[1][ph], e[2][ph], e[3][ph]};
            wino_bt(er, dr, nt + 1);
        }
        for (int i = 0; i < 4; i++) { /* along each tile's row: (B^T d) B */
            const float *cr[4] = {e[i][0], e[i][1], e[i][0] + 1, e[i][1] + 1};
            float *vr[4] = {v[0], v[1], v[2], v[3]};
            wino_bt(vr, cr, nt);
            for (int k = 0; k < 4; k++) copy_run(V + (size_t)(i * 4 + k) * xstride + t0, v[k], nt);
        }
    }
}

/* Output rows of tile row rr of the block, channel o, from M. */
static void wino_output_row(const WinoJob *j, int o, int rr) {
    const ConvShape *s = j->s;
    int r = j->r0 + rr, n = r / j->th, y0 = (r % j->th) * 2;
    size_t ld = (size_t)j->rb * j->tw, xstride = (size_t)s->O * ld, plane = (size_t)s->H * s->W;
    size_t base = ((size_t)n * s->O + o) * plane;
    const float *M = j->M + (size_t)o * ld + (size_t)rr * j->tw;
    for (int t0 = 0; t0 < j->tw; t0 += WINO_SEG) {
        int nt = j->tw - t0 < WINO_SEG ? j->tw - t0 : WINO_SEG;
        float m[4][WINO_PH], rq[4][2][WINO_PH], y[2][2][WINO_PH], row[2 * WINO_PH];
        for (int i = 0; i < 4; i++) { /* along the tile's rows: M A */
            for (int k = 0; k < 4; k++) copy_run(m[k], M + (size_t)(i * 4 + k) * xstride + t0, nt);
            const float *mr[4] = {m[0], m[1], m[2], m[3]};
            float *qr[2] = {rq[i][0], rq[i][1]};
            wino_at(qr, mr, nt);
        }
        for (int q = 0; q < 2; q++) { /* down the columns: A^T (M A) */
            const float *cr[4] = {rq[0][q], rq[1][q], rq[2][q], rq[3][q]};
            float *yr[2] = {y[0][q], y[1][q]};
            wino_at(yr, cr, nt);
        }
        int xs = 2 * t0, len = s->W - xs < 2 * nt ? s->W - xs : 2 * nt;
        for (int p = 0; p < 2 && y0 + p < s->H; p++) {
            wino_interleave(row, y[p], nt);
            size_t at = base + (size_t)(y0 + p) * s->W + xs;
            float *dst = j->out + at;
            if (j->e) epilogue_span(dst, row, (size_t)len, j->e, o, j->e->residual ? j->e->residual + at : NULL);
            else for (int x = 0; x < len; x++) dst[x] += row[x];
        }
    }
}

static void wino_input_range(void *ctx, size_t lo, size_t hi) {
    const WinoJob *j = ctx;
    for (size_t i = lo; i < hi; i++) wino_input_row(j, (int)(i / j->rb), (int)(i % j->rb));
}

static void wino_gemm_range(void *ctx, size_t lo, size_t hi) {
    const WinoJob *j = ctx;
    int O = j->s->O, C = j->s->C, T = j->rb * j->tw;
    for (size_t xi = lo; xi < hi; xi++)
        eng_sgemm(0, 0, O, T, C, 1.0f, j->U + xi * O * C, C, j->V + xi * C * T, T, 0.0f, j->M + xi * O * T, T);
}

static void wino_output_range(void *ctx, size_t lo, size_t hi) {
    const WinoJob *j = ctx;
    for (size_t i = lo; i < hi; i++) wino_output_row(j, (int)(i / j->rb), (int)(i % j->rb));
}

/* Tile rows per block: the rows shared evenly between as few blocks as the
   block budget allows. */
static int wino_block_rows(const ConvShape *s) {
    int tw = (s->W + 1) / 2, rows = s->N * ((s->H + 1) / 2);
    size_t per_row = (size_t)WINO_XI * (s->C + s->O) * tw;
    size_t most = WINO_BLOCK_FLOATS / per_row, blocks;
    if (most < 1) most = 1;
    blocks = (rows + most - 1) / most;
    return (int)((rows + blocks - 1) / blocks);
}

/* The same for the input gradient's convolution (C and O swapped). */
size_t conv_wino_work_floats(const ConvShape *s) {
    return (size_t)WINO_XI * (s->C + s->O) * wino_block_rows(s) * ((s->W + 1) / 2);
}

static void wino_run(float *out, const float *inp, const float *U, const Epilogue *e, const ConvShape *s,
                     float *work) {
    WinoJob j = {s, (s->W + 1) / 2, (s->H + 1) / 2, 0, wino_block_rows(s), inp, U, NULL, NULL, out, e};
    int rows = s->N * j.th, rb = j.rb;
    j.V = work;
    j.M = work + (size_t)WINO_XI * s->C * rb * j.tw;
    for (j.r0 = 0; j.r0 < rows; j.r0 += rb) {
        j.rb = rows - j.r0 < rb ? rows - j.r0 : rb;
        eng_parallel_for((size_t)s->C * j.rb, 1, wino_input_range, &j);
        eng_parallel_for(WINO_XI, 1, wino_gemm_range, &j);
        eng_parallel_for((size_t)s->O * j.rb, 1, wino_output_range, &j);
    }
}

void conv_wino_forward(float *out, const float *inp, const float *U, const Epilogue *e, const ConvShape *s,
                       float *work) {
    wino_run(out, inp, U, e, s, work);
}

void conv_wino_input_grad(float *dinp, const float *dout, const float *Ut, const ConvShape *s, float *work) {
    ConvShape t; /* the input gradient: a 3x3 convolution of dout, O channels in, C out */
    conv_shape_init(&t, s->N, s->O, s->Ho, s->Wo, s->C, 3, 3, 1, 1, 1);
    wino_run(dinp, dout, Ut, NULL, &t, work);
}
