/* ops_ref.c - the reference path: convolution and linear layers as plain
   loops accumulating in double, no BLAS. Slow and obviously right; the fast
   path is tested against it and `--reference` runs whole models on it. */
#include "engine/ops.h"
#include "engine/parallel.h"

/* The loops below run on the engine's threads, split over output planes:
   each output is still one sum in one order, so the bits do not depend on
   the thread count. */
typedef struct {
    float *out, *dinp;
    const float *inp, *weight, *bias, *dout;
    const ConvShape *s;
} RefJob;

static void conv_forward_planes(void *ctx, size_t lo, size_t hi) {
    const RefJob *j = ctx;
    const ConvShape *s = j->s;
    for (size_t q = lo; q < hi; q++) {
        int n = (int)(q / s->O), o = (int)(q % s->O);
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                double acc = j->bias ? j->bias[o] : 0.0;
                for (int c = 0; c < s->C; c++)
                    for (int ki = 0; ki < s->kh; ki++) {
                        int iy = oy * s->stride - s->pad + ki * s->dilation;
                        if (iy < 0 || iy >= s->H) continue;
                        for (int kj = 0; kj < s->kw; kj++) {
                            int ix = ox * s->stride - s->pad + kj * s->dilation;
                            if (ix < 0 || ix >= s->W) continue;
                            acc += (double)j->inp[(((size_t)n * s->C + c) * s->H + iy) * s->W + ix] *
                                   j->weight[(((size_t)o * s->C + c) * s->kh + ki) * s->kw + kj];
                        }
                    }
                j->out[(((size_t)n * s->O + o) * s->Ho + oy) * s->Wo + ox] = (float)acc;
            }
    }
}

void conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        const ConvShape *s) {
    RefJob j = {out, NULL, inp, weight, bias, NULL, s};
    eng_parallel_for((size_t)s->N * s->O, 1, conv_forward_planes, &j);
}

static void conv_input_grad_planes(void *ctx, size_t lo, size_t hi) {
    const RefJob *j = ctx;
    const ConvShape *s = j->s;
    for (size_t q = lo; q < hi; q++) {
        int n = (int)(q / s->C), c = (int)(q % s->C);
        for (int iy = 0; iy < s->H; iy++)
            for (int ix = 0; ix < s->W; ix++) {
                double acc = 0;
                for (int o = 0; o < s->O; o++)
                    for (int ki = 0; ki < s->kh; ki++) {
                        int ty = iy + s->pad - ki * s->dilation;
                        if (ty < 0 || ty % s->stride) continue;
                        int oy = ty / s->stride;
                        if (oy >= s->Ho) continue;
                        for (int kj = 0; kj < s->kw; kj++) {
                            int tx = ix + s->pad - kj * s->dilation;
                            if (tx < 0 || tx % s->stride) continue;
                            int ox = tx / s->stride;
                            if (ox >= s->Wo) continue;
                            acc += (double)j->dout[(((size_t)n * s->O + o) * s->Ho + oy) * s->Wo + ox] *
                                   j->weight[(((size_t)o * s->C + c) * s->kh + ki) * s->kw + kj];
                        }
                    }
                j->dinp[(((size_t)n * s->C + c) * s->H + iy) * s->W + ix] += (float)acc;
            }
    }
}

/* Input gradient gathered per input element (double accumulation), weight
   gradient per weight element. */
void conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, const ConvShape *s) {
    if (dinp) {
        RefJob j = {NULL, dinp, NULL, weight, NULL, dout, s};
        eng_parallel_for((size_t)s->N * s->C, 1, conv_input_grad_planes, &j);
    }
    if (dweight)
        for (int o = 0; o < s->O; o++)
            for (int c = 0; c < s->C; c++)
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++) {
                        double acc = 0;
                        for (int n = 0; n < s->N; n++)
                            for (int oy = 0; oy < s->Ho; oy++) {
                                int iy = oy * s->stride - s->pad + ki * s->dilation;
                                if (iy < 0 || iy >= s->H) continue;
                                for (int ox = 0; ox < s->Wo; ox++) {
                                    int ix = ox * s->stride - s->pad + kj * s->dilation;
                                    if (ix < 0 || ix >= s->W) continue;
                                    acc += (double)dout[(((size_t)n * s->O + o) * s->Ho + oy) * s->Wo + ox] *
                                           inp[(((size_t)n * s->C + c) * s->H + iy) * s->W + ix];
                                }
                            }
                        dweight[(((size_t)o * s->C + c) * s->kh + ki) * s->kw + kj] += (float)acc;
                    }
    if (dbias)
        for (int o = 0; o < s->O; o++) {
            double acc = 0;
            for (int n = 0; n < s->N; n++)
                for (int p = 0; p < s->Ho * s->Wo; p++) acc += dout[((size_t)n * s->O + o) * s->Ho * s->Wo + p];
            dbias[o] += (float)acc;
        }
}

void linear_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        int N, int In, int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int i = 0; i < In; i++) acc += (double)inp[(size_t)n * In + i] * weight[(size_t)o * In + i];
            out[(size_t)n * O + o] = (float)acc;
        }
}

void linear_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int In, int O) {
    for (int n = 0; n < N && dinp; n++)
        for (int i = 0; i < In; i++) {
            double acc = 0;
            for (int o = 0; o < O; o++) acc += (double)dout[(size_t)n * O + o] * weight[(size_t)o * In + i];
            dinp[(size_t)n * In + i] += (float)acc;
        }
    for (int o = 0; o < O && dweight; o++)
        for (int i = 0; i < In; i++) {
            double acc = 0;
            for (int n = 0; n < N; n++) acc += (double)dout[(size_t)n * O + o] * inp[(size_t)n * In + i];
            dweight[(size_t)o * In + i] += (float)acc;
        }
    for (int o = 0; o < O && dbias; o++) {
        double acc = 0;
        for (int n = 0; n < N; n++) acc += dout[(size_t)n * O + o];
        dbias[o] += (float)acc;
    }
}
