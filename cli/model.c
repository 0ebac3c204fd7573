/* model.c - opening a model for a command: weights, input size,
   normalisation and class names, from the options first, then the
   file's metadata, then the defaults (224, ImageNet's mean and std). */
#include "cli/audit.h"
#include "cli/cli.h"
#include "io/file.h"
#include "io/npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "salient: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

int model_open(Model *md, const Opts *o) {
    memset(md, 0, sizeof *md);
    if (!o->model) return cli_error("no model: give -m MODEL.safetensors");
    char err[512];
    md->path = o->model;
    md->m = weights_load(o->model, o->arch, &md->info, err, sizeof err);
    if (!md->m) return cli_error("%s", err), -1;
    md->size = o->size ? o->size : md->info.input_size ? md->info.input_size : 224;
    md->sigmoid = md->info.sigmoid;
    if (o->head) {
        if (strcmp(o->head, "softmax") && strcmp(o->head, "sigmoid"))
            return cli_error("--head %s: expected softmax or sigmoid", o->head), model_close(md), -1;
        md->sigmoid = !strcmp(o->head, "sigmoid");
    }
    weights_normalisation(&md->info, md->info.in_channels, o->mean, o->n_mean, o->std, o->n_std, md->mean, md->std);
    if (o->labels) {
        md->labels = io_read_lines(o->labels, &md->n_labels);
        if (!md->labels) { model_close(md); return cli_error("cannot read labels file %s", o->labels), -1; }
    } else if (md->info.n_labels) {
        md->labels = md->info.labels;
        md->n_labels = md->info.n_labels;
    }
    return 0;
}

void model_close(Model *md) {
    if (md->labels && md->labels != md->info.labels) {
        for (int i = 0; i < md->n_labels; i++) free(md->labels[i]);
        free(md->labels);
    }
    weights_info_free(&md->info);
    eng_model_free(md->m);
    memset(md, 0, sizeof *md);
}

const char *model_label(const Model *md, int k, char *buf, size_t n) {
    if (k >= 0 && k < md->n_labels) return md->labels[k];
    snprintf(buf, n, "class %d", k);
    return buf;
}

int model_preprocess(const Model *md, const Opts *o, const char *path, float *x, ImageLoadInfo *info, char *err,
                     size_t n) {
    ImageLoadOpts lo = {o->frame, o->slice, o->volume, o->window};
    ImageLoadInfo local;
    if (!info) info = &local;
    int C = eng_model_in_channels(md->m);
    float pct = md->info.intensity_percentile;
    int rc = image_preprocess_opts(path, &lo, C, md->size, pct > 0 ? NULL : md->mean, pct > 0 ? NULL : md->std, x,
                                   info, err, n);
    if (rc) return rc;
    if (pct > 0) {  /* the model's own intensity scale, between the [0,1] image and the normalisation */
        Image view = {C, md->size, md->size, x};
        if (image_scale_percentile(&view, pct)) return snprintf(err, n, "%s: out of memory", path), -1;
        image_normalize(&view, md->mean, md->std);
    }
    manifest_input_decoded(path, info);
    return 0;
}

int opts_size_from_npy(Opts *o) {
    if (!o->input_npy || o->size) return 0;
    NpyArray a;
    char err[512];
    if (npy_read(o->input_npy, &a, err, sizeof err)) return cli_error("%s", err), -1;
    if (a.ndim == 4 && a.shape[2] == a.shape[3] && a.shape[2] >= 8 && a.shape[2] <= 4096) o->size = (int)a.shape[2];
    npy_free(&a);
    return 0;
}

float *load_input_npy(const char *path, const Model *md, int *n, int *h, int *w) {
    char err[1200];
    float *x = npy_read_nchw_f32(path, md->info.in_channels, n, h, w, err, sizeof err);
    if (!x) cli_error("%s", err);
    return x;
}
