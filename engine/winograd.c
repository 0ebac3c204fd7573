/* winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering
   F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
   Networks", CVPR 2016), forward and input gradient.

   Each 4x4 tile of an output plane, from the 6x6 input tile d around it
   (tiles overlap by 2) and the 3x3 kernel g, is
       Y = A^T [ (G g G^T) .* (B^T d B) ] A
   with the interpolation points 0, 1, -1, 2, -2 and infinity (matrices
   below). Summed over the input channels, the elementwise product becomes
   36 independent gemms, one per position xi of the 6x6 transformed tile:
       M[xi] (O, T) = U[xi] (O, C) . V[xi] (C, T),   T = tiles,
   U = G g G^T (the transformed weights, made once per set of weights and
   cached by the model), V = B^T d B (the transformed input tiles). That is
   36 multiply-adds per tile and channel pair where im2col's gemm does 144:
   4 times fewer. Measured on the layers it runs (batch 4 at 224, one
   thread, against im2col + the same OpenBLAS sgemm): see README "Speed".

   Accuracy: the transforms scale values by up to 8 (A^T) and 5 (B^T), so
   the rounding error grows; on random data the result differs from a
   double-accumulated reference by about 1e-5 of the output's magnitude
   (im2col: about 1e-6). tests/test_ops.c bounds it against the reference
   path, and the model tests bound whole networks (fast vs reference).

   Order of work, fixed by the shape alone (bit-identical on any thread
   count): the tiles are taken in blocks of whole tile rows (the images'
   rows of tiles one after the other); per block, the input transform runs
   on the threads by (channel, tile row), the 36 gemms by xi, the output
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

/* Where it pays (measured, batch 1 and 4, two threads, against im2col):
   planes of 28x28 or more with 64 input channels or more, and 64 outputs
   or more unless the plane is 56x56 or more. resnet50's layer1 and layer2
   (1.5-2.3x both ways) and densenet121's first block forward (1.6-2x).
   Not taken: 14x14 planes (resnet50 layer3: 1.0-1.2x, for 94 MB of
   transformed weights), 32-channel sides on smaller planes (densenet's
   input gradients, 0.6-1.2x: the transforms outweigh a K=32 gemm). */
int conv_wino_ok(const ConvShape *s, int input_grad) {
    size_t plane = (size_t)s->Ho * s->Wo;
    int in = input_grad ? s->O : s->C, out = input_grad ? s->C : s->O; /* of the convolution run */
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && s->pad == 1 && s->dilation == 1 && plane >= 784 &&
           in >= 64 && (out >= 64 || plane >= 3136);
}

size_t conv_wino_weights_floats(const ConvShape *s) { return (size_t)36 * s->O * s->C; }

/* U[xi][o][c] = (G g G^T)[xi] for g = weight[o][c] (forward), or, for the
   input gradient's convolution (dout with the kernel flipped and in/out
   swapped), Ut[xi][c][o] from g = weight[o][c] flipped. In double, rounded
   once. */
void conv_wino_weights(float *U, const float *weight, const ConvShape *s, int input_grad) {
    static const double G[6][3] = {{1 / 4., 0, 0},          {-1 / 6., -1 / 6., -1 / 6.},
                                   {-1 / 6., 1 / 6., -1 / 6.}, {1 / 24., 1 / 12., 1 / 6.},
                                   {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1}};
    int rows = input_grad ? s->C : s->O, cols = input_grad ? s->O : s->C;
    for (int o = 0; o < s->O; o++)
        for (int c = 0; c < s->C; c++) {
            const float *w = weight + ((size_t)o * s->C + c) * 9;
            double g[3][3], t[6][3];
            for (int q = 0; q < 9; q++) g[q / 3][q % 3] = input_grad ? w[8 - q] : w[q];
            for (int i = 0; i < 6; i++)
                for (int k = 0; k < 3; k++) t[i][k] = G[i][0] * g[0][k] + G[i][1] * g[1][k] + G[i][2] * g[2][k];
            size_t at = input_grad ? (size_t)c * cols + o : (size_t)o * cols + c;
            for (int i = 0; i < 6; i++)
                for (int k = 0; k < 6; k++)
                    U[(size_t)(i * 6 + k) * rows * cols + at] =
                        (float)(t[i][0] * G[k][0] + t[i][1] * G[k][1] + t[i][2] * G[k][2]);
        }
}

/* The transforms below run on rows of WINO_SEG tiles (a multiple of 8):
   each loop goes over whole groups of 8 floats, which the compiler turns
   into vector instructions; buffers are padded to that. */
#define WINO_PAD(n) (((n) + 7) & ~7)

/* o_i = sum_j B^T[i][j] d_j over len elements (rounded up to 8):
   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1] */
static void wino_bt(float *const o[6], const float *const d[6], int len) {
    for (int x0 = 0; x0 < len; x0 += 8)
#pragma GCC ivdep
        for (int x = x0; x < x0 + 8; x++) {
            float d0 = d[0][x], d1 = d[1][x], d2 = d[2][x], d3 = d[3][x], d4 = d[4][x], d5 = d[5][x];
            o[0][x] = 4 * d0 - 5 * d2 + d4;
            o[1][x] = -4 * d1 - 4 * d2 + d3 + d4;
            o[2][x] = 4 * d1 - 4 * d2 - d3 + d4;
            o[3][x] = -2 * d1 - d2 + 2 * d3 + d4;
            o[4][x] = 2 * d1 - d2 - 2 * d3 + d4;
            o[5][x] = 4 * d1 - 5 * d3 + d5;
        }
}

/* o_i = sum_j A^T[i][j] m_j: A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] */
static void wino_at(float *const o[4], const float *const m[6], int len) {
    for (int x0 = 0; x0 < len; x0 += 8)
#pragma GCC ivdep
        for (int x = x0; x < x0 + 8; x++) {
            float m0 = m[0][x], m1 = m[1][x], m2 = m[2][x], m3 = m[3][x], m4 = m[4][x], m5 = m[5][x];
            o[0][x] = m0 + m1 + m2 + m3 + m4;
            o[1][x] = m1 - m2 + 2 * m3 - 2 * m4;
            o[2][x] = m1 + m2 + 4 * m3 + 4 * m4;
            o[3][x] = m1 - m2 + 8 * m3 - 8 * m4 + m5;
        }
}

typedef struct {
    const ConvShape *s;      /* C inputs, O outputs, H x W both ways (pad 1, stride 1) */
    int tw, th;              /* tiles per row, tile rows per image */
    int r0, rb;              /* the block's first tile row (over the batch), its rows */
    const float *inp, *U;    /* inp (N,C,H,W); U (36,O,C) */
    float *V, *M;            /* V (36,C,rb*tw), M (36,O,rb*tw) */
    float *out;              /* (N,O,H,W) */
    const Epilogue *e;       /* forward: applied while storing; NULL: out += result */
} WinoJob;

/* Tile t of a segment reads input columns 4t-1 .. 4t+4 (relative to the
   segment). Each of the 6 input rows is split into 4 phases,
   ph[r][t] = column 4t-1+r, so that the 6 columns of every tile are the
   contiguous arrays ph[0], ph[1], ph[2], ph[3], ph[0]+1, ph[1]+1. */
#define WINO_PH WINO_PAD(WINO_SEG + 1)

static void wino_load_phases(float ph[4][WINO_PH], const float *row, int W, int x0, int nt) {
    float buf[4 * WINO_PH];
    int wd = 4 * (nt + 1), lo = x0 < 0 ? -x0 : 0, hi = W - x0 < wd ? W - x0 : wd;
    memset(buf, 0, sizeof buf);
    if (hi > lo) memcpy(buf + lo, row + x0 + lo, sizeof(float) * (hi - lo));
    int t = 0;
#ifdef __AVX2__
    for (; t + 8 <= nt + 1; t += 8) { /* 8 tiles' 4 phases: a 4x8 transpose */
        __m256 a = _mm256_loadu_ps(buf + 4 * t), b = _mm256_loadu_ps(buf + 4 * t + 8);
        __m256 c = _mm256_loadu_ps(buf + 4 * t + 16), d = _mm256_loadu_ps(buf + 4 * t + 24);
        __m256 ab0 = _mm256_unpacklo_ps(a, b), ab1 = _mm256_unpackhi_ps(a, b);
        __m256 cd0 = _mm256_unpacklo_ps(c, d), cd1 = _mm256_unpackhi_ps(c, d);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        _mm256_storeu_ps(ph[0] + t, _mm256_permutevar8x32_ps(_mm256_shuffle_ps(ab0, cd0, 0x44), order));
        _mm256_storeu_ps(ph[1] + t, _mm256_permutevar8x32_ps(_mm256_shuffle_ps(ab0, cd0, 0xEE), order));
        _mm256_storeu_ps(ph[2] + t, _mm256_permutevar8x32_ps(_mm256_shuffle_ps(ab1, cd1, 0x44), order));
        _mm256_storeu_ps(ph[3] + t, _mm256_permutevar8x32_ps(_mm256_shuffle_ps(ab1, cd1, 0xEE), order));
    }
#endif
    for (; t <= nt; t++)
        for (int r = 0; r < 4; r++) ph[r][t] = buf[4 * t + r];
}

/* V's columns of tile row rr of the block, channel c. */
static void wino_input_row(const WinoJob *j, int c, int rr) {
    const ConvShape *s = j->s;
    int r = j->r0 + rr, n = r / j->th, y0 = (r % j->th) * 4 - 1;
    const float *plane = j->inp + ((size_t)n * s->C + c) * s->H * s->W;
    size_t ld = (size_t)j->rb * j->tw, xstride = (size_t)s->C * ld;
    float *V = j->V + (size_t)c * ld + (size_t)rr * j->tw;
    for (int t0 = 0; t0 < j->tw; t0 += WINO_SEG) {
        int nt = j->tw - t0 < WINO_SEG ? j->tw - t0 : WINO_SEG;
        float d[6][4][WINO_PH], e[6][4][WINO_PH], v[6][WINO_PH];
        for (int i = 0; i < 6; i++) {
            int y = y0 + i;
            if (y < 0 || y >= s->H) memset(d[i], 0, sizeof d[i]);
            else wino_load_phases(d[i], plane + (size_t)y * s->W, s->W, 4 * t0 - 1, nt);
        }
        for (int ph = 0; ph < 4; ph++) { /* down the columns: e = B^T d */
            const float *dr[6] = {d[0][ph], d[1][ph], d[2][ph], d[3][ph], d[4][ph], d[5][ph]};
            float *er[6] = {e[0][ph], e[1][ph], e[2][ph], e[3][ph], e[4][ph], e[5][ph]};
            wino_bt(er, dr, nt + 1);
        }
        for (int i = 0; i < 6; i++) { /* along each tile's row: (B^T d) B */
            const float *cr[6] = {e[i][0], e[i][1], e[i][2], e[i][3], e[i][0] + 1, e[i][1] + 1};
            float *vr[6] = {v[0], v[1], v[2], v[3], v[4], v[5]};
            wino_bt(vr, cr, nt);
            for (int k = 0; k < 6; k++) memcpy(V + (size_t)(i * 6 + k) * xstride + t0, v[k], sizeof(float) * nt);
        }
    }
}

/* row[4t+q] = y[q][t]: the 4 phases of an output row back in place. */
static void wino_interleave(float *row, float y[4][WINO_PH], int nt) {
    int t = 0;
#ifdef __AVX2__
    for (; t + 8 <= nt; t += 8) { /* the inverse of wino_load_phases' transpose */
        __m256 p0 = _mm256_loadu_ps(y[0] + t), p1 = _mm256_loadu_ps(y[1] + t);
        __m256 p2 = _mm256_loadu_ps(y[2] + t), p3 = _mm256_loadu_ps(y[3] + t);
        __m256 a0 = _mm256_unpacklo_ps(p0, p1), a1 = _mm256_unpackhi_ps(p0, p1);
        __m256 b0 = _mm256_unpacklo_ps(p2, p3), b1 = _mm256_unpackhi_ps(p2, p3);
        __m256 u0 = _mm256_shuffle_ps(a0, b0, 0x44), u1 = _mm256_shuffle_ps(a0, b0, 0xEE);
        __m256 u2 = _mm256_shuffle_ps(a1, b1, 0x44), u3 = _mm256_shuffle_ps(a1, b1, 0xEE);
        _mm256_storeu_ps(row + 4 * t, _mm256_permute2f128_ps(u0, u1, 0x20));
        _mm256_storeu_ps(row + 4 * t + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
        _mm256_storeu_ps(row + 4 * t + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
        _mm256_storeu_ps(row + 4 * t + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
    }
#endif
    for (; t < nt; t++)
        for (int q = 0; q < 4; q++) row[4 * t + q] = y[q][t];
}

/* Output rows of tile row rr of the block, channel o, from M. */
static void wino_output_row(const WinoJob *j, int o, int rr) {
    const ConvShape *s = j->s;
    int r = j->r0 + rr, n = r / j->th, y0 = (r % j->th) * 4;
    size_t ld = (size_t)j->rb * j->tw, xstride = (size_t)s->O * ld, plane = (size_t)s->H * s->W;
    size_t base = ((size_t)n * s->O + o) * plane;
    const float *M = j->M + (size_t)o * ld + (size_t)rr * j->tw;
    for (int t0 = 0; t0 < j->tw; t0 += WINO_SEG) {
        int nt = j->tw - t0 < WINO_SEG ? j->tw - t0 : WINO_SEG;
        float m[6][WINO_PH], rq[6][4][WINO_PH], y[4][4][WINO_PH], row[4 * WINO_PH];
        for (int i = 0; i < 6; i++) { /* along the tile's rows: M A */
            for (int k = 0; k < 6; k++) memcpy(m[k], M + (size_t)(i * 6 + k) * xstride + t0, sizeof(float) * nt);
            const float *mr[6] = {m[0], m[1], m[2], m[3], m[4], m[5]};
            float *qr[4] = {rq[i][0], rq[i][1], rq[i][2], rq[i][3]};
            wino_at(qr, mr, nt);
        }
        for (int q = 0; q < 4; q++) { /* down the columns: A^T (M A) */
            const float *cr[6] = {rq[0][q], rq[1][q], rq[2][q], rq[3][q], rq[4][q], rq[5][q]};
            float *yr[4] = {y[0][q], y[1][q], y[2][q], y[3][q]};
            wino_at(yr, cr, nt);
        }
        int xs = 4 * t0, len = s->W - xs < 4 * nt ? s->W - xs : 4 * nt;
        for (int p = 0; p < 4 && y0 + p < s->H; p++) {
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

/* Tile rows per block: as many as the block budget holds (at least one). */
static int wino_block_rows(const ConvShape *s) {
    int tw = (s->W + 3) / 4, rows = s->N * ((s->H + 3) / 4);
    size_t per_row = (size_t)36 * (s->C + s->O) * tw;
    size_t most = WINO_BLOCK_FLOATS / per_row, blocks;
    if (most < 1) most = 1;
    blocks = (rows + most - 1) / most; /* then rows shared evenly between the blocks */
    return (int)((rows + blocks - 1) / blocks);
}

/* The same for the input gradient's convolution (C and O swapped). */
size_t conv_wino_work_floats(const ConvShape *s) {
    return (size_t)36 * (s->C + s->O) * wino_block_rows(s) * ((s->W + 3) / 4);
}

static void wino_run(float *out, const float *inp, const float *U, const Epilogue *e, const ConvShape *s,
                     float *work) {
    WinoJob j = {s, (s->W + 3) / 4, (s->H + 3) / 4, 0, wino_block_rows(s), inp, U, NULL, NULL, out, e};
    int rows = s->N * j.th, rb = j.rb;
    j.V = work;
    j.M = work + (size_t)36 * s->C * rb * j.tw;
    for (j.r0 = 0; j.r0 < rows; j.r0 += rb) {
        j.rb = rows - j.r0 < rb ? rows - j.r0 : rb;
        eng_parallel_for((size_t)s->C * j.rb, 1, wino_input_range, &j);
        eng_parallel_for(36, 1, wino_gemm_range, &j);
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
