/* gradient.c - vanilla gradient saliency: attr = dF_k/dx.

   Paper: Simonyan, Vedaldi & Zisserman 2014, "Deep inside convolutional
   networks: visualising image classification models and saliency maps".
   Matches PAIR-code/saliency core/gradients.py GradientSaliency.GetMask with
   a call_model_function returning the gradient of the target LOGIT.
   map = sum over channels of |attr| (attrib_map_abs_sum).
   Defaults: none. Cost: 1 forward + 1 backward.

   Also holds gradpath_check, the argument check of the whole family. */
#include "attrib/gradpath.h"

#include <math.h>
#include <stdlib.h>

int gradpath_check(const AttribParams *P) {
    if (!P->model || !P->x) return eng_fail("attribution needs a model and an image");
    int K = eng_model_n_classes(P->model), C = eng_model_in_channels(P->model);
    if (P->C != C) return eng_fail("image has %d channels, the model expects %d", P->C, C);
    if (P->H < 1 || P->W < 1) return eng_fail("bad image size %dx%d", P->H, P->W);
    if (P->target < 0 || P->target >= K) {
        return eng_fail("target class %d out of range: the model has %d classes", P->target, K);
    }
    return 0;
}

int attrib_gradient(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    int K = eng_model_n_classes(P->model);
    float *logits = malloc(sizeof(float) * K);
    if (!logits || attrib_grads(P, R, P->x, 1, R->attr, logits, NULL)) { free(logits); return -1; }
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    if (P->narrate) {
        size_t n = (size_t)P->H * P->W, arg = 0;
        for (size_t i = 1; i < n; i++) if (R->map[i] > R->map[arg]) arg = i;
        fprintf(P->narrate, "gradient: F_%d(x) = %.6g; one backward pass gives dF/dx;\n"
                            "  map = sum_c |dF/dx_c|, largest %.4g at (y %zu, x %zu)\n",
                P->target, logits[P->target], R->map[arg], arg / P->W, arg % P->W);
    }
    free(logits);
    R->seconds = attrib_now() - t0;
    return 0;
}
