/* model.c - model graphs exactly as torchvision 0.14 defines them
   (torchvision/models/resnet.py, densenet.py), with every node named by the
   module path whose output it is. A module used twice (ResNet's block `relu`)
   names its first output `relu` and later ones `relu@2`, `relu@3`; container
   modules (`layer4`, `layer4.1`, `features.denseblock4`, `features.transition1`)
   are aliases of the node that produces their output. Functional ops get the
   name of the torchvision function that runs them (`add` in a block,
   DenseNet's final `relu`, `adaptive_avg_pool2d`, `flatten`). */
#include "engine/model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eng_size_mul(size_t a, size_t b, size_t *out) {
    if (a && b > (size_t)-1 / a) return -1; /* a*b > SIZE_MAX  <=>  b > SIZE_MAX / a */
    *out = a * b;
    return 0;
}

static void *grow(void *p, int *cap, int need, size_t elem) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) { fprintf(stderr, "salient: out of memory building a model\n"); exit(1); }
    *cap = nc;
    return q;
}

static EngParam *add_param(EngModel *m, const char *prefix, const char *leaf, int ndim, const int *shape) {
    EngParam *p = calloc(1, sizeof *p);
    if (!p) { fprintf(stderr, "salient: out of memory\n"); exit(1); }
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, leaf);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) { p->shape[i] = shape[i]; p->numel *= (size_t)shape[i]; }
    p->data = calloc(p->numel, sizeof(float));
    if (!p->data) { fprintf(stderr, "salient: out of memory for %s\n", p->name); exit(1); }
    m->params = grow(m->params, &m->cap_params, m->n_params + 1, sizeof *m->params);
    m->params[m->n_params++] = p;
    return p;
}

static int add_node(EngModel *m, EngOpKind op, const char *name, int n_in, const int *in, int c) {
    m->nodes = grow(m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *m->nodes);
    EngNode *nd = &m->nodes[m->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    snprintf(nd->name, sizeof nd->name, "%s", name);
    nd->n_in = n_in;
    if (n_in) {
        nd->in = malloc(sizeof(int) * n_in);
        if (!nd->in) { fprintf(stderr, "salient: out of memory\n"); exit(1); }
        memcpy(nd->in, in, sizeof(int) * n_in);
    }
    nd->c = c;
    return m->n_nodes++;
}

static void add_alias(EngModel *m, const char *name, int node) {
    m->alias = grow(m->alias, &m->cap_alias, m->n_alias + 1, sizeof *m->alias);
    snprintf(m->alias[m->n_alias].name, ENG_NAME_MAX, "%s", name);
    m->alias[m->n_alias++].node = node;
}

static int C_of(EngModel *m, int x) { return m->nodes[x].c; }

/* ---- layer builders: each returns the new node ---- */
static int conv(EngModel *m, const char *name, int x, int out_c, int k, int stride, int pad) {
    int shape[4] = {out_c, C_of(m, x), k, k};
    int id = add_node(m, ENG_OP_CONV2D, name, 1, &x, out_c);
    EngNode *nd = &m->nodes[id];
    nd->args.kh = nd->args.kw = k;
    nd->args.stride = stride; nd->args.pad = pad; nd->args.dilation = 1;
    nd->weight = add_param(m, name, "weight", 4, shape);
    return id;
}

static int bn(EngModel *m, const char *name, int x) {
    int c = C_of(m, x);
    int id = add_node(m, ENG_OP_BATCHNORM2D, name, 1, &x, c);
    EngNode *nd = &m->nodes[id];
    nd->args.eps = 1e-5f;
    nd->weight = add_param(m, name, "weight", 1, &c);
    nd->bias = add_param(m, name, "bias", 1, &c);
    nd->mean = add_param(m, name, "running_mean", 1, &c);
    nd->var = add_param(m, name, "running_var", 1, &c);
    for (int i = 0; i < c; i++) { nd->weight->data[i] = 1; nd->var->data[i] = 1; }
    return id;
}

static int unary(EngModel *m, EngOpKind op, const char *name, int x) {
    return add_node(m, op, name, 1, &x, C_of(m, x));
}

static int pool(EngModel *m, EngOpKind op, const char *name, int x, int k, int stride, int pad) {
    int id = unary(m, op, name, x);
    EngNode *nd = &m->nodes[id];
    nd->args.kh = nd->args.kw = k; nd->args.stride = stride; nd->args.pad = pad; nd->args.dilation = 1;
    return id;
}

static int add2(EngModel *m, const char *name, int a, int b) {
    int in[2] = {a, b};
    return add_node(m, ENG_OP_ADD, name, 2, in, C_of(m, a));
}

static int head(EngModel *m, const char *pool_name, const char *fc_name, int x) {
    int p = unary(m, ENG_OP_ADAPTIVE_AVGPOOL2D, pool_name, x);
    m->nodes[p].args.out_h = m->nodes[p].args.out_w = 1;
    int f = unary(m, ENG_OP_FLATTEN, "flatten", p);
    int id = add_node(m, ENG_OP_LINEAR, fc_name, 1, &f, m->n_classes);
    int wshape[2] = {m->n_classes, C_of(m, f)};
    m->nodes[id].weight = add_param(m, fc_name, "weight", 2, wshape);
    m->nodes[id].bias = add_param(m, fc_name, "bias", 1, &m->n_classes);
    return id;
}

static EngModel *model_new(const char *arch, int in_channels, int n_classes) {
    if (in_channels < 1 || in_channels > 4 || n_classes < 1 || n_classes > 1000000) {
        eng_set_error("bad model: %d input channels, %d classes", in_channels, n_classes);
        return NULL;
    }
    EngModel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    m->in_channels = in_channels;
    m->n_classes = n_classes;
    add_node(m, ENG_OP_INPUT, "input", 0, NULL, in_channels);
    return m;
}

/* ---- ResNet (torchvision resnet.py; v1.5: stride on the 3x3 conv) ---- */
static int resnet_block(EngModel *m, const char *p, int x, int planes, int stride, int bottleneck) {
    char n[ENG_NAME_MAX + 16];
    int expansion = bottleneck ? 4 : 1, in_c = C_of(m, x), y;
#define NM(leaf) (snprintf(n, sizeof n, "%s.%s", p, leaf), n)
    if (bottleneck) {
        y = conv(m, NM("conv1"), x, planes, 1, 1, 0);
        y = bn(m, NM("bn1"), y);
        y = unary(m, ENG_OP_RELU, NM("relu"), y);
        y = conv(m, NM("conv2"), y, planes, 3, stride, 1);
        y = bn(m, NM("bn2"), y);
        y = unary(m, ENG_OP_RELU, NM("relu@2"), y);
        y = conv(m, NM("conv3"), y, planes * 4, 1, 1, 0);
        y = bn(m, NM("bn3"), y);
    } else {
        y = conv(m, NM("conv1"), x, planes, 3, stride, 1);
        y = bn(m, NM("bn1"), y);
        y = unary(m, ENG_OP_RELU, NM("relu"), y);
        y = conv(m, NM("conv2"), y, planes, 3, 1, 1);
        y = bn(m, NM("bn2"), y);
    }
    int idn = x;
    if (stride != 1 || in_c != planes * expansion) {
        idn = conv(m, NM("downsample.0"), x, planes * expansion, 1, stride, 0);
        idn = bn(m, NM("downsample.1"), idn);
    }
    y = add2(m, NM("add"), y, idn);
    y = unary(m, ENG_OP_RELU, NM(bottleneck ? "relu@3" : "relu@2"), y);
#undef NM
    add_alias(m, p, y);
    return y;
}

EngModel *eng_resnet(int depth, int in_channels, int n_classes) {
    return eng_resnet_os(depth, in_channels, n_classes, 32);
}

EngModel *eng_resnet_os(int depth, int in_channels, int n_classes, int output_stride) {
    static const int cfg[5][5] = {{18, 2, 2, 2, 2}, {34, 3, 4, 6, 3}, {50, 3, 4, 6, 3},
                                  {101, 3, 4, 23, 3}, {152, 3, 8, 36, 3}};
    int ci = -1;
    for (int i = 0; i < 5; i++) if (cfg[i][0] == depth) ci = i;
    if (ci < 0) { eng_set_error("unknown resnet depth %d (18, 34, 50, 101, 152)", depth); return NULL; }
    if (output_stride != 32 && output_stride != 16) {
        eng_set_error("resnet output stride must be 32 or 16, not %d", output_stride);
        return NULL;
    }
    char arch[32];
    snprintf(arch, sizeof arch, output_stride == 32 ? "resnet%d" : "resnet%d-os16", depth);
    EngModel *m = model_new(arch, in_channels, n_classes);
    if (!m) return NULL;
    int bottleneck = depth >= 50;
    int x = conv(m, "conv1", 0, 64, 7, 2, 3);
    x = bn(m, "bn1", x);
    x = unary(m, ENG_OP_RELU, "relu", x);
    x = pool(m, ENG_OP_MAXPOOL2D, "maxpool", x, 3, 2, 1);
    for (int L = 0; L < 4; L++) {
        char lp[32], bp[48];
        snprintf(lp, sizeof lp, "layer%d", L + 1);
        for (int b = 0; b < cfg[ci][L + 1]; b++) {
            snprintf(bp, sizeof bp, "%s.%d", lp, b);
            int downsamples = L > 0 && b == 0 && !(L == 3 && output_stride == 16);
            x = resnet_block(m, bp, x, 64 << L, downsamples ? 2 : 1, bottleneck);
        }
        add_alias(m, lp, x);
    }
    head(m, "avgpool", "fc", x);
    return m;
}

/* ---- DenseNet (torchvision densenet.py, memory_efficient=False) ---- */
static int dense_layer(EngModel *m, const char *p, const int *feats, int n_feats, int growth, int bn_size) {
    char n[ENG_NAME_MAX + 16];
#define NM(leaf) (snprintf(n, sizeof n, "%s.%s", p, leaf), n)
    int x = feats[0];
    if (n_feats > 1) {
        int c = 0;
        for (int i = 0; i < n_feats; i++) c += C_of(m, feats[i]);
        x = add_node(m, ENG_OP_CONCAT, NM("cat"), n_feats, feats, c);
    }
    x = bn(m, NM("norm1"), x);
    x = unary(m, ENG_OP_RELU, NM("relu1"), x);
    x = conv(m, NM("conv1"), x, bn_size * growth, 1, 1, 0);
    x = bn(m, NM("norm2"), x);
    x = unary(m, ENG_OP_RELU, NM("relu2"), x);
    x = conv(m, NM("conv2"), x, growth, 3, 1, 1);
#undef NM
    add_alias(m, p, x);
    return x;
}

EngModel *eng_densenet(int depth, int in_channels, int n_classes) {
    static const int cfg[4][7] = {/* depth, growth, init, blocks */
                                  {121, 32, 64, 6, 12, 24, 16}, {161, 48, 96, 6, 12, 36, 24},
                                  {169, 32, 64, 6, 12, 32, 32}, {201, 32, 64, 6, 12, 48, 32}};
    int ci = -1;
    for (int i = 0; i < 4; i++) if (cfg[i][0] == depth) ci = i;
    if (ci < 0) { eng_set_error("unknown densenet depth %d (121, 161, 169, 201)", depth); return NULL; }
    char arch[32];
    snprintf(arch, sizeof arch, "densenet%d", depth);
    EngModel *m = model_new(arch, in_channels, n_classes);
    if (!m) return NULL;
    int growth = cfg[ci][1], bn_size = 4;
    int x = conv(m, "features.conv0", 0, cfg[ci][2], 7, 2, 3);
    x = bn(m, "features.norm0", x);
    x = unary(m, ENG_OP_RELU, "features.relu0", x);
    x = pool(m, ENG_OP_MAXPOOL2D, "features.pool0", x, 3, 2, 1);
    for (int B = 0; B < 4; B++) {
        int nl = cfg[ci][3 + B];
        int *feats = malloc(sizeof(int) * (nl + 1));
        if (!feats) { eng_model_free(m); return NULL; }
        feats[0] = x;
        char bp[48], lp[80];
        snprintf(bp, sizeof bp, "features.denseblock%d", B + 1);
        for (int l = 0; l < nl; l++) {
            snprintf(lp, sizeof lp, "%s.denselayer%d", bp, l + 1);
            feats[l + 1] = dense_layer(m, lp, feats, l + 1, growth, bn_size);
        }
        int c = 0;
        for (int i = 0; i <= nl; i++) c += C_of(m, feats[i]);
        x = add_node(m, ENG_OP_CONCAT, bp, nl + 1, feats, c);
        free(feats);
        if (B < 3) {
            char tp[48], n[80];
            snprintf(tp, sizeof tp, "features.transition%d", B + 1);
            snprintf(n, sizeof n, "%s.norm", tp); x = bn(m, n, x);
            snprintf(n, sizeof n, "%s.relu", tp); x = unary(m, ENG_OP_RELU, n, x);
            snprintf(n, sizeof n, "%s.conv", tp); x = conv(m, n, x, C_of(m, x) / 2, 1, 1, 0);
            snprintf(n, sizeof n, "%s.pool", tp); x = pool(m, ENG_OP_AVGPOOL2D, n, x, 2, 2, 0);
            add_alias(m, tp, x);
        }
    }
    x = bn(m, "features.norm5", x);
    add_alias(m, "features", x);
    x = unary(m, ENG_OP_RELU, "relu", x);
    head(m, "adaptive_avg_pool2d", "classifier", x);
    return m;
}

void eng_model_free(EngModel *m) {
    if (!m) return;
    for (int i = 0; m->wino && i < m->n_nodes; i++) {
        free(m->wino[i].from);
        free(m->wino[i].u[0]);
        free(m->wino[i].u[1]);
    }
    free(m->wino);
    for (int i = 0; i < m->n_nodes; i++) free(m->nodes[i].in);
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i]->data);
        free(m->params[i]->grad);
        free(m->params[i]);
    }
    free(m->nodes); free(m->params); free(m->alias); free(m);
}

const char *eng_model_arch(const EngModel *m) { return m->arch; }

EngModel *eng_model_clone(const EngModel *m) {
    int depth = 0;
    EngModel *c = NULL;
    if (sscanf(m->arch, "resnet%d", &depth) == 1)
        c = eng_resnet_os(depth, m->in_channels, m->n_classes, strstr(m->arch, "-os16") ? 16 : 32);
    else if (sscanf(m->arch, "densenet%d", &depth) == 1) c = eng_densenet(depth, m->in_channels, m->n_classes);
    else eng_set_error("cannot clone architecture '%s'", m->arch);
    if (!c) return NULL;
    for (int i = 0; i < m->n_params; i++) {
        const EngParam *a = m->params[i];
        EngParam *b = c->params[i];
        if (i >= c->n_params || a->numel != b->numel || strcmp(a->name, b->name)) {
            eng_set_error("clone of %s: parameter %d differs", m->arch, i);
            eng_model_free(c);
            return NULL;
        }
        memcpy(b->data, a->data, sizeof(float) * a->numel);
    }
    return c;
}
int eng_model_in_channels(const EngModel *m) { return m->in_channels; }
int eng_model_n_classes(const EngModel *m) { return m->n_classes; }
int eng_model_n_params(const EngModel *m) { return m->n_params; }
EngParam *eng_model_param(EngModel *m, int i) { return (i >= 0 && i < m->n_params) ? m->params[i] : NULL; }
int eng_model_n_nodes(const EngModel *m) { return m->n_nodes; }
const EngNode *eng_model_node(const EngModel *m, int i) { return (i >= 0 && i < m->n_nodes) ? &m->nodes[i] : NULL; }

EngParam *eng_model_param_find(EngModel *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i]->name, name)) return m->params[i];
    return NULL;
}

size_t eng_model_param_count(const EngModel *m) {
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++) {
        const char *nm = m->params[i]->name;
        size_t L = strlen(nm);
        /* buffers (running statistics) are not parameters, as in torch's parameters() */
        if (L > 13 && !strcmp(nm + L - 13, ".running_mean")) continue;
        if (L > 12 && !strcmp(nm + L - 12, ".running_var")) continue;
        n += m->params[i]->numel;
    }
    return n;
}

int eng_model_node_find(const EngModel *m, const char *name) {
    for (int i = 0; i < m->n_alias; i++)
        if (!strcmp(m->alias[i].name, name)) return m->alias[i].node;
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

int eng_model_n_names(const EngModel *m) { return m->n_nodes + m->n_alias; }

/* Names in graph order: each node's own name, followed by the aliases that
   point at it (innermost module first, as they were registered). */
const char *eng_model_name_at(const EngModel *m, int i, int *node) {
    int k = 0;
    for (int nd = 0; nd < m->n_nodes; nd++) {
        if (k++ == i) { if (node) *node = nd; return m->nodes[nd].name; }
        for (int a = 0; a < m->n_alias; a++)
            if (m->alias[a].node == nd && k++ == i) { if (node) *node = nd; return m->alias[a].name; }
    }
    return NULL;
}

static int pool_out(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

int eng_model_infer_shapes(EngModel *m, int h, int w) {
    if (h < 1 || w < 1 || h > 16384 || w > 16384) {
        return eng_fail("input size %dx%d out of range (1..16384)", h, w);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        EngNode *nd = &m->nodes[i];
        const EngNode *a = nd->n_in ? &m->nodes[nd->in[0]] : NULL;
        int ih = a ? a->h : h, iw = a ? a->w : w;
        switch (nd->op) {
        case ENG_OP_INPUT: nd->h = h; nd->w = w; break;
        case ENG_OP_CONV2D:
            nd->h = (ih + 2 * nd->args.pad - nd->args.dilation * (nd->args.kh - 1) - 1) / nd->args.stride + 1;
            nd->w = (iw + 2 * nd->args.pad - nd->args.dilation * (nd->args.kw - 1) - 1) / nd->args.stride + 1;
            if (ih + 2 * nd->args.pad < nd->args.dilation * (nd->args.kh - 1) + 1) nd->h = 0;
            if (iw + 2 * nd->args.pad < nd->args.dilation * (nd->args.kw - 1) + 1) nd->w = 0;
            break;
        case ENG_OP_MAXPOOL2D:
        case ENG_OP_AVGPOOL2D:
            nd->h = ih + 2 * nd->args.pad < nd->args.kh ? 0 : pool_out(ih, nd->args.kh, nd->args.stride, nd->args.pad);
            nd->w = iw + 2 * nd->args.pad < nd->args.kw ? 0 : pool_out(iw, nd->args.kw, nd->args.stride, nd->args.pad);
            break;
        case ENG_OP_ADAPTIVE_AVGPOOL2D: nd->h = nd->args.out_h; nd->w = nd->args.out_w; break;
        case ENG_OP_FLATTEN: nd->c = a->c * ih * iw; nd->h = nd->w = 1; break;
        case ENG_OP_LINEAR: nd->h = nd->w = 1; break;
        case ENG_OP_BATCHNORM2D: case ENG_OP_RELU: case ENG_OP_CONCAT: case ENG_OP_ADD:
        case ENG_OP_SOFTMAX: case ENG_OP_LOG_SOFTMAX:
            nd->h = ih; nd->w = iw; break;
        case ENG_OP_COUNT: break;
        }
        if (nd->h < 1 || nd->w < 1) {
            eng_set_error("input %dx%d is too small for %s: its output would be empty", h, w, nd->name);
            m->shape_h = m->shape_w = 0;
            return -1;
        }
        for (int k = 1; k < nd->n_in; k++)
            if (m->nodes[nd->in[k]].h != ih || m->nodes[nd->in[k]].w != iw) {
                eng_set_error("input %dx%d gives mismatched shapes at %s", h, w, nd->name);
                m->shape_h = m->shape_w = 0;
                return -1;
            }
    }
    m->shape_h = h; m->shape_w = w;
    return 0;
}
