/* cam.c - the CAM family's shared steps, mirroring jacobgil/pytorch-grad-cam
   (commit 084273b; base_cam.py BaseCAM, utils/image.py scale_cam_image,
   utils/svd_on_activations.py get_2d_projection).

   Which tensors pytorch-grad-cam really uses. ActivationsAndGradients keeps
   the hooked layer's output as `output.cpu().detach()`, which on CPU shares
   the tensor's storage, and registers its gradient hook on that output
   tensor. torchvision applies every ReLU in place (nn.ReLU(inplace=True);
   DenseNet's forward does F.relu(features, inplace=True) right after
   features.norm5). So for a batchnorm layer read by a ReLU the stored
   "activation" is the POST-ReLU tensor, while the gradient is that of the
   PRE-ReLU batchnorm output. tools/make_attrib_golden_cam.py checks both
   facts on densenet121's features.norm5 against an independent clone-hook
   run (meta.json "norm5_facts"). The engine exposes features.norm5 as the
   batchnorm output and the next node `relu` as its ReLU; here, for such a
   layer, A = max(norm5 output, 0) and G = the engine's gradient of the
   norm5 node (the pre-ReLU gradient): exactly the reference's pair. Not
   emulated: ResNet's `*.bn2` inside a block, where torchvision's in-place
   `out += identity` and ReLU would also overwrite the stored tensor; there
   A is the batchnorm output itself.

   Post-processing (BaseCAM.compute_cam_per_layer, aggregate_multi_layers,
   one layer): ReLU; scale_cam_image with the input size: min-max with 1e-7
   at layer resolution, then cv2.resize INTER_LINEAR (half-pixel centres);
   ReLU; scale_cam_image again (min-max, 1e-7). Weighted sums and the eigen
   projection are computed in double (the reference: float32), so results
   differ from it by float32 rounding only. */
#include "attrib/cam.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A batchnorm node that some ReLU node reads (torchvision: in place). */
static int read_by_inplace_relu(const EngModel *m, int node) {
    if (eng_model_node(m, node)->op != ENG_OP_BATCHNORM2D) return 0;
    for (int i = node + 1; i < eng_model_n_nodes(m); i++) {
        const EngNode *nd = eng_model_node(m, i);
        if (nd->op == ENG_OP_RELU && nd->n_in == 1 && nd->in[0] == node) return 1;
    }
    return 0;
}

/* The layer's activations and, per target, gradients from one forward. */
typedef struct {
    CamLayer L;          /* grad NULL here: each target's CamLayer points at grads[t] */
    float **grads;       /* n arrays, or NULL for gradient-free methods */
    int n;
} CamShared;

static void cam_shared_close(CamShared *S) {
    free(S->L.act);
    for (int t = 0; S->grads && t < S->n; t++) free(S->grads[t]);
    free(S->grads);
    memset(S, 0, sizeof *S);
}

/* One forward of P->x (+ one backward per target if with_grad): A of the
   layer (ReLU applied for an in-place-ReLU batchnorm) and G per target. */
static int cam_shared_open(AttribParams *P, AttribResult *R, CamShared *S, const int *targets, int n, int with_grad) {
    memset(S, 0, sizeof *S);
    CamLayer *L = &S->L;
    L->layer = P->layer && P->layer[0] ? P->layer : attrib_default_layer(P->model);
    L->node = eng_model_node_find(P->model, L->layer);
    if (L->node < 0) {
        return eng_fail("no layer named '%s' in %s (see `salient layers`)", L->layer, eng_model_arch(P->model));
    }
    S->n = n;
    if (with_grad && !(S->grads = calloc(n, sizeof(float *)))) return eng_fail("out of memory");
    if (attrib_layer_act_grads(P, R, L->layer, targets, n, &L->act, S->grads, &L->K, &L->h, &L->w)) {
        free(S->grads); S->grads = NULL;
        return -1;
    }
    L->relu_inplace = read_by_inplace_relu(P->model, L->node);
    if (L->relu_inplace) {
        size_t numel = (size_t)L->K * L->h * L->w;
        for (size_t i = 0; i < numel; i++) if (L->act[i] < 0) L->act[i] = 0;
    }
    return 0;
}

void cam_weighted_sum(float *cam, const float *wk, const float *act, int K, int h, int w) {
    size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += (double)wk[k] * act[(size_t)k * hw + i];
        cam[i] = (float)s;
    }
}

static void relu_inplace(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) if (!(v[i] > 0)) v[i] = 0; /* NaN -> 0 as well */
}

void cam_finish(float *map, int H, int W, float *cam, int h, int w) {
    relu_inplace(cam, (size_t)h * w);
    minmax_scale(cam, (size_t)h * w, 1e-7);
    resize_bilinear_half_pixel(map, H, W, cam, h, w);
    relu_inplace(map, (size_t)H * W);
    minmax_scale(map, (size_t)H * W, 1e-7);
}

/* ---- eigen projection ---- */

/* Cyclic Jacobi for a symmetric matrix (Golub & Van Loan, Matrix
   Computations, 4th ed., alg. 8.5.3 with the rotation of 8.5.2): sweeps of
   plane rotations, each zeroing one off-diagonal pair, until the squared
   off-diagonal norm is below 1e-30 of the squared Frobenius norm (at most 64
   sweeps; convergence is quadratic, typically 6-10). a (n,n) ends diagonal
   (the eigenvalues), v (n,n) holds the eigenvectors in its columns.
   Cost O(n^3) per sweep. */
static void jacobi_eigen(double *a, double *v, int n) {
    double fro = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) { v[i] = 0; fro += a[i] * a[i]; }
    for (int i = 0; i < n; i++) v[(size_t)i * n + i] = 1;
    for (int sweep = 0; sweep < 64; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++) if (p != q) off += a[(size_t)p * n + q] * a[(size_t)p * n + q];
        if (off <= 1e-30 * fro) break;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[(size_t)p * n + q];
                if (apq == 0) continue;
                double theta = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* A J: columns p, q */
                    double akp = a[(size_t)k * n + p], akq = a[(size_t)k * n + q];
                    a[(size_t)k * n + p] = c * akp - s * akq;
                    a[(size_t)k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* J^T (A J): rows p, q */
                    double apk = a[(size_t)p * n + k], aqk = a[(size_t)q * n + k];
                    a[(size_t)p * n + k] = c * apk - s * aqk;
                    a[(size_t)q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) { /* V J */
                    double vkp = v[(size_t)k * n + p], vkq = v[(size_t)k * n + q];
                    v[(size_t)k * n + p] = c * vkp - s * vkq;
                    v[(size_t)k * n + q] = s * vkp + c * vkq;
                }
            }
    }
}

/* The centred (hw, K) matrix of m (K,h,w): x[i*K + k], NaN read as 0. */
static double *centred_matrix(const float *m, int K, size_t hw) {
    double *x = malloc(sizeof(double) * hw * K);
    if (!x) return NULL;
    for (int k = 0; k < K; k++) {
        double mean = 0;
        for (size_t i = 0; i < hw; i++) {
            float v = m[(size_t)k * hw + i];
            x[i * K + k] = v == v ? v : 0;
            mean += x[i * K + k];
        }
        mean /= (double)hw;
        for (size_t i = 0; i < hw; i++) x[i * K + k] -= mean;
    }
    return x;
}

/* proj (hw) = X v1 for the top right singular vector v1 of X (hw, K), via
   the smaller Gram matrix: X X^T u = s^2 u gives X v1 = s u; X^T X v = s^2 v
   gives X v1 = X v. */
static int top_projection(double *proj, const double *x, size_t hw, int K) {
    int n = hw <= (size_t)K ? (int)hw : K, small_rows = hw <= (size_t)K;
    double *g = malloc(sizeof(double) * n * n), *v = malloc(sizeof(double) * n * n);
    if (!g || !v) { free(g); free(v); return -1; }
    for (int a = 0; a < n; a++)
        for (int b = a; b < n; b++) {
            double s = 0;
            if (small_rows) for (int k = 0; k < K; k++) s += x[(size_t)a * K + k] * x[(size_t)b * K + k];
            else for (size_t i = 0; i < hw; i++) s += x[i * K + a] * x[i * K + b];
            g[(size_t)a * n + b] = g[(size_t)b * n + a] = s;
        }
    jacobi_eigen(g, v, n);
    int top = 0;
    for (int i = 1; i < n; i++) if (g[(size_t)i * n + i] > g[(size_t)top * n + top]) top = i;
    double lambda = g[(size_t)top * n + top];
    for (size_t i = 0; i < hw; i++) {
        if (small_rows) proj[i] = sqrt(lambda > 0 ? lambda : 0) * v[i * n + top];
        else {
            double s = 0;
            for (int k = 0; k < K; k++) s += x[i * K + k] * v[(size_t)k * n + top];
            proj[i] = s;
        }
    }
    free(g); free(v);
    return 0;
}

int cam_eigen_projection(float *proj, const float *m, int K, int h, int w) {
    size_t hw = (size_t)h * w;
    double *x = centred_matrix(m, K, hw), *p = malloc(sizeof(double) * hw);
    if (!x || !p || top_projection(p, x, hw, K)) { free(x); free(p); return -1; }
    double lo = p[0], hi = p[0];
    for (size_t i = 1; i < hw; i++) { if (p[i] < lo) lo = p[i]; if (p[i] > hi) hi = p[i]; }
    int flip = fabs(lo) > fabs(hi);
    for (size_t i = 0; i < hw; i++) proj[i] = (float)(flip ? -p[i] : p[i]);
    free(x); free(p);
    return flip;
}

/* ---- narration, notes, the runner ---- */

void cam_note(AttribResult *R, const char *fmt, ...) {
    size_t used = strlen(R->notes);
    if (used + 3 >= sizeof R->notes) return;
    if (used) { memcpy(R->notes + used, "; ", 3); used += 2; }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->notes + used, sizeof R->notes - used, fmt, ap);
    va_end(ap);
}

void cam_narrate_top(FILE *f, const char *what, const float *wk, int K, int n) {
    if (!f) return;
    fprintf(f, "  %s, top %d:", what, n < K ? n : K);
    unsigned char *used = calloc(K, 1);
    if (!used) return;
    for (int j = 0; j < n && j < K; j++) {
        int best = -1;
        for (int k = 0; k < K; k++) if (!used[k] && (best < 0 || wk[k] > wk[best])) best = k;
        used[best] = 1;
        fprintf(f, " k=%d %.4g", best, wk[best]);
    }
    fprintf(f, "\n");
    free(used);
}

static void narrate_cam(FILE *f, const float *cam, int h, int w, int H, int W) {
    size_t n = (size_t)h * w, pos = 0;
    float lo = cam[0], hi = cam[0];
    for (size_t i = 0; i < n; i++) { if (cam[i] < lo) lo = cam[i]; if (cam[i] > hi) hi = cam[i]; pos += cam[i] > 0; }
    fprintf(f, "  cam at layer resolution %dx%d: range [%.4g, %.4g], %zu of %zu cells positive\n",
            h, w, lo, hi, pos, n);
    fprintf(f, "  map: ReLU, min-max, bilinear resize (half-pixel) %dx%d -> %dx%d, ReLU, min-max (pytorch-grad-cam)\n",
            h, w, H, W);
}

static int check_params(const AttribParams *P, const char *name) {
    if (!P->model || !P->x || P->H < 1 || P->W < 1) return eng_fail("%s: no model or image", name);
    if (P->target < 0 || P->target >= eng_model_n_classes(P->model)) {
        return eng_fail("%s: target class %d outside 0..%d", name, P->target, eng_model_n_classes(P->model) - 1);
    }
    return 0;
}

static void layer_notes(AttribResult *R, const CamLayer *L) {
    snprintf(R->notes, sizeof R->notes, "layer %s (%dx%dx%d)%s", L->layer, L->K, L->h, L->w,
             L->relu_inplace ? "; activation = its ReLU (torchvision's in-place ReLU, as pytorch-grad-cam reads it),"
                               " gradient of the pre-ReLU output" : "");
}

/* cam (h,w) from the method's weights or image function. */
static int method_cam(AttribParams *P, AttribResult *R, const CamMethod *M, const CamLayer *L, float *cam) {
    if (M->image) return M->image(P, R, L, cam);
    float *wk = malloc(sizeof(float) * L->K);
    if (!wk) return eng_fail("%s: out of memory", M->name);
    int rc = M->weights(P, R, L, wk);
    if (!rc) {
        cam_weighted_sum(cam, wk, L->act, L->K, L->h, L->w);
        cam_narrate_top(P->narrate, "channel weights w_k", wk, L->K, 5);
    }
    free(wk);
    return rc;
}

/* R's map for P->target from the layer L (its act, and its grad for P->target). */
static int cam_map(AttribParams *P, AttribResult *R, const CamMethod *M, const CamLayer *L) {
    layer_notes(R, L);
    if (P->narrate)
        fprintf(P->narrate, "%s: layer %s, A (%d,%d,%d)%s, target class %d\n", M->name, L->layer, L->K, L->h, L->w,
                L->relu_inplace ? " = ReLU of the layer (torchvision's in-place ReLU)" : "", P->target);
    float *cam = malloc(sizeof(float) * L->h * L->w);
    int rc = cam ? method_cam(P, R, M, L, cam) : -1;
    if (!cam) eng_set_error("%s: out of memory", M->name);
    if (!rc) {
        if (P->narrate) narrate_cam(P->narrate, cam, L->h, L->w, P->H, P->W);
        cam_finish(R->map, P->H, P->W, cam, L->h, L->w);
    }
    free(cam);
    return rc;
}

static int init_results(AttribParams *P, AttribResult *R, const CamMethod *M, const int *targets, int n) {
    for (int t = 0; t < n; t++) {
        P->target = targets[t];
        if (check_params(P, M->name)) return -1;
    }
    for (int t = 0; t < n; t++)
        if (attrib_result_init(&R[t], P, 0)) {
            for (int u = 0; u < t; u++) attrib_result_free(&R[u]);
            return eng_fail("%s: out of memory", M->name);
        }
    return 0;
}

/* Counts of a shared run: the forward (and the first backward) in R[0],
   one backward per target. */
static void count_passes(AttribResult *R, int n, int needs_grad) {
    R[0].forward++;
    R[0].batches++;
    for (int t = 0; t < n; t++) {
        R[t].backward += needs_grad;
        R[t].batches += t > 0 && needs_grad;
        R[t].shared_forward = n > 1;
    }
}

int cam_run_targets(AttribParams *P, AttribResult *R, const CamMethod *M, const int *targets, int n) {
    double t0 = attrib_now();
    int target0 = P->target;
    CamShared S;
    memset(&S, 0, sizeof S);
    int rc = init_results(P, R, M, targets, n);
    if (!rc) rc = cam_shared_open(P, NULL, &S, targets, n, M->needs_grad);
    if (!rc) count_passes(R, n, M->needs_grad);
    double t_shared = attrib_now();
    for (int t = 0; !rc && t < n; t++) {
        double t1 = attrib_now();
        CamLayer L = S.L;
        L.grad = S.grads ? S.grads[t] : NULL;
        P->target = targets[t];
        rc = cam_map(P, &R[t], M, &L);
        R[t].seconds = attrib_now() - t1 + (t == 0 ? t_shared - t0 : 0);
    }
    cam_shared_close(&S);
    P->target = target0;
    return rc;
}

int cam_run(AttribParams *P, AttribResult *R, const CamMethod *M) {
    return cam_run_targets(P, R, M, &P->target, 1);
}
