/* pass.c - the tape: forward (taped or forward-only) and backward over a
   model graph, for one batch size and input size.

   Memory. Taped forward (ENG_TAPE) keeps every node's activation in its own buffer
   (allocated on first use, kept for the pass's life, so repeated passes do
   not touch the allocator); ENG_TAPE_GRAD keeps only the ends of fused
   conv/bn/add/relu groups (resnet50: 3 of a bottleneck's 10 results).
   Forward-only runs take buffers from a pool and
   return each one as soon as the last node reading it has run. Gradients
   come from the same pool: a node's gradient buffer is released once its
   backward rule ran, unless the caller asked to keep it.

   Backward accumulates (+=) into input gradients, zeroed when first taken:
   fan-out in residual and dense blocks is correct by construction. */
#include "engine/model_internal.h"
#include "engine/ops.h"
#include "engine/parallel.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *op_names[] = {
    [ENG_OP_INPUT] = "input",       [ENG_OP_CONV2D] = "conv2d",
    [ENG_OP_BATCHNORM2D] = "batchnorm2d", [ENG_OP_RELU] = "relu",
    [ENG_OP_MAXPOOL2D] = "maxpool2d",     [ENG_OP_AVGPOOL2D] = "avgpool2d",
    [ENG_OP_ADAPTIVE_AVGPOOL2D] = "adaptive_avgpool2d", [ENG_OP_CONCAT] = "concat",
    [ENG_OP_ADD] = "add",           [ENG_OP_FLATTEN] = "flatten",
    [ENG_OP_LINEAR] = "linear",     [ENG_OP_SOFTMAX] = "softmax",
    [ENG_OP_LOG_SOFTMAX] = "log_softmax",
};
static_assert(sizeof op_names / sizeof op_names[0] == ENG_OP_COUNT, "op_names must list every op");

const char *eng_op_name(EngOpKind op) {
    return (op >= 0 && op < ENG_OP_COUNT) ? op_names[op] : "?";
}

static int g_reference = 0;
void eng_set_reference(int on) { g_reference = on; }
int eng_get_reference(void) { return g_reference; }

static EngTraceFn g_trace;
static void *g_trace_ctx;
void eng_set_trace(EngTraceFn fn, void *ctx) { g_trace = fn; g_trace_ctx = ctx; }

static void trace_event(const EngPass *p, int node, int backward, int input_index, const float *out, int node_of_shape);

static EngProfile *g_profile;
void eng_set_profile(EngProfile *prof) { g_profile = prof; }

static double profile_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static void profile_add(int backward, EngOpKind op, double t0) {
    if (!g_profile) return;
    double dt = profile_now_ms() - t0;
    (backward ? g_profile->backward_ms : g_profile->forward_ms)[op] += dt;
}

static int g_threads = 0;
void eng_set_threads(int n) {
    g_threads = n;
    eng_parallel_set_threads(n); /* OpenBLAS stays single-threaded: the engine's threads split each gemm (ops.c) */
}
int eng_get_threads(void) { return g_threads > 0 ? g_threads : openblas_get_num_procs(); }
const char *eng_blas_info(void) { return openblas_get_config(); }
const char *eng_conv_info(void) {
    return g_reference ? "plain loops accumulating in double (reference path)"
                       : "im2col + fixed-order fma gemm (engine/gemm.c); Winograd F(2x2,3x3) (16 such gemms over transformed tiles) for "
                         "the 3x3 stride-1 convolutions engine/winograd.c's conv_wino_ok selects";
}

/* ---- buffer pool ---- */
typedef struct { float *p; size_t cap; int used; } PoolBuf;

struct EngPass {
    EngModel *m;
    int n, h, w;
    int cap_n;           /* the batch the pass was made for; n <= cap_n (eng_pass_set_batch) */
    size_t *numel;       /* per node: n*c*h*w */
    size_t *tape_cap;    /* per node: floats in tape[i] (and int32s in argmax[i]) */
    float **tape;        /* per node: dedicated taped activation */
    float **act;         /* per node: current activation (tape or pool), NULL if released */
    float **grad;        /* per node: gradient buffer, NULL if none */
    int32_t **argmax;    /* per maxpool node */
    int *last_use;       /* per node: index of the last node that reads it */
    int *readers;        /* per node: how many input slots read it */
    int *group_head;     /* per node: first node of the fused group it ends (ENG_TAPE_GRAD), or -1 */
    int n_fused;         /* nodes the last forward absorbed into fused groups */
    float *coef; size_t coef_cap; /* batch-norm coefficients of a fused group */
    int *route; size_t route_cap; /* a fused concatenation's plane map (concat_map) */
    void **route_ptrs; size_t route_ptrs_cap;
    int taped;           /* the last forward was taped (ENG_TAPE or ENG_TAPE_GRAD) */
    int tape_all;        /* ... and kept every node (ENG_TAPE) */
    char *keep;          /* per node: never inside a fused group (eng_pass_keep) */
    PoolBuf *pool; int n_pool, cap_pool;
    float *work; size_t work_cap;
    const EngBackwardOpts *opts;
};

static float *pool_take(EngPass *p, size_t n) {
    int best = -1;
    for (int i = 0; i < p->n_pool; i++)
        if (!p->pool[i].used && p->pool[i].cap >= n && (best < 0 || p->pool[i].cap < p->pool[best].cap)) best = i;
    if (best < 0) {
        if (p->n_pool == p->cap_pool) {
            int nc = p->cap_pool ? 2 * p->cap_pool : 32;
            PoolBuf *q = realloc(p->pool, sizeof *q * nc);
            if (!q) return NULL;
            p->pool = q; p->cap_pool = nc;
        }
        float *b = malloc(sizeof(float) * (n ? n : 1));
        if (!b) return NULL;
        p->pool[p->n_pool] = (PoolBuf){b, n, 0};
        best = p->n_pool++;
    }
    p->pool[best].used = 1;
    return p->pool[best].p;
}

static void pool_give(EngPass *p, float *b) {
    for (int i = 0; i < p->n_pool; i++)
        if (p->pool[i].p == b) { p->pool[i].used = 0; return; }
}

static int pool_owns(const EngPass *p, const float *b) {
    for (int i = 0; i < p->n_pool; i++) if (p->pool[i].p == b) return 1;
    return 0;
}

/* *buf grown to at least n floats (contents not kept); NULL if out of memory. */
static float *scratch_get(float **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        free(*buf);
        *buf = malloc(sizeof(float) * n);
        *cap = *buf ? n : 0;
    }
    return *buf;
}

static float *work_get(EngPass *p, size_t n) { return scratch_get(&p->work, &p->work_cap, n); }

/* Node's Winograd weights for the forward (0) or the input gradient (1),
   made again if its weights changed since (EngWinoWeights); NULL if out of
   memory. */
static const float *wino_weights(EngModel *m, int node, const ConvShape *s, int input_grad) {
    const EngParam *w = m->nodes[node].weight;
    size_t bytes = sizeof(float) * w->numel;
    if (!m->wino && !(m->wino = calloc(m->n_nodes, sizeof *m->wino))) return NULL;
    EngWinoWeights *c = &m->wino[node];
    if (!c->from || memcmp(c->from, w->data, bytes)) {
        free(c->u[0]); free(c->u[1]);
        c->u[0] = c->u[1] = NULL;
        if (!c->from && !(c->from = malloc(bytes))) return NULL;
        memcpy(c->from, w->data, bytes);
    }
    if (!c->u[input_grad]) {
        float *u = malloc(sizeof(float) * conv_wino_weights_floats(s));
        if (!u) return NULL;
        conv_wino_weights(u, w->data, s, input_grad);
        c->u[input_grad] = u;
    }
    return c->u[input_grad];
}

/* The fast path's conv: Winograd where it pays (conv_wino_ok), else im2col. */
static int conv_forward_fast(EngPass *p, int node, float *out, const float *x, const Epilogue *e,
                             const ConvShape *s) {
    const float *weight = p->m->nodes[node].weight->data;
    int wino = conv_wino_ok(s, 0);
    float *work = work_get(p, wino ? conv_wino_work_floats(s) : conv2d_work_floats(s));
    const float *U = work && wino ? wino_weights(p->m, node, s, 0) : NULL;
    if (!work || (wino && !U)) return eng_fail("out of memory in convolution %s", p->m->nodes[node].name);
    if (wino) conv_wino_forward(out, x, U, e, s, work);
    else conv2d_forward_fused(out, x, weight, e, s, work);
    return 0;
}

static int conv_backward_fast(EngPass *p, int node, float *dx, float *dw, float *db, const float *dy, const float *x,
                              const ConvShape *s) {
    const float *weight = p->m->nodes[node].weight->data;
    int wino = dx && conv_wino_ok(s, 1);
    size_t need = conv2d_work_floats(s), need_wino = wino ? conv_wino_work_floats(s) : 0;
    float *work = work_get(p, need_wino > need ? need_wino : need);
    const float *Ut = work && wino ? wino_weights(p->m, node, s, 1) : NULL;
    if (!work || (wino && !Ut)) return eng_fail("out of memory in convolution %s", p->m->nodes[node].name);
    if (!wino) { conv2d_backward(dx, dw, db, dy, x, weight, s, work); return 0; }
    if (dw || db) conv2d_backward(NULL, dw, db, dy, x, weight, s, work);
    conv_wino_input_grad(dx, dy, Ut, s, work);
    return 0;
}

EngPass *eng_pass_new(EngModel *m, int n, int h, int w) {
    if (n < 1 || n > 1 << 20) { eng_set_error("batch size %d out of range", n); return NULL; }
    if (eng_model_infer_shapes(m, h, w)) return NULL;
    EngPass *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    int nn = m->n_nodes;
    p->m = m; p->n = n; p->h = h; p->w = w;
    p->cap_n = n;
    p->numel = calloc(nn, sizeof *p->numel);
    p->tape_cap = calloc(nn, sizeof *p->tape_cap);
    p->tape = calloc(nn, sizeof *p->tape);
    p->act = calloc(nn, sizeof *p->act);
    p->grad = calloc(nn, sizeof *p->grad);
    p->argmax = calloc(nn, sizeof *p->argmax);
    p->last_use = calloc(nn, sizeof *p->last_use);
    p->readers = calloc(nn, sizeof *p->readers);
    p->keep = calloc(nn, 1);
    p->group_head = malloc(sizeof(int) * nn);
    if (!p->numel || !p->tape_cap || !p->tape || !p->act || !p->grad || !p->argmax || !p->last_use ||
        !p->readers || !p->keep || !p->group_head) {
        eng_pass_free(p);
        return NULL;
    }
    for (int i = 0; i < nn; i++) {
        const EngNode *nd = &m->nodes[i];
        size_t per = (size_t)nd->c * nd->h * nd->w, tot;
        if (eng_size_mul(per, (size_t)n, &tot) || tot > ((size_t)1 << 40)) {
            eng_set_error("batch %d at %dx%d is too large (%s)", n, h, w, nd->name);
            eng_pass_free(p);
            return NULL;
        }
        p->numel[i] = tot;
        p->last_use[i] = i;
        for (int k = 0; k < nd->n_in; k++) { p->last_use[nd->in[k]] = i; p->readers[nd->in[k]]++; }
    }
    return p;
}

void eng_pass_free(EngPass *p) {
    if (!p) return;
    if (p->tape) for (int i = 0; i < p->m->n_nodes; i++) free(p->tape[i]);
    if (p->argmax) for (int i = 0; i < p->m->n_nodes; i++) free(p->argmax[i]);
    for (int i = 0; i < p->n_pool; i++) free(p->pool[i].p);
    free(p->pool); free(p->numel); free(p->tape_cap); free(p->tape); free(p->act); free(p->grad);
    free(p->argmax); free(p->last_use); free(p->readers); free(p->keep); free(p->group_head); free(p->work); free(p->coef);
    free(p->route); free(p->route_ptrs); free(p);
}

int eng_pass_batch(const EngPass *p) { return p->n; }
int eng_pass_set_batch(EngPass *p, int n) {
    if (n < 1 || n > p->cap_n) return eng_fail("batch %d does not fit a pass made for %d", n, p->cap_n);
    for (int i = 0; i < p->m->n_nodes; i++) p->numel[i] = p->numel[i] / p->n * n;
    p->n = n;
    return 0;
}

/* The taped activation buffer of node i, grown when a bigger batch needs it. */
static float *tape_buf(EngPass *p, int i) {
    if (p->numel[i] > p->tape_cap[i]) {
        free(p->tape[i]);
        free(p->argmax[i]);
        p->argmax[i] = NULL;
        p->tape[i] = malloc(sizeof(float) * p->numel[i]);
        p->tape_cap[i] = p->tape[i] ? p->numel[i] : 0;
    }
    return p->tape[i];
}
int eng_pass_fused(const EngPass *p) { return p->n_fused; }
EngModel *eng_pass_model(EngPass *p) { return p->m; }
size_t eng_pass_node_numel(const EngPass *p, int node) { return p->numel[node]; }
const float *eng_pass_output(const EngPass *p) { return p->act[p->m->n_nodes - 1]; }
void eng_pass_keep(EngPass *p, int node) {
    if (node >= 0 && node < p->m->n_nodes) p->keep[node] = 1;
}
const float *eng_pass_act(const EngPass *p, int node) {
    return (node >= 0 && node < p->m->n_nodes) ? p->act[node] : NULL;
}
const float *eng_pass_grad(const EngPass *p, int node) {
    return (node >= 0 && node < p->m->n_nodes) ? p->grad[node] : NULL;
}
const float *eng_pass_input_grad(const EngPass *p) { return p->grad[0]; }
const int32_t *eng_pass_argmax(const EngPass *p, int node) { return p->argmax[node]; }

/* ---- forward ---- */
static void conv_shape_of(ConvShape *s, const EngPass *p, const EngNode *nd) {
    const EngNode *a = &p->m->nodes[nd->in[0]];
    conv_shape_init(s, p->n, a->c, a->h, a->w, nd->c, nd->args.kh, nd->args.kw,
                    nd->args.stride, nd->args.pad, nd->args.dilation);
}

static int run_node(EngPass *p, int i, float *out) {
    const EngNode *nd = &p->m->nodes[i];
    const EngNode *a = nd->n_in ? &p->m->nodes[nd->in[0]] : NULL;
    const float *x = nd->n_in ? p->act[nd->in[0]] : NULL;
    int N = p->n;
    switch (nd->op) {
    case ENG_OP_INPUT: break;
    case ENG_OP_CONV2D: {
        ConvShape s;
        conv_shape_of(&s, p, nd);
        if (g_reference) { conv2d_forward_ref(out, x, nd->weight->data, nd->bias ? nd->bias->data : NULL, &s); break; }
        Epilogue e = {.bias = nd->bias ? nd->bias->data : NULL};
        if (conv_forward_fast(p, i, out, x, &e, &s)) return -1;
        break;
    }
    case ENG_OP_BATCHNORM2D:
        batchnorm_forward(out, x, nd->weight->data, nd->bias->data, nd->mean->data, nd->var->data,
                          nd->args.eps, N, nd->c, nd->h * nd->w);
        break;
    case ENG_OP_RELU: relu_forward(out, x, p->numel[i]); break;
    case ENG_OP_MAXPOOL2D: {
        int32_t *am = NULL;
        if (p->taped) {
            if (!p->argmax[i]) p->argmax[i] = malloc(sizeof(int32_t) * p->tape_cap[i]); /* sized with tape[i] */
            if (!(am = p->argmax[i])) return -1;
        }
        maxpool_forward(out, am, x, N, a->c, a->h, a->w, nd->args.kh, nd->args.stride, nd->args.pad, nd->h, nd->w);
        break;
    }
    case ENG_OP_AVGPOOL2D:
        avgpool_forward(out, x, N, a->c, a->h, a->w, nd->args.kh, nd->args.stride, nd->args.pad, nd->h, nd->w);
        break;
    case ENG_OP_ADAPTIVE_AVGPOOL2D:
        adaptive_avgpool_forward(out, x, N, a->c, a->h, a->w, nd->h, nd->w);
        break;
    case ENG_OP_CONCAT: {
        const float *ins[1024]; int cs[1024];
        if (nd->n_in > 1024) return -1;
        for (int k = 0; k < nd->n_in; k++) { ins[k] = p->act[nd->in[k]]; cs[k] = p->m->nodes[nd->in[k]].c; }
        concat_forward(out, ins, cs, nd->n_in, N, nd->h * nd->w);
        break;
    }
    case ENG_OP_ADD: add_forward(out, x, p->act[nd->in[1]], p->numel[i]); break;
    case ENG_OP_FLATTEN: memcpy(out, x, sizeof(float) * p->numel[i]); break;
    case ENG_OP_LINEAR:
        (g_reference ? linear_forward_ref : linear_forward)(out, x, nd->weight->data,
                                                            nd->bias ? nd->bias->data : NULL, N, a->c, nd->c);
        break;
    case ENG_OP_SOFTMAX: softmax_forward(out, x, N, nd->c); break;
    case ENG_OP_LOG_SOFTMAX: log_softmax_forward(out, x, N, nd->c); break;
    case ENG_OP_COUNT: return -1;
    }
    return 0;
}

static void release_grads(EngPass *p) {
    for (int i = 0; i < p->m->n_nodes; i++) {
        if (p->grad[i] && pool_owns(p, p->grad[i])) pool_give(p, p->grad[i]);
        p->grad[i] = NULL;
    }
}

int eng_model_is_cut(const EngModel *m, int node) {
    if (node < 0 || node >= m->n_nodes) return 0;
    for (int i = node + 1; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] < node) return 0;
    return 1;
}

/* ---- fused groups (forward-only and ENG_TAPE_GRAD runs) ----
   A conv, concatenation, batch norm or add takes in the batch norm, add
   and relu right after it (in that order; a conv->bn->add->relu bottleneck
   tail is one group, so is densenet's concat->norm1->relu1) when each of
   them reads the previous one, nothing else reads the
   results in between, and an absorbed add's other operand was computed
   before the group. The group writes only its last node's activation,
   through one epilogue pass (ops.h: Epilogue), bit-identical to running the
   nodes one by one. Input gradients never need the results inside a group
   (conv and linear backward read their input only for weight gradients,
   batch norm its input only for gamma/beta, add and concat nothing; the relu at the end
   is kept), so ENG_TAPE_GRAD fuses too, except around eng_pass_keep nodes.
   Never under a trace (it reports every node), on the reference path, or
   across a replaced node. */
typedef struct { int end; Epilogue e; const float *inp; } FuseGroup;

static int fuse_stage(EngOpKind op) {
    if (op == ENG_OP_CONV2D || op == ENG_OP_CONCAT) return 0;
    return op == ENG_OP_BATCHNORM2D ? 1 : op == ENG_OP_ADD ? 2 : op == ENG_OP_RELU ? 3 : -1;
}

/* Does node j = cur + 1 join the group that starts at head and ends at cur? */
static int fuse_joins(const EngPass *p, int head, int cur, int rnode) {
    const EngModel *m = p->m;
    int j = cur + 1;
    if (j >= m->n_nodes || j == rnode || p->readers[cur] != 1 || (p->taped && p->keep[cur])) return 0;
    const EngNode *nd = &m->nodes[j];
    int sj = fuse_stage(nd->op);
    if (sj <= fuse_stage(m->nodes[cur].op)) return 0;
    if (nd->op != ENG_OP_ADD) return nd->in[0] == cur;
    int other = nd->in[0] == cur ? nd->in[1] : nd->in[1] == cur ? nd->in[0] : -1;
    return other >= 0 && other < head;
}

/* The group starting at node i (its last node in g->end, == i for none). */
static int fuse_plan(EngPass *p, int i, int rnode, FuseGroup *g) {
    const EngModel *m = p->m;
    const EngNode *h = &m->nodes[i];
    memset(g, 0, sizeof *g);
    g->end = i;
    int stage = fuse_stage(h->op);
    if (stage < 0 || stage > 2) return 0;
    while (fuse_joins(p, i, g->end, rnode)) g->end++;
    if (g->end == i) return 0;
    g->inp = p->act[h->in[0]];
    if (h->op == ENG_OP_CONV2D) g->e.bias = h->bias ? h->bias->data : NULL;
    for (int j = i; j <= g->end; j++) {
        const EngNode *nd = &m->nodes[j];
        if (nd->op == ENG_OP_BATCHNORM2D) {
            float *c = scratch_get(&p->coef, &p->coef_cap, 2 * (size_t)nd->c);
            if (!c) return -1;
            batchnorm_coeffs(c, c + nd->c, nd->weight->data, nd->bias->data, nd->mean->data, nd->var->data,
                             nd->args.eps, nd->c);
            g->e.scale = c; g->e.shift = c + nd->c;
        } else if (nd->op == ENG_OP_ADD) {
            int other = (j == i) ? nd->in[1] : (nd->in[0] == j - 1 ? nd->in[1] : nd->in[0]);
            g->e.residual = p->act[other];
        } else if (nd->op == ENG_OP_RELU) {
            g->e.relu = 1;
        }
    }
    return 0;
}

/* Concatenation node cat's plane map in the pass's scratch: plane c of
   the concatenation is plane c_of[c] of input k_of[c], which has n_of[k]
   channels; ptrs holds n_in pointers for the caller. -1 if out of memory. */
static int concat_map(EngPass *p, int cat, int **k_of, int **c_of, int **n_of, void ***ptrs) {
    const EngNode *nd = &p->m->nodes[cat];
    size_t need = (size_t)2 * nd->c + nd->n_in;
    if (need > p->route_cap || (size_t)nd->n_in > p->route_ptrs_cap) {
        free(p->route); free(p->route_ptrs);
        p->route = malloc(sizeof(int) * need);
        p->route_ptrs = malloc(sizeof(void *) * nd->n_in);
        p->route_cap = p->route && p->route_ptrs ? need : 0;
        p->route_ptrs_cap = p->route_cap ? (size_t)nd->n_in : 0;
        if (!p->route_cap) return -1;
    }
    *k_of = p->route; *c_of = *k_of + nd->c; *n_of = *c_of + nd->c; *ptrs = p->route_ptrs;
    for (int k = 0, c0 = 0; k < nd->n_in; k++) {
        int ck = p->m->nodes[nd->in[k]].c;
        (*n_of)[k] = ck;
        for (int c = 0; c < ck; c++) { (*k_of)[c0 + c] = k; (*c_of)[c0 + c] = c; }
        c0 += ck;
    }
    return 0;
}

/* A group headed by a concatenation (densenet: concat -> norm -> relu):
   the epilogue reads each plane from the concatenated input it comes from,
   so the concatenation itself is never written (the same values, so the
   same bits as concat_forward followed by the epilogue). */
typedef struct {
    const float *const *src; const int *k_of, *c_of, *n_of;
    const Epilogue *e; float *out;
    int C; size_t P;
} CatEpiJob;

static void concat_epilogue_range(void *ctx, size_t lo, size_t hi) {
    const CatEpiJob *j = ctx;
    for (size_t pl = lo; pl < hi; pl++) {
        int c = (int)(pl % j->C), k = j->k_of[c];
        const float *src = j->src[k] + ((pl / j->C) * j->n_of[k] + j->c_of[c]) * j->P;
        epilogue_span(j->out + pl * j->P, src, j->P, j->e, c, j->e->residual ? j->e->residual + pl * j->P : NULL);
    }
}

static int concat_epilogue(EngPass *p, int cat, const Epilogue *e, float *out) {
    const EngNode *nd = &p->m->nodes[cat];
    int *k_of, *c_of, *n_of;
    void **ptrs;
    if (concat_map(p, cat, &k_of, &c_of, &n_of, &ptrs)) return -1;
    for (int k = 0; k < nd->n_in; k++) ptrs[k] = p->act[nd->in[k]];
    CatEpiJob j = {(const float *const *)ptrs, k_of, c_of, n_of, e, out, nd->c, (size_t)nd->h * nd->w};
    eng_parallel_for((size_t)p->n * nd->c, eng_min_items(j.P), concat_epilogue_range, &j);
    return 0;
}

static int run_group(EngPass *p, int i, const FuseGroup *g, float *out) {
    const EngNode *h = &p->m->nodes[i], *last = &p->m->nodes[g->end];
    if (h->op == ENG_OP_CONCAT) return concat_epilogue(p, i, &g->e, out);
    if (h->op != ENG_OP_CONV2D) {
        epilogue_forward(out, g->inp, &g->e, p->n, last->c, (size_t)last->h * last->w);
        return 0;
    }
    ConvShape s;
    conv_shape_of(&s, p, h);
    return conv_forward_fast(p, i, out, g->inp, &g->e, &s);
}

static int forward_impl(EngPass *p, const float *x, int mode, int rnode, const float *ract) {
    EngModel *m = p->m;
    if (m->shape_h != p->h || m->shape_w != p->w) /* another pass re-inferred the shapes */
        if (eng_model_infer_shapes(m, p->h, p->w)) return -1;
    release_grads(p);
    for (int i = 0; i < m->n_nodes; i++) {
        if (p->act[i] && pool_owns(p, p->act[i])) pool_give(p, p->act[i]);
        p->act[i] = NULL;
    }
    p->taped = mode == ENG_TAPE || mode == ENG_TAPE_GRAD;
    p->tape_all = mode == ENG_TAPE;
    int last = m->n_nodes - 1, start = 0;
    if (!x) {
        if (rnode <= 0 || !eng_model_is_cut(m, rnode)) {
            return eng_fail("forward without an input needs a replaced cut node");
        }
        start = rnode;
    }
    int fuse = !p->tape_all && !g_trace && !g_reference;
    p->n_fused = 0;
    for (int i = 0; i < m->n_nodes; i++) p->group_head[i] = -1;
    for (int i = start; i < m->n_nodes; i++) {
        FuseGroup g = {.end = i};
        if (fuse && i > 0 && i != rnode && fuse_plan(p, i, rnode, &g)) {
            return eng_fail("out of memory at %s", m->nodes[i].name);
        }
        int end = g.end;
        float *out;
        if (i == 0) {
            out = (float *)x; /* the input is read, never written */
        } else if (p->taped) {
            out = tape_buf(p, end);
        } else {
            out = pool_take(p, p->numel[end]);
        }
        if (!out) return eng_fail("out of memory at %s", m->nodes[i].name);
        p->act[end] = out;
        double t0 = g_profile ? profile_now_ms() : 0;
        int rc = i == rnode ? (memcpy(out, ract, sizeof(float) * p->numel[i]), 0)
               : end > i    ? run_group(p, i, &g, out)
                            : run_node(p, i, out);
        profile_add(0, m->nodes[i].op, t0);
        if (rc) return eng_fail("forward failed at %s", m->nodes[i].name);
        if (g_trace) trace_event(p, i, 0, -1, out, i);
        p->n_fused += end - i;
        if (end > i) p->group_head[end] = i;
        if (p->taped) { i = end; continue; }
        for (int q = i; q <= end; q++) { /* release what the last reader has read */
            const EngNode *nd = &m->nodes[q];
            for (int k = 0; k < nd->n_in; k++) {
                int j = nd->in[k];
                if (j > 0 && j != last && p->last_use[j] == q && p->act[j]) {
                    pool_give(p, p->act[j]);
                    p->act[j] = NULL;
                }
            }
        }
        i = end;
    }
    if (!p->taped) p->act[0] = NULL; /* the caller's input buffer is not ours to expose later */
    return 0;
}

int eng_pass_forward(EngPass *p, const float *x, int mode) {
    if (!x) return eng_fail("forward without an input");
    return forward_impl(p, x, mode, -1, NULL);
}

int eng_pass_forward_replace(EngPass *p, const float *x, int mode, int node, const float *act) {
    if (node <= 0 || node >= p->m->n_nodes || !act) return eng_fail("bad node to replace");
    return forward_impl(p, x, mode, node, act);
}

static void trace_event(const EngPass *p, int node, int backward, int input_index, const float *out, int shape_node) {
    const EngNode *sn = &p->m->nodes[shape_node];
    EngTraceEvent ev = {backward, node, &p->m->nodes[node], p->n, input_index, out, p->numel[shape_node],
                        sn->c, sn->h, sn->w};
    g_trace(&ev, g_trace_ctx);
}

/* ---- backward ---- */
static void zero_range(void *ctx, size_t lo, size_t hi) {
    memset((float *)ctx + lo * 4096, 0, sizeof(float) * (hi - lo) * 4096);
}

/* b (n) = 0 on the engine's threads, in blocks of 4096 floats. */
static void zero_floats(float *b, size_t n) {
    size_t blocks = n / 4096;
    eng_parallel_for(blocks, 16, zero_range, b);
    memset(b + blocks * 4096, 0, sizeof(float) * (n - blocks * 4096));
}
float *eng_pass_in_grad_buf(EngPass *p, int node, int k) {
    const EngNode *nd = &p->m->nodes[node];
    if (k < 0 || k >= nd->n_in) return NULL;
    int j = nd->in[k];
    if (!p->grad[j]) {
        p->grad[j] = pool_take(p, p->numel[j]);
        if (p->grad[j]) zero_floats(p->grad[j], p->numel[j]);
    }
    return p->grad[j];
}

static float *param_grad(EngParam *q, const EngPass *p) {
    if (!p->opts || !p->opts->param_grads || !q) return NULL;
    return q->grad;
}

static int backward_builtin(EngPass *p, int i) {
    const EngNode *nd = &p->m->nodes[i];
    const EngNode *a = nd->n_in ? &p->m->nodes[nd->in[0]] : NULL;
    const float *dy = p->grad[i], *x = nd->n_in ? p->act[nd->in[0]] : NULL;
    int N = p->n;
    float *dx = nd->n_in ? eng_pass_in_grad_buf(p, i, 0) : NULL;
    if (nd->n_in && !dx) return -1;
    switch (nd->op) {
    case ENG_OP_INPUT: break;
    case ENG_OP_CONV2D: {
        ConvShape s;
        conv_shape_of(&s, p, nd);
        float *dw = param_grad(nd->weight, p), *db = param_grad(nd->bias, p);
        if (g_reference) { conv2d_backward_ref(dx, dw, db, dy, x, nd->weight->data, &s); break; }
        if (conv_backward_fast(p, i, dx, dw, db, dy, x, &s)) return -1;
        break;
    }
    case ENG_OP_BATCHNORM2D:
        batchnorm_backward(dx, param_grad(nd->weight, p), param_grad(nd->bias, p), dy, x, nd->weight->data,
                           nd->mean->data, nd->var->data, nd->args.eps, N, nd->c, nd->h * nd->w);
        break;
    case ENG_OP_RELU: relu_backward(dx, dy, p->act[i], p->numel[i]); break;
    case ENG_OP_MAXPOOL2D:
        maxpool_backward(dx, dy, p->argmax[i], N, a->c, a->h, a->w, nd->h, nd->w);
        break;
    case ENG_OP_AVGPOOL2D:
        avgpool_backward(dx, dy, N, a->c, a->h, a->w, nd->args.kh, nd->args.stride, nd->args.pad, nd->h, nd->w);
        break;
    case ENG_OP_ADAPTIVE_AVGPOOL2D:
        adaptive_avgpool_backward(dx, dy, N, a->c, a->h, a->w, nd->h, nd->w);
        break;
    case ENG_OP_CONCAT: {
        float *ds[1024]; int cs[1024];
        for (int k = 0; k < nd->n_in; k++) {
            ds[k] = eng_pass_in_grad_buf(p, i, k);
            if (!ds[k]) return -1;
            cs[k] = p->m->nodes[nd->in[k]].c;
        }
        concat_backward(ds, dy, cs, nd->n_in, N, nd->h * nd->w);
        break;
    }
    case ENG_OP_ADD: {
        float *db = eng_pass_in_grad_buf(p, i, 1);
        if (!db) return -1;
        add_backward(dx, db, dy, p->numel[i]);
        break;
    }
    case ENG_OP_FLATTEN:
        for (size_t k = 0; k < p->numel[i]; k++) dx[k] += dy[k];
        break;
    case ENG_OP_LINEAR:
        (g_reference ? linear_backward_ref : linear_backward)(dx, param_grad(nd->weight, p), param_grad(nd->bias, p),
                                                              dy, x, nd->weight->data, N, a->c, nd->c);
        break;
    case ENG_OP_SOFTMAX: softmax_backward(dx, dy, p->act[i], N, nd->c); break;
    case ENG_OP_LOG_SOFTMAX: log_softmax_backward(dx, dy, p->act[i], N, nd->c); break;
    case ENG_OP_COUNT: return -1;
    }
    return 0;
}

static int keep_grad(const EngBackwardOpts *o, int node) {
    if (node == 0 || !o || !o->keep_grads || o->n_keep_grads <= 0) return 1;
    for (int k = 0; k < o->n_keep_grads; k++) if (o->keep_grads[k] == node) return 1;
    return 0;
}

/* ---- fused backward ----
   Backward through a fused group (forward: ENG_TAPE_GRAD) from its end e
   to its head h: the relu, add and batch-norm rules inside it are
   elementwise, so d(head output) is made in one pass, and the add's other
   operand gets its share on the way. Each step is the built-in rule's own
   arithmetic on a zeroed buffer (0 + v, the relu mask, dy * a with the
   backward's a), so the result is bit-identical. Only with built-in rules
   for those ops, no trace or reference path, and when no gradient inside
   the group was asked to stay readable. */
static int group_fusable_backward(const EngPass *p, int h, int e, const EngBackwardOpts *o) {
    if (g_trace || g_reference || !o || !o->keep_grads || o->n_keep_grads <= 0) return 0;
    for (int q = h + 1; q <= e; q++)
        if (o->rule[p->m->nodes[q].op]) return 0;
    for (int k = 0; k < o->n_keep_grads; k++)
        if (o->keep_grads[k] > h && o->keep_grads[k] < e) return 0;
    return 1;
}

typedef struct {
    const EngNode *bn;   /* the group's batch norm, or NULL */
    const float *dy, *out; /* out: the relu's output, or NULL */
    float *other, *gh;   /* the add's other operand's gradient, or NULL; d(head output) */
    int C;
    size_t P;
    int into_input;      /* the head is the batch norm: gh is its INPUT's gradient, accumulated */
    /* ... and that input a concatenation read by nothing else: plane (n, c)
       goes to input cat_k[c]'s gradient, channel cat_c[c] of cat_n[k] */
    float **cat_grad;
    const int *cat_k, *cat_c, *cat_n;
} GroupJob;

/* One plane of the group's backward with the steps fixed at compile time
   (each call below passes constants, so the loop has no branches but the
   relu's select and vectorises). */
static inline __attribute__((always_inline)) void backward_group_plane(float *gh, float *other, const float *dy,
        const float *out, float a, size_t n, int relu, int add, int bn, int into_input) {
    for (size_t i = 0; i < n; i++) {
        float v = dy[i];
        if (relu) v = out[i] > 0.0f ? 0.0f + v : 0.0f;
        if (add) { other[i] += v; v = 0.0f + v; }
        if (into_input == 2) { float t = 0.0f + v * a; gh[i] += t; continue; } /* via the concat's zeroed gradient */
        if (into_input) { gh[i] += v * a; continue; } /* batchnorm_backward's own dx += dy * a */
        if (bn) v = 0.0f + v * a;
        gh[i] = v;
    }
}

static void backward_group_range(void *ctx, size_t lo, size_t hi) {
    const GroupJob *j = ctx;
    for (size_t pl = lo; pl < hi; pl++) { /* plane pl: image pl / C, channel pl % C */
        int c = (int)(pl % j->C);
        float a = 1.0f;
        if (j->bn) { /* batchnorm_backward's coefficient */
            double invstd = 1.0 / sqrt((double)j->bn->var->data[c] + (double)j->bn->args.eps);
            a = (float)((double)j->bn->weight->data[c] * invstd);
        }
        size_t o = pl * j->P, n = j->P;
        float *gh = j->gh ? j->gh + o : NULL, *other = j->other ? j->other + o : NULL;
        const float *dy = j->dy + o, *out = j->out ? j->out + o : NULL;
        if (j->cat_grad) { /* the concatenation's backward on the way: the same sums in the same order */
            int k = j->cat_k[c];
            float *d = j->cat_grad[k] + ((pl / j->C) * j->cat_n[k] + j->cat_c[c]) * j->P;
            if (out) backward_group_plane(d, NULL, dy, out, a, n, 1, 0, 1, 2);
            else backward_group_plane(d, NULL, dy, NULL, a, n, 0, 0, 1, 2);
            continue;
        }
        switch (j->into_input << 3 | (out != NULL) << 2 | (other != NULL) << 1 | (j->bn != NULL)) {
        case 0: backward_group_plane(gh, other, dy, out, a, n, 0, 0, 0, 0); break;
        case 1: backward_group_plane(gh, other, dy, out, a, n, 0, 0, 1, 0); break;
        case 2: backward_group_plane(gh, other, dy, out, a, n, 0, 1, 0, 0); break;
        case 3: backward_group_plane(gh, other, dy, out, a, n, 0, 1, 1, 0); break;
        case 4: backward_group_plane(gh, other, dy, out, a, n, 1, 0, 0, 0); break;
        case 5: backward_group_plane(gh, other, dy, out, a, n, 1, 0, 1, 0); break;
        case 6: backward_group_plane(gh, other, dy, out, a, n, 1, 1, 0, 0); break;
        case 7: backward_group_plane(gh, other, dy, out, a, n, 1, 1, 1, 0); break;
        case 9: backward_group_plane(gh, other, dy, out, a, n, 0, 0, 1, 1); break;
        case 11: backward_group_plane(gh, other, dy, out, a, n, 0, 1, 1, 1); break;
        case 13: backward_group_plane(gh, other, dy, out, a, n, 1, 0, 1, 1); break;
        default: backward_group_plane(gh, other, dy, out, a, n, 1, 1, 1, 1); break;
        }
    }
}

/* A concatenation's backward done inside a group's elementwise pass: each
   plane goes straight to the concatenated input's gradient it comes from
   (the concatenation's gradient is never made). When the concatenation
   heads the group (its forward was fused too), or is the node just before
   the group's folded batch norm; read by nothing else, with the built-in
   rule and no gradient kept. The same sums in the same order as the
   concatenation's own backward right after the group. */
static int concat_routable(const EngPass *p, int cat) {
    const EngBackwardOpts *o = p->opts;
    return p->m->nodes[cat].op == ENG_OP_CONCAT && p->readers[cat] == 1 && !p->grad[cat] &&
           !o->rule[ENG_OP_CONCAT] && !keep_grad(o, cat);
}

static int concat_routes(EngPass *p, int cat, GroupJob *j) {
    const EngNode *nd = &p->m->nodes[cat];
    int *k_of, *c_of, *n_of;
    void **ptrs;
    if (concat_map(p, cat, &k_of, &c_of, &n_of, &ptrs)) return -1;
    for (int k = 0; k < nd->n_in; k++)
        if (!(ptrs[k] = eng_pass_in_grad_buf(p, cat, k))) return -1;
    j->cat_grad = (float **)ptrs; j->cat_k = k_of; j->cat_c = c_of; j->cat_n = n_of;
    return 0;
}

/* A batch-norm head is folded when its rule is the built-in one and its
   gradient is not kept: its input's gradient gets += dy * a straight from
   the elementwise pass, the same arithmetic as batchnorm_backward, without
   the head's gradient buffer in between. *head_done: the head's own
   backward was done here too (folded batch norm, routed concatenation). */
static int backward_group(EngPass *p, int h, int e, int *head_done) {
    const EngModel *m = p->m;
    const EngBackwardOpts *o = p->opts;
    int fold_head = m->nodes[h].op == ENG_OP_BATCHNORM2D && !o->rule[ENG_OP_BATCHNORM2D] && !keep_grad(o, h);
    int bn = fold_head ? h : -1, add = -1;
    for (int q = h + 1; q <= e; q++) {
        if (m->nodes[q].op == ENG_OP_BATCHNORM2D) bn = q;
        if (m->nodes[q].op == ENG_OP_ADD) add = q;
    }
    float *other = NULL;
    if (add >= 0) {
        const EngNode *a = &m->nodes[add];
        if (!(other = eng_pass_in_grad_buf(p, add, a->in[0] == add - 1 ? 1 : 0))) return -1;
    }
    const EngNode *last = &m->nodes[e];
    GroupJob j = {bn >= 0 ? &m->nodes[bn] : NULL, p->grad[e], last->op == ENG_OP_RELU ? p->act[e] : NULL,
                  other, NULL, last->c, (size_t)last->h * last->w, fold_head, NULL, NULL, NULL, NULL};
    int cat = m->nodes[h].op == ENG_OP_CONCAT ? h : fold_head && add < 0 && m->nodes[h].in[0] == h - 1 ? h - 1 : -1;
    *head_done = fold_head;
    if (cat >= 0 && bn >= 0 && add < 0 && concat_routable(p, cat)) { /* the route path has no add step */
        if (concat_routes(p, cat, &j)) return -1;
        *head_done = 1;
    } else {
        float *gh = fold_head ? eng_pass_in_grad_buf(p, h, 0) : pool_take(p, p->numel[h]);
        if (!gh) return -1;
        if (!fold_head) p->grad[h] = gh;
        j.gh = gh;
    }
    eng_parallel_for((size_t)p->n * last->c, eng_min_items(j.P), backward_group_range, &j);
    return 0;
}

int eng_pass_backward_from(EngPass *p, int node, const float *seed, const EngBackwardOpts *opts) {
    EngModel *m = p->m;
    if (!p->taped) return eng_fail("backward needs a taped forward (ENG_TAPE)");
    if (opts && opts->param_grads && !p->tape_all) {
        return eng_fail("weight gradients need a forward with ENG_TAPE (ENG_TAPE_GRAD does not keep the batch-norm inputs they read)");
    }
    if (node < 0 || node >= m->n_nodes) return eng_fail("backward from unknown node %d", node);
    release_grads(p);
    p->opts = opts;
    if (opts && opts->param_grads)
        for (int i = 0; i < m->n_params; i++) {
            EngParam *q = m->params[i];
            if (!q->grad) q->grad = malloc(sizeof(float) * q->numel);
            if (!q->grad) return -1;
            memset(q->grad, 0, sizeof(float) * q->numel);
        }
    p->grad[node] = pool_take(p, p->numel[node]);
    if (!p->grad[node]) return -1;
    memcpy(p->grad[node], seed, sizeof(float) * p->numel[node]);
    for (int i = node; i > 0; i--) {
        if (!p->grad[i]) continue; /* no gradient reaches this node */
        int h = p->group_head[i];
        double t0 = g_profile ? profile_now_ms() : 0;
        if (h >= 0 && group_fusable_backward(p, h, i, opts)) {
            int done = 0, rc = backward_group(p, h, i, &done);
            profile_add(1, m->nodes[i].op, t0);
            if (rc) return eng_fail("backward failed at %s (out of memory)", m->nodes[i].name);
            if (!keep_grad(opts, i)) { pool_give(p, p->grad[i]); p->grad[i] = NULL; }
            i = done ? h : h + 1; /* else the head's own rule runs next */
            continue;
        }
        EngOpKind op = m->nodes[i].op;
        EngBackwardRule rule = opts ? opts->rule[op] : NULL;
        if (rule) {
            for (int k = 0; k < m->nodes[i].n_in; k++)
                if (!eng_pass_in_grad_buf(p, i, k)) return -1;
            rule(p, i, opts->user);
        } else if (backward_builtin(p, i)) {
            return eng_fail("backward failed at %s (out of memory)", m->nodes[i].name);
        }
        profile_add(1, op, t0);
        if (g_trace)
            for (int k = 0; k < m->nodes[i].n_in; k++)
                trace_event(p, i, 1, k, p->grad[m->nodes[i].in[k]], m->nodes[i].in[k]);
        if (!keep_grad(opts, i)) { pool_give(p, p->grad[i]); p->grad[i] = NULL; }
    }
    p->opts = NULL;
    return 0;
}

int eng_pass_backward(EngPass *p, const float *seed, const EngBackwardOpts *opts) {
    return eng_pass_backward_from(p, p->m->n_nodes - 1, seed, opts);
}
