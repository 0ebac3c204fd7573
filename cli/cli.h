/* cli.h - the command line: one thin layer over engine/, weights/, io/,
   attrib/ and eval/. Options are parsed once into Opts by a table
   (cli/opts.c); each command reads the fields it needs. */
#ifndef CLI_CLI_H
#define CLI_CLI_H
#include <stdint.h>
#include <stdio.h>
#include "attrib/attrib.h"
#include "engine/engine.h"
#include "io/image.h"
#include "weights/load.h"

typedef struct {
    /* common */
    const char *model, *arch, *labels, *input_npy, *outdir, *trace;
    int threads, size, json, markdown, verbose, reference, batch, help;
    float mean[4], std[4];
    int n_mean, n_std;
    /* predict / grad / bench */
    const char *logits_npy, *out, *layer, *act_npy, *layer_grad_npy;
    int topk, cls, repeat, profile;
    const char *gemm;     /* bench: engine (default) or openblas */
    /* reading inputs: volumes, multi-frame files, intensity window */
    const char *window, *slice, *head;
    int volume, frame;
    /* explain / evaluate / pic (attribution and metric parameters) */
    const char *methods, *baseline, *target, *label, *info, *map, *random_mask, *save_random_mask,
        *data, *shard, *substrate, *trace_level, *seed_str, *map_cache, *root, *only, *granularity, *maps;
    int limit, resume, merge, replot, pixels, no_png, insdel_steps, no_insdel, no_pic;
    int upto;             /* set by study, not an option: this call computes the first upto images only (0: all) */
    double min_pred;      /* < 0: not given */
    double param[AP_COUNT];   /* the methods' numeric parameters by AttribParamId (attrib/registry.c); 0: default */
    uint64_t seed;
    /* positionals */
    char **pos;
    int n_pos;
} Opts;

int opts_parse(Opts *o, int argc, char **argv);   /* 0, or -1 after printing the error */
void opts_usage_common(void);
void opts_usage_methods(void);                    /* every method and its parameters, from the registry */
void opts_usage_methods_to(FILE *f);
/* The method parameters given on the command line, into P (numbers, layer, seed, batch). */
void opts_to_attrib_params(const Opts *o, AttribParams *P);
/* Only the methods' numeric parameters and the CAM layer (not seed or batch). */
void opts_method_params(const Opts *o, AttribParams *P);

/* A loaded model and its preprocessing, resolved from options and metadata. */
typedef struct {
    EngModel *m;
    WeightsInfo info;
    int size;          /* input size (square) */
    int sigmoid;       /* output head: 0 softmax, 1 independent sigmoids (metadata head=, or --head) */
    float mean[4], std[4];
    char **labels;     /* class names (from --labels, else metadata); may be NULL */
    int n_labels;
    const char *path;
} Model;

int model_open(Model *md, const Opts *o);         /* 0, or -1 after printing the error */
void model_close(Model *md);
const char *model_label(const Model *md, int k, char *buf, size_t n);

/* image_preprocess for the model with the input options (--window --slice
   --volume --frame); info (may be NULL) gets what was used. 0 or -1 (err). */
int model_preprocess(const Model *md, const Opts *o, const char *path, float *x, ImageLoadInfo *info, char *err,
                     size_t n);
/* With --input-npy and no --size, the input size is the array's (H = W):
   sets o->size. 0, or -1 after an error message. */
int opts_size_from_npy(Opts *o);
/* Reads a float32-convertible (N,C,H,W) .npy for the model; -1 after an error message. */
float *load_input_npy(const char *path, const Model *md, int *n, int *h, int *w);

void die_usage(const char *cmd, const char *msg);
int cli_error(const char *fmt, ...);              /* prints "salient: ..." and returns 1 */

int cmd_info(const Opts *o);
int cmd_layers(const Opts *o);
int cmd_predict(const Opts *o);
int cmd_grad(const Opts *o);
int cmd_bench(const Opts *o);
int cmd_explain(const Opts *o);
int cmd_pic(const Opts *o);
int cmd_selfcheck(const Opts *o);
int cmd_gradcheck(const Opts *o);
int cmd_evaluate(const Opts *o);
int cmd_merge(const Opts *o);
int cmd_study(const Opts *o);
int cmd_sanity(const Opts *o);
int cmd_methods(const Opts *o);
#endif
