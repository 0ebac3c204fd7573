/* engine.h - salient's convolutional engine: tensors, ops, the tape, model graphs.

   The engine knows nothing of files, saliency methods or metrics. It gives:
     - model graphs for torchvision's ResNet (18..152) and DenseNet (121..201),
       with every node named by torchvision's module path;
     - a pass object that runs forward (taped or forward-only) and backward
       from any seed gradient, for a fixed batch size and input size;
     - read access to the activation and gradient of any named node;
     - a per-pass override of any op's backward rule (guided backprop);
     - the op kernels themselves (ops.h), each a forward/backward pair.

   Layout: NCHW float32, batch N >= 1. All sizes are ints; byte sizes are
   size_t computed with overflow checks (eng_size_mul).

   Usage:
     EngModel *m = eng_resnet(50, 3, 1000);        // parameters allocated, zeroed
     ... fill parameters via eng_model_param_find(m, "layer1.0.conv1.weight") ...
     EngPass *p = eng_pass_new(m, N, H, W);
     eng_pass_forward(p, x, ENG_TAPE);              // x: (N,C,H,W)
     const float *logits = eng_pass_output(p);      // (N,classes)
     eng_pass_backward(p, seed, NULL);              // seed: d(scalar)/d(logits), (N,classes)
     const float *dx = eng_pass_input_grad(p);      // (N,C,H,W)
     int id = eng_model_node_find(m, "layer4");
     const float *a = eng_pass_act(p, id), *g = eng_pass_grad(p, id);
     eng_pass_free(p); eng_model_free(m);
*/
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>

#include "engine/error.h" /* eng_last_error, eng_fail: the error convention */
#include <stdint.h>

/* One enum of ops with a name table (engine/ops.c) checked by a static_assert
   on ENG_OP_COUNT: adding an op forces every table and switch to follow. */
typedef enum {
    ENG_OP_INPUT = 0,
    ENG_OP_CONV2D,
    ENG_OP_BATCHNORM2D,
    ENG_OP_RELU,
    ENG_OP_MAXPOOL2D,
    ENG_OP_AVGPOOL2D,
    ENG_OP_ADAPTIVE_AVGPOOL2D,
    ENG_OP_CONCAT,
    ENG_OP_ADD,
    ENG_OP_FLATTEN,
    ENG_OP_LINEAR,
    ENG_OP_SOFTMAX,
    ENG_OP_LOG_SOFTMAX,
    ENG_OP_COUNT
} EngOpKind;

const char *eng_op_name(EngOpKind op);

#define ENG_NAME_MAX 96
#define ENG_MAX_DIMS 4

/* A parameter tensor (weight, bias, running_mean, running_var). */
typedef struct {
    char name[ENG_NAME_MAX]; /* torchvision state_dict name, e.g. "layer1.0.bn1.weight" */
    int ndim;
    int shape[ENG_MAX_DIMS];
    size_t numel;
    float *data;             /* numel floats */
    float *grad;             /* numel floats, filled when ENG_PARAM_GRADS is asked */
} EngParam;

/* Op parameters; which fields matter depends on the op. */
typedef struct {
    int kh, kw, stride, pad, dilation; /* conv, pools */
    float eps;                         /* batchnorm: torch default 1e-5 */
    int out_h, out_w;                  /* adaptive avgpool target */
} EngOpArgs;

typedef struct {
    EngOpKind op;
    char name[ENG_NAME_MAX];  /* torchvision module path of the node's output */
    int n_in;
    int *in;                  /* indices of input nodes (all < this node's index) */
    EngOpArgs args;
    EngParam *weight, *bias;  /* conv: weight (O,I,kh,kw), bias may be NULL; bn: gamma, beta; linear */
    EngParam *mean, *var;     /* batchnorm running statistics */
    int c, h, w;              /* per-sample output shape for the pass's input size (h=w=1 after flatten) */
} EngNode;

typedef struct EngModel EngModel;

/* Model graphs. depth: 18,34,50,101,152 (resnet) or 121,161,169,201 (densenet).
   Return NULL for an unknown depth or a bad channel/class count. */
EngModel *eng_resnet(int depth, int in_channels, int n_classes);
/* The same ResNet with output stride 16 or 32 (32 is torchvision's). At 16,
   layer4's first block does not downsample (stride 1 in its 3x3 conv and its
   downsample conv; the parameters are unchanged), so the last block's map is
   14x14 at 224 px instead of 7x7. Its arch is "resnet18-os16". */
EngModel *eng_resnet_os(int depth, int in_channels, int n_classes, int output_stride);
EngModel *eng_densenet(int depth, int in_channels, int n_classes);
void eng_model_free(EngModel *m);

const char *eng_model_arch(const EngModel *m);   /* "resnet50", "resnet18-os16", ... */
/* A new model of the same architecture with a copy of m's parameters; NULL on error. */
EngModel *eng_model_clone(const EngModel *m);
int eng_model_in_channels(const EngModel *m);
int eng_model_n_classes(const EngModel *m);
int eng_model_n_params(const EngModel *m);       /* number of parameter tensors */
EngParam *eng_model_param(EngModel *m, int i);
EngParam *eng_model_param_find(EngModel *m, const char *name);
size_t eng_model_param_count(const EngModel *m); /* number of scalars */

int eng_model_n_nodes(const EngModel *m);
const EngNode *eng_model_node(const EngModel *m, int i);
/* Node index by name or alias ("layer4" -> last block's output); -1 if none. */
int eng_model_node_find(const EngModel *m, const char *name);
/* Every public name (node names and aliases) in graph order; i < eng_model_n_names. */
int eng_model_n_names(const EngModel *m);
const char *eng_model_name_at(const EngModel *m, int i, int *node);
/* Per-sample shapes of every node for an input of h x w; 0 on success,
   -1 if the input is too small for the network. */
int eng_model_infer_shapes(EngModel *m, int h, int w);

/* ---- passes ---- */
typedef struct EngPass EngPass;

enum {
    ENG_FORWARD_ONLY = 0,  /* no tape: buffers reused as soon as their last reader ran */
    ENG_TAPE = 1,          /* keep every activation for backward and for reading */
    ENG_TAPE_GRAD = 2,     /* keep what input gradients need: like forward-only runs it
                              fuses conv->bn->add->relu and concat->bn->relu chains, so the
                              conv, concatenation, batch-norm and add results inside a chain
                              are not kept (eng_pass_act NULL) unless marked with
                              eng_pass_keep; less memory, fewer passes over it. Weight
                              gradients (param_grads) need ENG_TAPE. */
};

/* A backward rule: computes the gradient of node `node`'s inputs from its
   output gradient, ACCUMULATING (+=) into eng_pass_in_grad_buf(p, node, k).
   Overrides the built-in rule for one backward call. */
typedef void (*EngBackwardRule)(EngPass *p, int node, void *user);

typedef struct {
    EngBackwardRule rule[ENG_OP_COUNT]; /* NULL = built-in */
    void *user;                          /* passed to the rules */
    int param_grads;                     /* also accumulate EngParam.grad (zeroed first) */
    const int *keep_grads;               /* node indices whose gradient stays readable; */
    int n_keep_grads;                    /*   NULL/0 keeps every node's gradient */
} EngBackwardOpts;

/* A pass for a batch of n inputs of the model's channels at h x w. NULL on
   a bad size (message in eng_last_error()). Buffers persist across calls.
   Passes of one model run one at a time: a pass writes state into its model
   (the node shapes for its input size, the cached Winograd weights). */
EngPass *eng_pass_new(EngModel *m, int n, int h, int w);
void eng_pass_free(EngPass *p);
int eng_pass_batch(const EngPass *p);
/* Run the next passes on the first n <= the batch the pass was made for
   (buffers are kept; a taped buffer grows if a bigger batch needs it). */
int eng_pass_set_batch(EngPass *p, int n);
/* Nodes the last forward-only run absorbed into fused conv/bn/add/relu groups. */
int eng_pass_fused(const EngPass *p);
EngModel *eng_pass_model(EngPass *p);

/* Runs the network on x (n,C,h,w). Returns 0, or -1 on allocation failure. */
int eng_pass_forward(EngPass *p, const float *x, int mode);
const float *eng_pass_output(const EngPass *p);         /* logits (n, classes) */

/* Forward in which node `node`'s output is replaced by `act` (n,c,h,w) before
   any later node reads it (Ablation-CAM, MPRT). When the node is a cut - no
   later node reads an earlier one, as for `layer4` or `features.norm5` - x
   may be NULL and only the nodes after it run. */
int eng_pass_forward_replace(EngPass *p, const float *x, int mode, int node, const float *act);
int eng_model_is_cut(const EngModel *m, int node);

/* Backward from a seed gradient at the output (n,classes) or at any node
   (eng_pass_backward_from with that node's (n,c,h,w) seed). Requires ENG_TAPE. */
int eng_pass_backward(EngPass *p, const float *seed, const EngBackwardOpts *opts);
int eng_pass_backward_from(EngPass *p, int node, const float *seed, const EngBackwardOpts *opts);

/* Keep node's activation readable after ENG_TAPE_GRAD forwards (a CAM's
   layer, say): it is never taken into a fused chain. For this pass's life. */
void eng_pass_keep(EngPass *p, int node);
const float *eng_pass_act(const EngPass *p, int node);  /* (n,c,h,w) of that node; NULL if not kept */
const float *eng_pass_grad(const EngPass *p, int node); /* d seed-scalar / d act; NULL if not kept */
const float *eng_pass_input_grad(const EngPass *p);     /* (n,C,h,w) */
/* For backward rules: gradient buffer of input k of `node` (accumulate into it),
   and the argmax buffer of a maxpool node. */
float *eng_pass_in_grad_buf(EngPass *p, int node, int k);
const int32_t *eng_pass_argmax(const EngPass *p, int node);
size_t eng_pass_node_numel(const EngPass *p, int node); /* n*c*h*w */

/* ---- tracing ---- */
/* One event per executed op, forward and backward. `out` is the op's output
   (forward) or the gradient it produced for input `input_index` (backward),
   `numel` floats. With no trace function set (the default) the engine pays
   one pointer test per op. */
typedef struct {
    int backward;             /* 0 forward, 1 backward */
    int node;
    const EngNode *nd;
    int batch;
    int input_index;          /* backward: which input's gradient; forward: -1 */
    const float *out;
    size_t numel;
    int c, h, w;              /* per-sample shape of out */
} EngTraceEvent;
typedef void (*EngTraceFn)(const EngTraceEvent *ev, void *ctx);
void eng_set_trace(EngTraceFn fn, void *ctx);

/* Wall time per op kind while a profile is set (NULL: off), summed over
   passes. A fused group counts under its head (a conv with its batch norm,
   add and relu epilogue is "conv2d"); backward through a fused group's
   elementwise tail counts under the tail's last op. */
typedef struct {
    double forward_ms[ENG_OP_COUNT], backward_ms[ENG_OP_COUNT];
} EngProfile;
void eng_set_profile(EngProfile *prof);

/* ---- global settings ---- */
/* Reference path: conv and linear by plain loops accumulating in double. */
void eng_set_reference(int on);
int eng_get_reference(void);
/* Threads of the engine (<=0 = all cores). They run every parallel part,
   the gemms included (OpenBLAS itself is kept single-threaded); work is
   split by the shapes alone, so results are bit-identical for any n. */
void eng_set_threads(int n);
int eng_get_threads(void);
const char *eng_blas_info(void); /* OpenBLAS config string */
/* For benchmarks only: every product through OpenBLAS's sgemm instead of
   engine/gemm.c (faster on some shapes, but identical patches no longer
   give identical outputs; salient bench --gemm openblas). */
void eng_set_gemm_openblas(int on);
const char *eng_conv_info(void); /* how convolutions are computed now (for manifests) */

/* Reproducibility. On one machine and build, every output is bit-identical
   for any thread count and batch size. The fast path's products (gemm.c)
   also give the same bits on any x86-64 with FMA; the compiler's code for
   the rest, and OpenBLAS for weight gradients, may round otherwise on
   another build. Two results count as "within rounding" when
   max |a - b| <= ENG_ROUND_REL times the largest |a|: about thirty times
   the largest float32 spread PyTorch itself shows on the engine's golden
   tensors (logits, input gradients and layer outputs of resnet18/50 and
   densenet121: at most 3.0e-6, tests/data/golden/ * /meta.json
   torch_f32_spread_rel_err; tests/check.h). Outputs next to a ReLU or max-pool kink may differ more
   on another rounding; they are reported as different, with the numbers. */
#define ENG_ROUND_REL 1e-4
/* diff (max |a - b|) within rounding of outputs whose largest |a| is scale
   (false for a NaN diff). */
static inline int eng_within_rounding(double diff, double scale) { return diff <= ENG_ROUND_REL * scale; }

/* size arithmetic: returns 0 and sets *out, or -1 on overflow. */
int eng_size_mul(size_t a, size_t b, size_t *out);

#endif
