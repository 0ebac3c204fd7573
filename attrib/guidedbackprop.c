/* guidedbackprop.c - guided backpropagation: the input gradient of the target
   logit computed with a modified ReLU backward,
     dL/din = dL/dout * [in > 0] * [dL/dout > 0].

   Paper: Springenberg, Dosovitskiy, Brox & Riedmiller 2015, "Striving for
   simplicity: the all convolutional net". Matches jacobgil/pytorch-grad-cam
   guided_backprop.py GuidedBackpropReLUModel: it swaps every torch.nn.ReLU
   MODULE for GuidedBackpropReLUasModule (replace_all_layer_type_recursive),
   so only module ReLUs are guided. In torchvision's ResNet every ReLU is a
   module (relu, layerX.Y.relu, applied 2-3 times per block): all guided.
   In torchvision's DenseNet the final ReLU is functional - forward() calls
   F.relu(features) - and pytorch-grad-cam leaves it alone; that node (our
   "relu" of a densenet graph) keeps the ordinary ReLU backward, which passes
   negative gradients too. Every other DenseNet ReLU (features.relu0,
   denselayer relu1/relu2, transition relu) is guided.
   Implemented as a one-pass override of the engine's ReLU backward rule
   (EngBackwardOpts.rule[ENG_OP_RELU]); [in > 0] is read as [out > 0].
   map = sum over channels of |attr|. Defaults: none.
   Cost: 1 forward + 1 backward. */
#include "attrib/gradpath.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int functional;    /* node index of DenseNet's functional F.relu, or -1 */
    long guided, plain;
} GuidedRelu;

static void guided_relu_backward(EngPass *p, int node, void *user) {
    GuidedRelu *u = user;
    const float *out = eng_pass_act(p, node), *dy = eng_pass_grad(p, node);
    float *dx = eng_pass_in_grad_buf(p, node, 0);
    size_t n = eng_pass_node_numel(p, node);
    if (node == u->functional) {
        for (size_t i = 0; i < n; i++) if (out[i] > 0.0f) dx[i] += dy[i];
        u->plain++;
        return;
    }
    for (size_t i = 0; i < n; i++) if (out[i] > 0.0f && dy[i] > 0.0f) dx[i] += dy[i];
    u->guided++;
}

int attrib_guidedbackprop(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    GuidedRelu u = {-1, 0, 0};
    if (!strncmp(eng_model_arch(P->model), "densenet", 8)) u.functional = eng_model_node_find(P->model, "relu");
    EngBackwardOpts o;
    memset(&o, 0, sizeof o);
    o.rule[ENG_OP_RELU] = guided_relu_backward;
    o.user = &u;
    int K = eng_model_n_classes(P->model);
    float *logits = malloc(sizeof(float) * K);
    if (!logits || attrib_grads(P, R, P->x, 1, R->attr, logits, &o)) { free(logits); return -1; }
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    snprintf(R->notes, sizeof R->notes, "%ld ReLU nodes guided%s", u.guided,
             u.plain ? "; DenseNet's functional F.relu kept plain, as pytorch-grad-cam (module ReLUs only)" : "");
    if (P->narrate)
        fprintf(P->narrate, "guidedbackprop: F_%d(x) = %.6g; backward through %ld ReLU nodes passing only positive\n"
                            "  gradient at positive input%s\n",
                P->target, logits[P->target], u.guided,
                u.plain ? "; DenseNet's final functional ReLU keeps the plain rule (not a module)" : "");
    free(logits);
    R->seconds = attrib_now() - t0;
    return 0;
}
