/* load.c - safetensors -> engine model (see load.h for the contract). */
#include "weights/load.h"
#include "io/sha256.h"
#include "weights/safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int has(const StFile *f, const char *name) { return st_find(f, name) != NULL; }

/* Number of consecutive indices i >= 0 for which fmt(i) names a tensor. */
static int count_blocks(const StFile *f, const char *fmt, int a) {
    char nm[160];
    int i = 0;
    for (;; i++) {
        snprintf(nm, sizeof nm, fmt, a, i);
        if (!has(f, nm)) return i;
    }
}

static int detect_resnet(const StFile *f) {
    int n[4];
    for (int L = 0; L < 4; L++) n[L] = count_blocks(f, "layer%d.%d.conv1.weight", L + 1);
    int bottleneck = has(f, "layer1.0.conv3.weight");
    static const int cfg[5][5] = {{18, 2, 2, 2, 2}, {34, 3, 4, 6, 3}, {50, 3, 4, 6, 3},
                                  {101, 3, 4, 23, 3}, {152, 3, 8, 36, 3}};
    for (int i = 0; i < 5; i++)
        if ((cfg[i][0] >= 50) == bottleneck && n[0] == cfg[i][1] && n[1] == cfg[i][2] &&
            n[2] == cfg[i][3] && n[3] == cfg[i][4]) return cfg[i][0];
    return 0;
}

static int detect_densenet(const StFile *f) {
    int n[4];
    for (int B = 0; B < 4; B++) {
        char nm[160];
        int l = 0;
        for (;; l++) {
            snprintf(nm, sizeof nm, "features.denseblock%d.denselayer%d.conv1.weight", B + 1, l + 1);
            if (!has(f, nm)) break;
        }
        n[B] = l;
    }
    static const int cfg[4][5] = {{121, 6, 12, 24, 16}, {161, 6, 12, 36, 24}, {169, 6, 12, 32, 32}, {201, 6, 12, 48, 32}};
    for (int i = 0; i < 4; i++)
        if (n[0] == cfg[i][1] && n[1] == cfg[i][2] && n[2] == cfg[i][3] && n[3] == cfg[i][4]) return cfg[i][0];
    return 0;
}

EngModel *weights_model_for_arch(const char *arch, int in_channels, int n_classes, char *err, size_t errlen) {
    int depth = 0, os = 0;
    char extra;
    EngModel *m = NULL;
    if (sscanf(arch, "resnet%d%c", &depth, &extra) == 1) m = eng_resnet(depth, in_channels, n_classes);
    else if (sscanf(arch, "resnet%d-os%d%c", &depth, &os, &extra) == 2)
        m = eng_resnet_os(depth, in_channels, n_classes, os);
    else if (sscanf(arch, "densenet%d%c", &depth, &extra) == 1) m = eng_densenet(depth, in_channels, n_classes);
    else {
        err_fail(err, errlen, "unknown architecture '%s' (resnet18/34/50/101/152, optionally -os16, densenet121/161/169/201)", arch);
        return NULL;
    }
    if (!m) err_fail(err, errlen, "%s", eng_last_error());
    return m;
}

static const char *first_conv(const char *arch) { return arch[0] == 'r' ? "conv1.weight" : "features.conv0.weight"; }
static const char *classifier(const char *arch) { return arch[0] == 'r' ? "fc.weight" : "classifier.weight"; }

static int detect_arch(const StFile *f, char *arch, size_t n, char *err, size_t errlen) {
    if (has(f, "conv1.weight") && has(f, "fc.weight")) {
        int d = detect_resnet(f);
        if (!d) return err_fail(err, errlen, "looks like a ResNet (conv1, fc) but its block counts match no torchvision ResNet");
        snprintf(arch, n, "resnet%d", d);
        return 0;
    }
    if (has(f, "features.conv0.weight") && has(f, "classifier.weight")) {
        int d = detect_densenet(f);
        if (!d) return err_fail(err, errlen, "looks like a DenseNet but its dense-layer counts match no torchvision DenseNet");
        snprintf(arch, n, "densenet%d", d);
        return 0;
    }
    err_fail(err, errlen, "cannot tell the architecture: no 'conv1.weight'+'fc.weight' (ResNet) nor "
                          "'features.conv0.weight'+'classifier.weight' (DenseNet); use --arch");
    return -1;
}

/* The metadata's output_stride (ResNet only): 32 keeps the detected arch,
   16 names the variant whose layer4 does not downsample. */
static int apply_output_stride(const StFile *f, char *arch, size_t n, char *err, size_t errlen) {
    const char *v = st_meta(f, "output_stride");
    if (!v || !strcmp(v, "32")) return 0;
    if (strcmp(v, "16") || arch[0] != 'r')
        return err_fail(err, errlen, "metadata output_stride=%.20s: only 32 or 16, and only for a ResNet", v);
    size_t L = strlen(arch);
    if (L + 5 >= n) return err_fail(err, errlen, "architecture name too long");
    memcpy(arch + L, "-os16", 6);
    return 0;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *s64, const int *s32) {
    size_t k = 0;
    k += snprintf(buf + k, n - k, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", s64 ? (long long)s64[i] : (long long)s32[i]);
    if (k < n) snprintf(buf + k, n - k, ")");
}

static int fill_param(const StFile *f, EngParam *p, char *err, size_t errlen) {
    const StTensor *t = st_find(f, p->name);
    if (!t) return err_fail(err, errlen, "missing tensor '%s'", p->name);
    int same = t->ndim == p->ndim;
    for (int i = 0; same && i < p->ndim; i++) same = t->shape[i] == p->shape[i];
    if (!same) {
        char want[96], got[96];
        shape_str(want, sizeof want, p->ndim, NULL, p->shape);
        shape_str(got, sizeof got, t->ndim, t->shape, NULL);
        return err_fail(err, errlen, "tensor '%s' has shape %s, the architecture needs %s", p->name, got, want);
    }
    return st_read_f32(f, t, p->data, p->numel, err, errlen);
}

static int parse_floats(const char *s, float *out, int max) {
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno) return -1;
        out[n++] = (float)v;
        s = end;
        while (*s == ' ') s++;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return (s && *s) ? -1 : n;
}

static void read_meta(const StFile *f, WeightsInfo *info) {
    const char *v;
    if ((v = st_meta(f, "input_size"))) {
        int s = atoi(v);
        if (s >= 8 && s <= 4096) info->input_size = s;
    }
    if ((v = st_meta(f, "mean"))) { int n = parse_floats(v, info->mean, 4); info->n_mean = n > 0 ? n : 0; }
    if ((v = st_meta(f, "std"))) { int n = parse_floats(v, info->std, 4); info->n_std = n > 0 ? n : 0; }
    if ((v = st_meta(f, "head"))) info->sigmoid = !strcmp(v, "sigmoid");
    if ((v = st_meta(f, "labels"))) {
        int n = 1;
        for (const char *c = v; *c; c++) n += *c == ',';
        if (n > WEIGHTS_MAX_LABELS) return;
        info->labels = calloc(n, sizeof(char *));
        if (!info->labels) return;
        const char *s = v;
        for (int i = 0; i < n; i++) {
            const char *e = strchr(s, ',');
            size_t L = e ? (size_t)(e - s) : strlen(s);
            info->labels[i] = strndup(s, L);
            s = e ? e + 1 : s + L;
        }
        info->n_labels = n;
    }
}

/* The metadata's intensity_percentile: absent, or a number in (0, 100]. A
   value that cannot be read is an error, not a default: it changes every
   input the model sees. */
static int read_intensity_percentile(const StFile *f, WeightsInfo *info, char *err, size_t errlen) {
    const char *v = st_meta(f, "intensity_percentile");
    if (!v) return 0;
    float p;
    if (parse_floats(v, &p, 1) != 1 || !(p > 0.0f && p <= 100.0f))
        return err_fail(err, errlen, "metadata intensity_percentile=%.20s: expected one number in (0, 100]", v);
    info->intensity_percentile = p;
    return 0;
}

static int check_unexpected(const StFile *f, EngModel *m, char *err, size_t errlen) {
    for (int i = 0; i < f->n; i++) {
        const char *nm = f->t[i].name;
        size_t L = strlen(nm);
        if (L >= 20 && !strcmp(nm + L - 20, ".num_batches_tracked")) continue;
        if (!eng_model_param_find(m, nm)) {
            return err_fail(err, errlen, "unexpected tensor '%s': %s has no such parameter", nm, eng_model_arch(m));
        }
    }
    return 0;
}

EngModel *weights_load(const char *path, const char *arch, WeightsInfo *info, char *err, size_t errlen) {
    StFile f;
    char ebuf[400];
    if (st_open(path, &f, ebuf, sizeof ebuf)) { err_fail(err, errlen, "%s", ebuf); return NULL; }
    WeightsInfo local;
    WeightsInfo *in = info ? info : &local;
    memset(in, 0, sizeof *in);
    EngModel *m = NULL;
    if (arch && *arch) snprintf(in->arch, sizeof in->arch, "%s", arch);
    else if (detect_arch(&f, in->arch, sizeof in->arch, ebuf, sizeof ebuf)) goto fail;
    else if (apply_output_stride(&f, in->arch, sizeof in->arch, ebuf, sizeof ebuf)) goto fail;
    const StTensor *c0 = st_find(&f, first_conv(in->arch)), *fc = st_find(&f, classifier(in->arch));
    if (!c0 || c0->ndim != 4) { snprintf(ebuf, sizeof ebuf, "missing tensor '%s' (or not 4-D)", first_conv(in->arch)); goto fail; }
    if (!fc || fc->ndim != 2) { snprintf(ebuf, sizeof ebuf, "missing tensor '%s' (or not 2-D)", classifier(in->arch)); goto fail; }
    if (c0->shape[1] != 1 && c0->shape[1] != 3) {
        snprintf(ebuf, sizeof ebuf, "'%s' takes %lld input channels; only 1 or 3 are supported",
                 first_conv(in->arch), (long long)c0->shape[1]);
        goto fail;
    }
    if (fc->shape[0] < 1 || fc->shape[0] > 100000) {
        snprintf(ebuf, sizeof ebuf, "'%s' has %lld classes", classifier(in->arch), (long long)fc->shape[0]);
        goto fail;
    }
    in->in_channels = (int)c0->shape[1];
    in->n_classes = (int)fc->shape[0];
    m = weights_model_for_arch(in->arch, in->in_channels, in->n_classes, ebuf, sizeof ebuf);
    if (!m) goto fail;
    for (int i = 0; i < eng_model_n_params(m); i++)
        if (fill_param(&f, eng_model_param(m, i), ebuf, sizeof ebuf)) goto fail;
    if (check_unexpected(&f, m, ebuf, sizeof ebuf)) goto fail;
    read_meta(&f, in);
    if (read_intensity_percentile(&f, in, ebuf, sizeof ebuf)) goto fail;
    for (int i = 0, k = 0; i < f.n; i++) {
        const char *d = f.t[i].dtype == ST_F32 ? "F32" : f.t[i].dtype == ST_F16 ? "F16" : f.t[i].dtype == ST_BF16 ? "BF16" : NULL;
        if (d && !strstr(in->dtypes, d)) k += snprintf(in->dtypes + k, sizeof in->dtypes - k, "%s%s", k ? "+" : "", d);
    }
    struct stat sb;
    in->file_bytes = stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
    st_close(&f);
    if (sha256_file(path, in->sha256)) { err_fail(err, errlen, "%s: cannot read for its SHA-256", path); goto fail2; }
    if (!info) weights_info_free(&local);
    return m;
fail:
    err_fail(err, errlen, "%s: %s", path, ebuf);
    st_close(&f);
fail2:
    eng_model_free(m);
    weights_info_free(in);
    return NULL;
}

void weights_info_free(WeightsInfo *info) {
    if (!info) return;
    for (int i = 0; i < info->n_labels; i++) free(info->labels[i]);
    free(info->labels);
    info->labels = NULL;
    info->n_labels = 0;
}

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

/* Channel c's value of a 1- or 3-value normalisation. */
static float pick(const float *v, int n, int c) { return n == 1 ? v[0] : v[c < n ? c : 0]; }

void weights_normalisation(const WeightsInfo *info, int C, const float *mean, int n_mean, const float *std, int n_std,
                           float out_mean[4], float out_std[4]) {
    const float *m = imagenet_mean, *s = imagenet_std;
    int nm = 3, ns = 3;
    if (info->n_mean) { m = info->mean; nm = info->n_mean; }
    if (info->n_std) { s = info->std; ns = info->n_std; }
    if (n_mean) { m = mean; nm = n_mean; }
    if (n_std) { s = std; ns = n_std; }
    if (C == 1 && nm == 3 && m == imagenet_mean) { /* gray model, ImageNet default: the luminance of the mean */
        out_mean[0] = 0.299f * m[0] + 0.587f * m[1] + 0.114f * m[2];
        out_std[0] = 0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2];
    } else {
        for (int c = 0; c < C; c++) { out_mean[c] = pick(m, nm, c); out_std[c] = pick(s, ns, c); }
    }
}
