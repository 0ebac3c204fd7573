/* mprt.h - the model parameter randomisation test (MPRT; Adebayo et al.
   2018, "Sanity checks for saliency maps"), cascading from the top as
   Quantus' ModelParameterRandomisation does with order "top_down".

   - The layers are the modules that own parameters (every conv, batch norm
     and linear layer of a torchvision ResNet or DenseNet), in the order of
     their parameters, walked backwards: the classifier first, then the
     last block's last batch norm, its conv, ... down to the stem.
   - Step s re-initialises one more module (MPRT_BY_MODULE), or one more
     block (MPRT_BY_BLOCK: the modules whose names share their first two
     components, "layer4.1" of a ResNet, "features.denseblock4" of a
     DenseNet; the stem's modules and the classifier stay one step each),
     cumulatively, each module as torch's reset_parameters() does: conv
     and linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in));
     batch norm weight 1, bias 0, running mean 0, running variance 1. The draws come from EngRng seeded
     with eng_rng_split(seed, s) (a block's modules one after the other from
     that one stream): torch's distribution, not its numbers.
   - After each step every method's map is recomputed for the same image
     and the same target class (with its own parameters when the config
     gives method settings), and compared with the original model's map
     by the Spearman rank correlation of the 2-D maps (stats_spearman).
   A method whose correlation stays above MPRT_FLAG after every module is
   randomised does not depend on the model.

   Cost: (steps + 1) maps per method: a resnet18 has 62 modules and 11
   blocks, a densenet121 242 modules and 11 blocks.

   Usage:
     Mprt t;
     MprtConfig c = {.seed = 0, .by = MPRT_BY_BLOCK};
     if (mprt_run(&t, &P, methods, n_methods, &c) < 0) ... eng_last_error()
     t.corr[s * n_methods + j]: step s (0 = the original model, 1.0), method j
     t.modules[t.n_modules - s].name: the module or block randomised at step s
     mprt_free(&t); */
#ifndef EVAL_MPRT_H
#define EVAL_MPRT_H
#include "attrib/attrib.h"
#include "engine/engine.h"
#include "eval/settings.h"

#define MPRT_FLAG 0.9

typedef enum { MPRT_BY_MODULE, MPRT_BY_BLOCK } MprtGranularity;

typedef struct {
    char name[ENG_NAME_MAX];   /* "layer4.1.bn2", or a block "layer4.1" */
    int first, count;          /* its parameters: indices [first, first + count) */
} MprtModule;

typedef struct {
    MprtModule *modules;       /* in parameter order; step s randomises modules[n_modules - s] */
    int n_modules, n_methods;
    double *corr;              /* (n_modules + 1, n_methods) */
    MprtGranularity by;
} Mprt;

/* The modules of m, in parameter order; their count, or -1 without memory. */
int mprt_list_modules(EngModel *m, MprtModule **out);
/* The steps of the test at granularity by: the modules, or the blocks
   (runs of modules with the same first two name components). */
int mprt_list_steps(EngModel *m, MprtGranularity by, MprtModule **out);
/* torch's reset_parameters() for every module in mod's parameter range,
   in order, from one generator seeded with seed. */
void mprt_reset_module(EngModel *m, const MprtModule *mod, uint64_t seed);
/* "module" or "block"; mprt_granularity_parse: 0, or -1 for another name. */
const char *mprt_granularity_name(MprtGranularity by);
int mprt_granularity_parse(const char *s, MprtGranularity *by);

typedef void (*MprtStepFn)(void *ctx, int step, int n_steps, const char *module);
typedef struct {
    uint64_t seed;
    MprtGranularity by;
    const MethodSettings *settings;   /* each method's parameters; NULL: P's, for every method */
    MprtStepFn on_step;               /* called after each step; may be NULL */
    void *ctx;
} MprtConfig;

/* The whole test on P's model, image and target (P->model is left as it
   was; a copy is randomised). 0, or -1 with the engine error set. */
int mprt_run(Mprt *t, AttribParams *P, const AttribMethod *const *methods, int n_methods, const MprtConfig *c);
void mprt_free(Mprt *t);

/* ---- outputs of `salient sanity` ---- */
/* What the JSON records besides the correlations. */
typedef struct {
    const char *version, *model_path, *arch, *sha256, *image;
    int input_size, target;
    uint64_t seed;
} MprtRunInfo;
/* sanity.csv: "step,module,<method>..." then one row per step (step 0,
   module "none", is the original model; an undefined correlation is an
   empty cell). 0, or -1 with "cannot write PATH..." in err. */
int mprt_write_csv(const Mprt *t, const AttribMethod *const *methods, const char *path, char *err, size_t errlen);
/* sanity.json: the test's definition, the model and image, every step's
   correlations, the final ones and the methods flagged (above MPRT_FLAG
   after the last step). 0, or -1 with "cannot write PATH" in err. */
int mprt_write_json(const Mprt *t, const AttribMethod *const *methods, const MprtRunInfo *info, const char *path,
                    char *err, size_t errlen);
/* The MPRT of several images (their sanity.json, same methods and steps),
   summarised into outdir: sanity_final.csv (per method: images, the mean,
   min and max Spearman after the last step, how many images are flagged),
   sanity_steps.csv (step, module, each method's mean over images; an
   undefined correlation is left out of the mean) and sanity_steps.png.
   0, or -1 with the reason in err (a file unreadable or unlike the first). */
int mprt_summary_write(const char *const *json_paths, int n_images, const char *outdir, char *err, size_t errlen);
/* sanity.png drawn from a sanity.json (so the figure always shows the
   recorded numbers, and can be redrawn from them): each method's
   correlation against the number of steps randomised, on [-1, 1].
   0, or -1 with the reason in err. */
int mprt_plot_json(const char *json_path, const char *png_path, char *err, size_t errlen);
#endif
