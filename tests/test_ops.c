/* test_ops.c - finite-difference gradient check of every op's backward, with
   respect to its inputs and its parameters, and the fast conv/linear against
   the double-accumulating reference path.

   Loss L = sum_i r_i out_i with fixed random r (computed in double), so
   dL/d(out) = r is the seed. For each probed element v: numeric derivative
   (L(v + e) - L(v - e)) / 2e with e = 1e-2, compared to the analytic one.
   Float32 forward error in L is about 1e-7 |L|, i.e. 1e-5 |L| after division
   by 2e; the bound 2e-3 * max(1, max |grad|) leaves a margin of ~100 over that.
   Kinks (ReLU near 0, max-pool windows whose top two values are within 2e)
   are skipped, as a finite difference across a kink measures nothing. */
#include "engine/engine.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/check.h"

#include <string.h>

#define EPS 1e-2f
#define TOL 2e-3

static EngRng rng;

static float *randv(size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = (float)(eng_rng_normal(&rng) * scale);
    return v;
}
static float *zeros(size_t n) { return calloc(n, sizeof(float)); }

/* An op under test: forward writes out; the harness owns r. */
typedef struct Case Case;
struct Case {
    void (*forward)(Case *c);
    float *out, *r;
    size_t n_out;
    /* generic slots */
    float *x, *x2, *w, *b, *g, *beta, *mean, *var;
    int N, C, H, W, k, stride, pad, Ho, Wo, O, K, C2;
    ConvShape cs;
    float *work;
    int (*kink)(Case *c, float *v, size_t i);
};

static double loss(Case *c) {
    c->forward(c);
    double L = 0;
    for (size_t i = 0; i < c->n_out; i++) L += (double)c->r[i] * c->out[i];
    return L;
}

/* Probes up to 40 elements of v (size n) against the analytic gradient. */
static void gradcheck(const char *name, Case *c, float *v, const float *grad, size_t n) {
    double gmax = 1, worst = 0;
    size_t wi = 0, probed = 0;
    for (size_t i = 0; i < n; i++) if (fabs(grad[i]) > gmax) gmax = fabs(grad[i]);
    for (int t = 0; t < 40 && t < (int)n * 2; t++) {
        size_t i = n <= 40 ? (size_t)t : eng_rng_below(&rng, (uint32_t)n);
        if (i >= n) break;
        if (c->kink && c->kink(c, v, i)) continue;
        float keep = v[i];
        v[i] = keep + EPS; double lp = loss(c);
        v[i] = keep - EPS; double lm = loss(c);
        v[i] = keep;
        double num = (lp - lm) / (2.0 * EPS), err = fabs(num - grad[i]);
        probed++;
        if (err > worst) { worst = err; wi = i; }
    }
    c->forward(c);
    char label[128];
    snprintf(label, sizeof label, "gradcheck %s", name);
    CHECK(probed > 0 && worst <= TOL * gmax, label, "worst |numeric - analytic| = %.3g at %zu (bound %.3g, %zu probed)",
          worst, wi, TOL * gmax, probed);
}

/* ---- conv2d ---- */
static void conv_fw(Case *c) { conv2d_forward(c->out, c->x, c->w, c->b, &c->cs, c->work); }

static void test_conv(int N, int C, int H, int W, int O, int k, int stride, int pad, int dil, int with_bias) {
    Case c = {0};
    c.forward = conv_fw;
    conv_shape_init(&c.cs, N, C, H, W, O, k, k, stride, pad, dil);
    size_t nin = (size_t)N * C * H * W, nw = (size_t)O * C * k * k;
    c.n_out = (size_t)N * O * c.cs.Ho * c.cs.Wo;
    c.x = randv(nin, 1); c.w = randv(nw, 0.3f); c.b = with_bias ? randv(O, 0.1f) : NULL;
    c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    c.work = malloc(sizeof(float) * conv2d_work_floats(&c.cs));
    float *dx = zeros(nin), *dw = zeros(nw), *db = zeros(O);
    conv2d_backward(dx, dw, with_bias ? db : NULL, c.r, c.x, c.w, &c.cs, c.work);
    char nm[128];
    snprintf(nm, sizeof nm, "conv2d N%d C%d %dx%d O%d k%d s%d p%d d%d input", N, C, H, W, O, k, stride, pad, dil);
    gradcheck(nm, &c, c.x, dx, nin);
    snprintf(nm, sizeof nm, "conv2d N%d k%d s%d p%d d%d weight", N, k, stride, pad, dil);
    gradcheck(nm, &c, c.w, dw, nw);
    if (with_bias) {
        snprintf(nm, sizeof nm, "conv2d N%d k%d bias", N, k);
        gradcheck(nm, &c, c.b, db, O);
    }
    /* fast path vs reference path, forward and backward */
    float *ref = zeros(c.n_out), *rdx = zeros(nin), *rdw = zeros(nw), *rdb = zeros(O);
    conv_fw(&c);
    conv2d_forward_ref(ref, c.x, c.w, c.b, &c.cs);
    conv2d_backward_ref(rdx, rdw, with_bias ? rdb : NULL, c.r, c.x, c.w, &c.cs);
    size_t wi;
    double e1 = check_max_rel(c.out, ref, c.n_out, &wi), e2 = check_max_rel(dx, rdx, nin, NULL),
           e3 = check_max_rel(dw, rdw, nw, NULL);
    snprintf(nm, sizeof nm, "conv2d N%d C%d k%d s%d p%d d%d fast == reference", N, C, k, stride, pad, dil);
    CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5, nm, "rel err out %.3g dx %.3g dw %.3g", e1, e2, e3);
    free(ref); free(rdx); free(rdw); free(rdb);
    free(c.x); free(c.w); free(c.b); free(c.out); free(c.r); free(c.work); free(dx); free(dw); free(db);
}

/* ---- batchnorm ---- */
static void bn_fw(Case *c) {
    batchnorm_forward(c->out, c->x, c->g, c->beta, c->mean, c->var, 1e-5f, c->N, c->C, c->H * c->W);
}

static void test_bn(void) {
    Case c = {0};
    c.forward = bn_fw; c.N = 2; c.C = 3; c.H = 4; c.W = 5;
    size_t n = 120;
    c.n_out = n; c.x = randv(n, 1); c.out = zeros(n); c.r = randv(n, 1);
    c.g = randv(3, 1); c.beta = randv(3, 1); c.mean = randv(3, 0.5f); c.var = malloc(sizeof(float) * 3);
    for (int i = 0; i < 3; i++) c.var[i] = 0.5f + eng_rng_uniformf(&rng);
    float *dx = zeros(n), *dg = zeros(3), *db = zeros(3);
    batchnorm_backward(dx, dg, db, c.r, c.x, c.g, c.mean, c.var, 1e-5f, 2, 3, 20);
    gradcheck("batchnorm2d input", &c, c.x, dx, n);
    gradcheck("batchnorm2d weight", &c, c.g, dg, 3);
    gradcheck("batchnorm2d bias", &c, c.beta, db, 3);
    free(c.x); free(c.out); free(c.r); free(c.g); free(c.beta); free(c.mean); free(c.var); free(dx); free(dg); free(db);
}

/* ---- relu ---- */
static void relu_fw(Case *c) { relu_forward(c->out, c->x, c->n_out); }
static int relu_kink(Case *c, float *v, size_t i) { return fabsf(v[i]) < 2 * EPS; }

static void test_relu(void) {
    Case c = {0};
    size_t n = 200;
    c.forward = relu_fw; c.kink = relu_kink; c.n_out = n;
    c.x = randv(n, 1); c.out = zeros(n); c.r = randv(n, 1);
    relu_fw(&c);
    float *dx = zeros(n);
    relu_backward(dx, c.r, c.out, n);
    gradcheck("relu input", &c, c.x, dx, n);
    free(c.x); free(c.out); free(c.r); free(dx);
}

/* ---- max-pool ---- */
static void mp_fw(Case *c) {
    maxpool_forward(c->out, NULL, c->x, c->N, c->C, c->H, c->W, c->k, c->stride, c->pad, c->Ho, c->Wo);
}
/* A point is a kink if it is within 2e of another value in any window holding it. */
static int mp_kink(Case *c, float *v, size_t i) {
    size_t plane = (size_t)c->H * c->W, base = i / plane * plane;
    int y = (int)(i % plane) / c->W, x = (int)(i % plane) % c->W;
    for (int dy = -c->k; dy <= c->k; dy++)
        for (int dx = -c->k; dx <= c->k; dx++) {
            int yy = y + dy, xx = x + dx;
            if ((dy || dx) && yy >= 0 && yy < c->H && xx >= 0 && xx < c->W &&
                fabsf(v[base + yy * c->W + xx] - v[i]) < 2 * EPS) return 1;
        }
    return 0;
}

static void test_maxpool(void) {
    Case c = {0};
    c.forward = mp_fw; c.kink = mp_kink;
    c.N = 2; c.C = 2; c.H = 9; c.W = 8; c.k = 3; c.stride = 2; c.pad = 1;
    c.Ho = (9 + 2 - 3) / 2 + 1; c.Wo = (8 + 2 - 3) / 2 + 1;
    size_t nin = 2 * 2 * 9 * 8;
    c.n_out = (size_t)2 * 2 * c.Ho * c.Wo;
    c.x = randv(nin, 1); c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    int32_t *am = malloc(sizeof(int32_t) * c.n_out);
    maxpool_forward(c.out, am, c.x, 2, 2, 9, 8, 3, 2, 1, c.Ho, c.Wo);
    float *dx = zeros(nin);
    maxpool_backward(dx, c.r, am, 2, 2, 9, 8, c.Ho, c.Wo);
    gradcheck("maxpool2d k3 s2 p1 input", &c, c.x, dx, nin);
    /* tie rule: the first maximum in window order gets the gradient */
    float tie[4] = {1, 1, 1, 1}, o, d[4] = {0};
    int32_t a;
    maxpool_forward(&o, &a, tie, 1, 1, 2, 2, 2, 2, 0, 1, 1);
    float one = 1;
    maxpool_backward(d, &one, &a, 1, 1, 2, 2, 1, 1);
    CHECK(a == 0 && d[0] == 1 && d[1] == 0, "maxpool2d tie goes to the first maximum", "argmax %d", a);
    /* NaN propagates, the first NaN in window order wins, inside the plane and at its border */
    float nan_in[16] = {0, 1, 2, 3, 4, NAN, 9, NAN, 8, 1, 1, 1, 1, 1, 1, 1}, nan_out[4];
    int32_t nan_am[4];
    maxpool_forward(nan_out, nan_am, nan_in, 1, 1, 4, 4, 3, 1, 0, 2, 2);
    CHECK(isnan(nan_out[0]) && nan_am[0] == 5 && isnan(nan_out[1]) && nan_am[1] == 5 && isnan(nan_out[3]) &&
          nan_am[3] == 5, "maxpool2d NaN propagates, first NaN in window order", "argmax %d %d %d", nan_am[0],
          nan_am[1], nan_am[3]);
    maxpool_forward(nan_out, nan_am, nan_in, 1, 1, 4, 4, 3, 2, 1, 2, 2);
    CHECK(isnan(nan_out[0]) && nan_am[0] == 5, "maxpool2d NaN at the padded border", "argmax %d", nan_am[0]);
    free(c.x); free(c.out); free(c.r); free(am); free(dx);
}

/* ---- avg pools ---- */
static void ap_fw(Case *c) {
    avgpool_forward(c->out, c->x, c->N, c->C, c->H, c->W, c->k, c->stride, c->pad, c->Ho, c->Wo);
}
static void aap_fw(Case *c) { adaptive_avgpool_forward(c->out, c->x, c->N, c->C, c->H, c->W, c->Ho, c->Wo); }

static void test_avgpools(void) {
    Case c = {0};
    c.forward = ap_fw; c.N = 2; c.C = 3; c.H = 7; c.W = 6; c.k = 3; c.stride = 2; c.pad = 1;
    c.Ho = (7 + 2 - 3) / 2 + 1; c.Wo = (6 + 2 - 3) / 2 + 1;
    size_t nin = 2 * 3 * 7 * 6;
    c.n_out = (size_t)6 * c.Ho * c.Wo;
    c.x = randv(nin, 1); c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    float *dx = zeros(nin);
    avgpool_backward(dx, c.r, 2, 3, 7, 6, 3, 2, 1, c.Ho, c.Wo);
    gradcheck("avgpool2d k3 s2 p1 input", &c, c.x, dx, nin);
    /* count_include_pad: corner output of a 2x2 ones image with pad 1, k 2 is 1/4 */
    float ones[4] = {1, 1, 1, 1}, o[4];
    avgpool_forward(o, ones, 1, 1, 2, 2, 2, 2, 1, 2, 2);
    CHECK(fabsf(o[0] - 0.25f) < 1e-7f, "avgpool2d counts padding in the divisor", "got %g", o[0]);
    free(c.out); free(c.r); free(dx);
    c.forward = aap_fw; c.Ho = 3; c.Wo = 4; /* 7x6 -> 3x4: overlapping windows */
    c.n_out = (size_t)6 * 12;
    c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    dx = zeros(nin);
    adaptive_avgpool_backward(dx, c.r, 2, 3, 7, 6, 3, 4);
    gradcheck("adaptive_avgpool2d 7x6->3x4 input", &c, c.x, dx, nin);
    free(c.x); free(c.out); free(c.r); free(dx);
}

/* ---- concat, add ---- */
static void cat_fw(Case *c) {
    const float *ins[2] = {c->x, c->x2};
    int cs[2] = {c->C, c->C2};
    concat_forward(c->out, ins, cs, 2, c->N, c->H * c->W);
}
static void add_fw(Case *c) { add_forward(c->out, c->x, c->x2, c->n_out); }

static void test_concat_add(void) {
    Case c = {0};
    c.forward = cat_fw; c.N = 2; c.C = 3; c.C2 = 2; c.H = 3; c.W = 3;
    size_t n1 = 2 * 3 * 9, n2 = 2 * 2 * 9;
    c.n_out = n1 + n2;
    c.x = randv(n1, 1); c.x2 = randv(n2, 1); c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    float *d1 = zeros(n1), *d2 = zeros(n2);
    float *ds[2] = {d1, d2};
    int cs[2] = {3, 2};
    concat_backward(ds, c.r, cs, 2, 2, 9);
    gradcheck("concat input 0", &c, c.x, d1, n1);
    gradcheck("concat input 1", &c, c.x2, d2, n2);
    free(c.x2); free(c.out); free(c.r); free(d1); free(d2);
    c.forward = add_fw; c.n_out = n1;
    c.x2 = randv(n1, 1); c.out = zeros(n1); c.r = randv(n1, 1);
    d1 = zeros(n1); d2 = zeros(n1);
    add_backward(d1, d2, c.r, n1);
    gradcheck("add input a", &c, c.x, d1, n1);
    gradcheck("add input b", &c, c.x2, d2, n1);
    free(c.x); free(c.x2); free(c.out); free(c.r); free(d1); free(d2);
}

/* ---- linear, softmax, log-softmax ---- */
static void lin_fw(Case *c) { linear_forward(c->out, c->x, c->w, c->b, c->N, c->K, c->O); }
static void sm_fw(Case *c) { softmax_forward(c->out, c->x, c->N, c->K); }
static void lsm_fw(Case *c) { log_softmax_forward(c->out, c->x, c->N, c->K); }

static void test_linear_softmax(void) {
    Case c = {0};
    c.forward = lin_fw; c.N = 3; c.K = 7; c.O = 5;
    c.x = randv(21, 1); c.w = randv(35, 0.5f); c.b = randv(5, 0.5f);
    c.n_out = 15; c.out = zeros(15); c.r = randv(15, 1);
    float *dx = zeros(21), *dw = zeros(35), *db = zeros(5);
    linear_backward(dx, dw, db, c.r, c.x, c.w, 3, 7, 5);
    gradcheck("linear input", &c, c.x, dx, 21);
    gradcheck("linear weight", &c, c.w, dw, 35);
    gradcheck("linear bias", &c, c.b, db, 5);
    float ref[15], rdx[21] = {0}, rdw[35] = {0}, rdb[5] = {0};
    linear_forward_ref(ref, c.x, c.w, c.b, 3, 7, 5);
    linear_backward_ref(rdx, rdw, rdb, c.r, c.x, c.w, 3, 7, 5);
    lin_fw(&c);
    double e = check_max_rel(c.out, ref, 15, NULL) + check_max_rel(dx, rdx, 21, NULL) + check_max_rel(dw, rdw, 35, NULL);
    CHECK(e < 1e-5, "linear fast == reference", "sum of rel errs %.3g", e);
    free(c.out); free(c.r); free(dx); free(dw); free(db); free(c.w); free(c.b);

    c.forward = sm_fw; c.K = 7; c.n_out = 21; c.out = zeros(21); c.r = randv(21, 1);
    sm_fw(&c);
    dx = zeros(21);
    softmax_backward(dx, c.r, c.out, 3, 7);
    gradcheck("softmax input", &c, c.x, dx, 21);
    free(dx);
    c.forward = lsm_fw;
    lsm_fw(&c);
    dx = zeros(21);
    log_softmax_backward(dx, c.r, c.out, 3, 7);
    gradcheck("log_softmax input", &c, c.x, dx, 21);
    free(dx); free(c.x); free(c.out); free(c.r);
}

/* The fused epilogue (forward-only runs) == conv bias, batchnorm_forward,
   add_forward, relu_forward one after the other, bit for bit, for every
   combination of steps, standalone and after a conv (both gemm paths). */
static void test_epilogue(void) {
    int N = 2, C = 3, O = 4, H = 15, W = 14;  /* P = 210: per-image pointwise gemm */
    size_t P = (size_t)H * W, n_out = (size_t)N * O * P;
    float *x = randv((size_t)N * C * P, 1), *w = randv((size_t)O * C, 1), *bias = randv(O, 1);
    float *g = randv(O, 1), *be = randv(O, 1), *mu = randv(O, 1), *var = randv(O, 1), *res = randv(n_out, 1);
    for (int o = 0; o < O; o++) var[o] = fabsf(var[o]) + 0.1f;
    float a[4], b[4], *ref = zeros(n_out), *got = zeros(n_out), *tmp = zeros(n_out);
    batchnorm_coeffs(a, b, g, be, mu, var, 1e-5f, O);
    ConvShape cs;
    conv_shape_init(&cs, N, C, H, W, O, 1, 1, 1, 0, 1);
    float *work = zeros(conv2d_work_floats(&cs));
    int bad = 0;
    for (int f = 0; f < 16; f++) {
        int has_bias = f & 8, has_bn = f & 4, has_res = f & 2, relu = f & 1;
        conv2d_forward(ref, x, w, has_bias ? bias : NULL, &cs, work);
        if (has_bn) { batchnorm_forward(tmp, ref, g, be, mu, var, 1e-5f, N, O, (int)P); memcpy(ref, tmp, n_out * 4); }
        if (has_res) { add_forward(tmp, ref, res, n_out); memcpy(ref, tmp, n_out * 4); }
        if (relu) { relu_forward(tmp, ref, n_out); memcpy(ref, tmp, n_out * 4); }
        Epilogue e = {has_bias ? bias : NULL, has_bn ? a : NULL, has_bn ? b : NULL, has_res ? res : NULL, relu};
        conv2d_forward_fused(got, x, w, &e, &cs, work);
        bad += memcmp(got, ref, n_out * 4) != 0;
        if (has_bias) continue;  /* a standalone epilogue starts from the conv's output */
        conv2d_forward(tmp, x, w, NULL, &cs, work);
        epilogue_forward(tmp, tmp, &e, N, O, P);
        bad += memcmp(tmp, ref, n_out * 4) != 0;
    }
    CHECK(bad == 0, "fused epilogue == bias, batchnorm, add, relu one by one (16 combinations)", "%d differ", bad);
    free(x); free(w); free(bias); free(g); free(be); free(mu); free(var); free(res);
    free(ref); free(got); free(tmp); free(work);
}

/* Convolutions split work by image groups and gemm bands chosen from the
   shape alone; the thread count only decides who runs which part. Forward
   (with a fused epilogue) and input gradient, with and without the weight
   gradient, on 1, 2 and 3 threads: the same bits. Shapes cover image groups
   on threads, gathered small planes, and one image with its gemm in row or
   column bands. */
static void conv_thread_case(int N, int C, int H, int W, int O, int k, int stride, int pad, int *bad) {
    ConvShape cs;
    conv_shape_init(&cs, N, C, H, W, O, k, k, stride, pad, 1);
    size_t nin = (size_t)N * C * H * W, nw = (size_t)O * C * k * k, nout = (size_t)N * O * cs.Ho * cs.Wo;
    float *x = randv(nin, 1), *w = randv(nw, 0.1f), *res = randv(nout, 1), *scale = randv(O, 1), *shift = randv(O, 1);
    float *dy = randv(nout, 1), *out[3], *dx[3], *dxw = zeros(nin), *dw = zeros(nw);
    Epilogue e = {NULL, scale, shift, res, 1};
    for (int t = 0; t < 3; t++) {
        eng_set_threads(t + 1);
        float *work = malloc(sizeof(float) * conv2d_work_floats(&cs));
        out[t] = zeros(nout); dx[t] = zeros(nin);
        conv2d_forward_fused(out[t], x, w, &e, &cs, work);
        conv2d_backward(dx[t], NULL, NULL, dy, x, w, &cs, work);
        if (t == 1) conv2d_backward(dxw, dw, NULL, dy, x, w, &cs, work);
        free(work);
    }
    for (int t = 1; t < 3; t++)
        *bad += memcmp(out[t], out[0], nout * 4) != 0 || memcmp(dx[t], dx[0], nin * 4) != 0;
    *bad += memcmp(dxw, dx[0], nin * 4) != 0;
    eng_set_threads(0);
    for (int t = 0; t < 3; t++) { free(out[t]); free(dx[t]); }
    free(x); free(w); free(res); free(scale); free(shift); free(dy); free(dxw); free(dw);
}

static void test_conv_threads(void) {
    int bad = 0;
    conv_thread_case(3, 16, 20, 20, 24, 3, 1, 1, &bad);   /* three single-image groups */
    conv_thread_case(5, 32, 7, 7, 32, 3, 1, 1, &bad);     /* gathered groups of 2 images (7x7) */
    conv_thread_case(4, 64, 14, 14, 128, 1, 1, 0, &bad);  /* pointwise, one gemm per image */
    conv_thread_case(1, 64, 16, 16, 128, 3, 1, 1, &bad);  /* one image, gemm in row bands */
    conv_thread_case(1, 32, 32, 32, 32, 3, 1, 1, &bad);   /* one image, gemm in column bands */
    conv_thread_case(2, 8, 33, 31, 16, 7, 2, 3, &bad);    /* stem-like, stride 2 */
    conv_thread_case(1, 32, 17, 51, 38, 1, 1, 0, &bad);   /* a size where OpenBLAS's bits depend on the split */
    conv_thread_case(4, 128, 14, 14, 32, 3, 1, 1, &bad);  /* densenet's 3x3: input gradient as a conv, groups */
    conv_thread_case(1, 128, 28, 28, 32, 3, 1, 1, &bad);  /* ... one image, banded gemm */
    CHECK(bad == 0, "conv forward and input gradient: 1, 2, 3 threads and with/without weight gradient give the same bits",
          "%d of 27 comparisons differ", bad);
    /* the reference path, split over output planes, too */
    ConvShape cs;
    conv_shape_init(&cs, 2, 8, 13, 11, 6, 3, 3, 2, 1, 1);
    size_t nx = (size_t)2 * 8 * 13 * 11, ny = (size_t)2 * 6 * cs.Ho * cs.Wo;
    float *x = randv(nx, 1), *w = randv(6 * 8 * 9, 0.3f), *dy = randv(ny, 1), *y[2], *dx[2];
    int refbad = 0;
    for (int t = 0; t < 2; t++) {
        eng_set_threads(t ? 3 : 1);
        y[t] = zeros(ny); dx[t] = zeros(nx);
        conv2d_forward_ref(y[t], x, w, NULL, &cs);
        conv2d_backward_ref(dx[t], NULL, NULL, dy, x, w, &cs);
    }
    eng_set_threads(0);
    refbad = memcmp(y[0], y[1], sizeof(float) * ny) != 0 || memcmp(dx[0], dx[1], sizeof(float) * nx) != 0;
    CHECK(!refbad, "reference conv forward and input gradient: 1 and 3 threads give the same bits", "they differ");
    for (int t = 0; t < 2; t++) { free(y[t]); free(dx[t]); }
    free(x); free(w); free(dy);
}

/* Winograd F(2x2,3x3) (engine/winograd.c), called directly on any shape
   (the fast path itself takes it only where conv_wino_ok says it pays):
   forward and input gradient against the double-accumulating reference,
   within 1e-5 of the output's magnitude as the im2col path (measured on
   these cases: below 1e-6, as im2col's); the input gradient accumulates
   (+=) into what dinp held; the epilogue fused == applied after; 1, 2 and 3
   threads give the same bits, with a batch split into several tile blocks.
   Sizes not multiples of 4 cover the cropped edge tiles. */
#define WINO_TOL 1e-5

static void wino_case(int N, int C, int H, int W, int O, int check_ref, int *bad_bits) {
    ConvShape cs;
    conv_shape_init(&cs, N, C, H, W, O, 3, 3, 1, 1, 1);
    size_t nin = (size_t)N * C * H * W, nout = (size_t)N * O * H * W, nw = (size_t)O * C * 9;
    float *x = randv(nin, 1), *w = randv(nw, 0.3f), *dy = randv(nout, 1), *bias = randv(O, 1);
    float *scale = randv(O, 1), *shift = randv(O, 1), *res = randv(nout, 1);
    float *U = malloc(sizeof(float) * conv_wino_weights_floats(&cs)), *Ut = malloc(sizeof(float) * conv_wino_weights_floats(&cs));
    float *work = malloc(sizeof(float) * conv_wino_work_floats(&cs));
    conv_wino_weights(U, w, &cs, 0);
    conv_wino_weights(Ut, w, &cs, 1);
    char nm[160];
    if (check_ref) {
        float *out = zeros(nout), *ref = zeros(nout), *dx = randv(nin, 1), *rdx = zeros(nin);
        memcpy(rdx, dx, sizeof(float) * nin);
        Epilogue e = {.bias = bias};
        conv_wino_forward(out, x, U, &e, &cs, work);
        conv2d_forward_ref(ref, x, w, bias, &cs);
        conv_wino_input_grad(dx, dy, Ut, &cs, work);
        conv2d_backward_ref(rdx, NULL, NULL, dy, x, w, &cs);
        double e1 = check_max_rel(out, ref, nout, NULL), e2 = check_max_rel(dx, rdx, nin, NULL);
        snprintf(nm, sizeof nm, "Winograd conv N%d C%d %dx%d O%d forward and input gradient (+=) == reference", N, C, H, W, O);
        CHECK(e1 <= WINO_TOL && e2 <= WINO_TOL, nm, "rel err out %.3g dx %.3g (bar %.0e)", e1, e2, WINO_TOL);
        printf("    rel err forward %.2e, input gradient %.2e\n", e1, e2);
        /* fused epilogue == the same steps after the plain result */
        Epilogue full = {NULL, scale, shift, res, 1}, none = {0};
        conv_wino_forward(out, x, U, &full, &cs, work);
        conv_wino_forward(ref, x, U, &none, &cs, work);
        epilogue_forward(ref, ref, &full, N, O, (size_t)H * W);
        snprintf(nm, sizeof nm, "Winograd conv N%d C%d %dx%d O%d fused epilogue == applied after", N, C, H, W, O);
        CHECK(!memcmp(out, ref, sizeof(float) * nout), nm, "they differ");
        free(out); free(ref); free(dx); free(rdx);
    }
    float *out[3], *dx[3];
    Epilogue e = {NULL, scale, shift, res, 1};
    for (int t = 0; t < 3; t++) {
        eng_set_threads(t + 1);
        out[t] = zeros(nout); dx[t] = zeros(nin);
        conv_wino_forward(out[t], x, U, &e, &cs, work);
        conv_wino_input_grad(dx[t], dy, Ut, &cs, work);
    }
    eng_set_threads(0);
    for (int t = 1; t < 3; t++)
        *bad_bits += memcmp(out[t], out[0], nout * 4) != 0 || memcmp(dx[t], dx[0], nin * 4) != 0;
    for (int t = 0; t < 3; t++) { free(out[t]); free(dx[t]); }
    free(x); free(w); free(dy); free(bias); free(scale); free(shift); free(res); free(U); free(Ut); free(work);
}

static void wino_fw(Case *c) {
    Epilogue e = {0};
    conv_wino_forward(c->out, c->x, c->g, &e, &c->cs, c->work);
}

/* Finite differences of the Winograd forward against its input gradient. */
static void test_wino_gradcheck(void) {
    Case c = {0};
    c.forward = wino_fw;
    conv_shape_init(&c.cs, 2, 3, 10, 9, 4, 3, 3, 1, 1, 1);
    size_t nin = (size_t)2 * 3 * 10 * 9, nw = (size_t)4 * 3 * 9;
    c.n_out = (size_t)2 * 4 * 10 * 9;
    c.x = randv(nin, 1); c.w = randv(nw, 0.3f);
    c.out = zeros(c.n_out); c.r = randv(c.n_out, 1);
    c.work = malloc(sizeof(float) * conv_wino_work_floats(&c.cs));
    c.g = malloc(sizeof(float) * conv_wino_weights_floats(&c.cs));
    float *Ut = malloc(sizeof(float) * conv_wino_weights_floats(&c.cs)), *dx = zeros(nin);
    conv_wino_weights(c.g, c.w, &c.cs, 0);
    conv_wino_weights(Ut, c.w, &c.cs, 1);
    conv_wino_input_grad(dx, c.r, Ut, &c.cs, c.work);
    gradcheck("Winograd conv N2 C3 10x9 O4 input", &c, c.x, dx, nin);
    free(c.x); free(c.w); free(c.out); free(c.r); free(c.work); free(c.g); free(Ut); free(dx);
}

static void test_winograd(void) {
    int bad = 0;
    test_wino_gradcheck();
    wino_case(2, 5, 13, 11, 7, 1, &bad);    /* odd sizes: cropped edge tiles */
    wino_case(1, 3, 4, 4, 2, 1, &bad);      /* one tile */
    wino_case(3, 8, 9, 17, 6, 1, &bad);
    wino_case(1, 64, 28, 28, 64, 1, &bad);  /* resnet's layer2 plane, in the fast path's range */
    wino_case(2, 16, 6, 130, 4, 1, &bad);   /* rows of more than one segment (65 tiles) */
    wino_case(4, 64, 56, 56, 64, 0, &bad);  /* resnet's layer1 at batch 4: several tile blocks */
    CHECK(bad == 0, "Winograd conv forward and input gradient: 1, 2, 3 threads give the same bits",
          "%d of 12 comparisons differ", bad);
    ConvShape r50_l1, d121_b1, d121_b2;
    conv_shape_init(&r50_l1, 4, 64, 56, 56, 64, 3, 3, 1, 1, 1);
    conv_shape_init(&d121_b1, 4, 128, 56, 56, 32, 3, 3, 1, 1, 1);
    conv_shape_init(&d121_b2, 4, 128, 28, 28, 32, 3, 3, 1, 1, 1);
    CHECK(conv_wino_ok(&r50_l1, 0) && conv_wino_ok(&r50_l1, 1) && conv_wino_ok(&d121_b1, 0) &&
          !conv_wino_ok(&d121_b1, 1) && !conv_wino_ok(&d121_b2, 0),
          "conv_wino_ok: resnet layer1 both ways, densenet's 3x3 forward only on 56x56", "rule changed");
}

/* probs_topk: descending, the lower index first among equal values. */
static void test_topk(void) {
    const float p[6] = {0.1f, 0.3f, 0.05f, 0.3f, 0.2f, 0.05f};
    int idx[6];
    int ok = !probs_topk(p, 6, 6, idx) && idx[0] == 1 && idx[1] == 3 && idx[2] == 4 && idx[3] == 0 && idx[4] == 2 && idx[5] == 5;
    CHECK(ok, "probs_topk orders all six, ties by index", "%d %d %d %d %d %d", idx[0], idx[1], idx[2], idx[3], idx[4], idx[5]);
    ok = !probs_topk(p, 6, 2, idx) && idx[0] == 1 && idx[1] == 3;
    CHECK(ok, "probs_topk: the two largest", "%d %d", idx[0], idx[1]);
}

int main(void) {
    test_topk();
    eng_rng_seed(&rng, 20261126);
    test_conv(2, 3, 15, 14, 4, 1, 1, 0, 1, 1); /* pointwise, one gemm per image (plane >= 14x14) */
    test_epilogue();
    test_conv(2, 3, 9, 8, 4, 3, 1, 1, 1, 1);
    test_conv(2, 3, 11, 10, 4, 3, 2, 1, 2, 0);  /* stride 2, dilation 2 */
    test_conv(3, 5, 6, 6, 4, 1, 1, 0, 1, 1);    /* pointwise, batched gemm */
    test_conv(1, 5, 6, 6, 4, 1, 1, 0, 1, 0);    /* pointwise, one image */
    test_conv(2, 2, 13, 13, 3, 7, 2, 3, 1, 0);  /* ResNet's stem */
    test_conv(2, 8, 9, 8, 3, 3, 1, 1, 1, 1);    /* outputs <= inputs / 2: input gradient as a conv */
    test_conv(3, 6, 10, 9, 2, 5, 1, 0, 1, 0);   /* the same, 5x5 unpadded (padding 4 the other way) */
    test_conv(2, 4, 8, 8, 6, 1, 2, 0, 1, 0);    /* ResNet's strided downsample */
    test_bn();
    test_relu();
    test_maxpool();
    test_avgpools();
    test_concat_add();
    test_linear_softmax();
    test_conv_threads();
    test_winograd();
    CHECK_DONE();
}
