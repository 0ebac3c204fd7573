/* gradxinput.c - gradient x input: attr = x * dF_k/dx (elementwise).

   Paper: Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not just a black
   box" (gradient * input). PAIR-code/saliency has no class for it; the golden
   test compares with x * GradientSaliency.GetMask (core/gradients.py).
   x is the network input as fed (after normalisation), so the zero of the
   normalised scale is the implicit reference point.
   map = sum over channels of |attr|. Defaults: none.
   Cost: 1 forward + 1 backward. */
#include "attrib/gradpath.h"

#include <stdlib.h>

int attrib_gradxinput(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    int K = eng_model_n_classes(P->model);
    float *logits = malloc(sizeof(float) * K);
    if (!logits || attrib_grads(P, R, P->x, 1, R->attr, logits, NULL)) { free(logits); return -1; }
    size_t n = (size_t)P->C * P->H * P->W;
    double sum = 0;
    for (size_t i = 0; i < n; i++) { R->attr[i] *= P->x[i]; sum += R->attr[i]; }
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    if (P->narrate)
        fprintf(P->narrate, "gradxinput: F_%d(x) = %.6g; attr = x * dF/dx; sum(attr) = %.6g\n"
                            "  (first-order Taylor estimate of F(x) - F(0) about x)\n",
                P->target, logits[P->target], sum);
    snprintf(R->notes, sizeof R->notes, "sum(attr) %.6g", sum);
    free(logits);
    R->seconds = attrib_now() - t0;
    return 0;
}
