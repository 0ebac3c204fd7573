/* cmd_model.c - the engine's commands: info, layers, predict, grad, bench. */
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "eval/plot.h"
#include "eval/render.h"
#include "eval/report.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static void apply_engine_opts(const Opts *o) {
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
}

int cmd_info(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    EngModel *m = md.m;
    if (o->json) {
        JsonWriter w;
        jw_init(&w, stdout, 1);
        jw_object_begin(&w);
        jw_kv_string(&w, "file", md.path);
        jw_kv_string(&w, "arch", eng_model_arch(m));
        jw_kv_int(&w, "classes", eng_model_n_classes(m));
        jw_kv_int(&w, "input_channels", eng_model_in_channels(m));
        jw_kv_int(&w, "parameters", (long long)eng_model_param_count(m));
        jw_kv_int(&w, "input_size", md.size);
        jw_kv_string(&w, "dtypes", md.info.dtypes);
        jw_kv_string(&w, "sha256", md.info.sha256);
        jw_object_end(&w);
        printf("\n");
    } else {
        printf("file            %s\n", md.path);
        printf("architecture    %s\n", eng_model_arch(m));
        printf("classes         %d\n", eng_model_n_classes(m));
        printf("input channels  %d\n", eng_model_in_channels(m));
        printf("parameters      %zu\n", eng_model_param_count(m));
        printf("input size      %d\n", md.size);
        printf("mean / std      ");
        for (int c = 0; c < eng_model_in_channels(m); c++) printf("%s%g", c ? "," : "", md.mean[c]);
        printf(" / ");
        for (int c = 0; c < eng_model_in_channels(m); c++) printf("%s%g", c ? "," : "", md.std[c]);
        printf("\nweights dtype   %s\n", md.info.dtypes);
        printf("sha256          %s\n", md.info.sha256);
        if (md.n_labels) {
            printf("labels          ");
            for (int i = 0; i < md.n_labels; i++) printf("%s%s", i ? ", " : "", md.labels[i]);
            printf("\n");
        }
    }
    model_close(&md);
    return 0;
}

int cmd_layers(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    EngModel *m = md.m;
    if (eng_model_infer_shapes(m, md.size, md.size)) { model_close(&md); return cli_error("%s", eng_last_error()); }
    printf("# %s, input (1, %d, %d, %d)\n", eng_model_arch(m), eng_model_in_channels(m), md.size, md.size);
    for (int i = 0; i < eng_model_n_names(m); i++) {
        int node;
        const char *nm = eng_model_name_at(m, i, &node);
        const EngNode *nd = eng_model_node(m, node);
        int alias = strcmp(nm, nd->name) != 0;
        if (nd->op == ENG_OP_FLATTEN || nd->op == ENG_OP_LINEAR)
            printf("%-48s %-18s (1, %d)%s%s\n", nm, eng_op_name(nd->op), nd->c, alias ? "  = " : "", alias ? nd->name : "");
        else
            printf("%-48s %-18s (1, %d, %d, %d)%s%s\n", nm, eng_op_name(nd->op), nd->c, nd->h, nd->w,
                   alias ? "  = " : "", alias ? nd->name : "");
    }
    model_close(&md);
    return 0;
}

/* Preprocesses each image into x (n_ok, C, S, S); failed images are reported
   and skipped; ok[i] says which ones made it. */
static float *load_images(const Model *md, const Opts *o, char **paths, int n, int *ok, int *n_ok) {
    int C = eng_model_in_channels(md->m), S = md->size;
    size_t per = (size_t)C * S * S;
    float *x = malloc(sizeof(float) * per * (n ? n : 1));
    if (!x) return NULL;
    *n_ok = 0;
    for (int i = 0; i < n; i++) {
        char err[512];
        ok[i] = model_preprocess(md, o, paths[i], x + per * *n_ok, NULL, err, sizeof err) == 0;
        if (ok[i]) (*n_ok)++;
        else fprintf(stderr, "salient: skipping %s\n", err);
    }
    return x;
}

static void topk_indices(const float *p, int K, int k, int *idx) {
    char *used = calloc(K, 1);
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int c = 0; c < K; c++)
            if (!used[c] && (best < 0 || p[c] > p[best])) best = c;
        idx[j] = best;
        used[best] = 1;
    }
    free(used);
}

static int forward_logits(EngModel *m, const float *x, int n, int h, int w, int batch, float *logits) {
    int K = eng_model_n_classes(m), C = eng_model_in_channels(m);
    size_t per = (size_t)C * h * w;
    int B = batch > 0 ? batch : 16;
    if (B > n) B = n;
    EngPass *p = NULL;
    int pb = 0;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        if (nb != pb) {
            eng_pass_free(p);
            p = eng_pass_new(m, nb, h, w);
            pb = nb;
            if (!p) return cli_error("%s", eng_last_error());
        }
        if (eng_pass_forward(p, x + per * i0, ENG_FORWARD_ONLY)) { eng_pass_free(p); return cli_error("%s", eng_last_error()); }
        memcpy(logits + (size_t)i0 * K, eng_pass_output(p), sizeof(float) * nb * K);
    }
    eng_pass_free(p);
    return 0;
}

static int predict_npy(const Opts *o, Model *md) {
    int n, h, w;
    float *x = load_input_npy(o->input_npy, md, &n, &h, &w);
    if (!x) return 1;
    int K = eng_model_n_classes(md->m);
    float *logits = malloc(sizeof(float) * n * K);
    int rc = forward_logits(md->m, x, n, h, w, o->batch, logits);
    if (!rc && o->logits_npy) {
        int64_t shape[2] = {n, K};
        char err[512];
        if (npy_write_f32(o->logits_npy, logits, 2, shape, err, sizeof err)) rc = cli_error("%s", err);
    }
    if (!rc && !o->logits_npy) {
        float *prob = malloc(sizeof(float) * K);
        for (int i = 0; i < n; i++) {
            int best = probs_argmax(prob, logits + (size_t)i * K, K, md->sigmoid);
            char b[32];
            printf("%s[%d]\t%s\t%.6f\n", o->input_npy, i, model_label(md, best, b, sizeof b), prob[best]);
        }
        free(prob);
    }
    free(x); free(logits);
    return rc;
}

static int predict_run(const Opts *o);

/* predict: with -o DIR the results also go to DIR/predictions.json with a
   manifest; --trace records every op. */
int cmd_predict(const Opts *o) {
    if (trace_open(o)) return 1;
    trace_phase("predict");
    FILE *saved = NULL;
    char path[1100];
    int fd = -1;
    if (o->outdir) {
        if (io_mkdir_p(o->outdir)) return cli_error("cannot create %s", o->outdir);
        snprintf(path, sizeof path, "%s/predictions%s", o->outdir, o->json ? ".json" : ".txt");
        fflush(stdout);
        fd = dup(1);
        saved = freopen(path, "w", stdout);
        if (!saved) return cli_error("cannot write %s", path);
    }
    int rc = predict_run(o);
    trace_close();
    if (o->outdir) {
        fflush(stdout);
        dup2(fd, 1);
        close(fd);
        manifest_add_input(o->model);
        if (o->input_npy) manifest_add_input(o->input_npy);
        for (int i = 0; i < o->n_pos; i++) manifest_add_input(o->pos[i]);
        manifest_add_output(path);
        if (o->logits_npy) manifest_add_output(o->logits_npy);
        char mp[1100];
        snprintf(mp, sizeof mp, "%s/manifest.json", o->outdir);
        if (manifest_write(mp)) rc = 1;
        printf("%s\n", path);
    }
    return rc;
}

static int predict_run(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    apply_engine_opts(o);
    if (o->input_npy) { int rc = predict_npy(o, &md); model_close(&md); return rc; }
    if (!o->n_pos) { model_close(&md); return cli_error("predict: give images or --input-npy X.npy"); }
    int n = o->n_pos, K = eng_model_n_classes(md.m), n_ok = 0;
    int *ok = calloc(n, sizeof(int));
    float *x = load_images(&md, o, o->pos, n, ok, &n_ok);
    float *logits = malloc(sizeof(float) * (n_ok ? n_ok : 1) * K), *prob = malloc(sizeof(float) * K);
    int rc = n_ok ? forward_logits(md.m, x, n_ok, md.size, md.size, o->batch, logits) : 0;
    int k = o->topk ? (o->topk < K ? o->topk : K) : (K < 5 ? K : 5);
    int *idx = malloc(sizeof(int) * k);
    JsonWriter jw;
    if (o->json) { jw_init(&jw, stdout, 1); jw_array_begin(&jw); }
    for (int i = 0, j = 0; i < n && !rc; i++) {
        if (!ok[i]) continue;
        probs_argmax(prob, logits + (size_t)j * K, K, md.sigmoid);
        topk_indices(prob, K, k, idx);
        char b[32];
        if (o->json) {
            jw_object_begin(&jw);
            jw_kv_string(&jw, "image", o->pos[i]);
            jw_key(&jw, "top");
            jw_array_begin(&jw);
            for (int t = 0; t < k; t++) {
                jw_object_begin(&jw);
                jw_kv_int(&jw, "class", idx[t]);
                jw_kv_string(&jw, "label", model_label(&md, idx[t], b, sizeof b));
                jw_kv_number(&jw, "prob", prob[idx[t]]);
                jw_kv_number(&jw, "logit", logits[(size_t)j * K + idx[t]]);
                jw_object_end(&jw);
            }
            jw_array_end(&jw);
            jw_key(&jw, "probs");
            jw_array_begin(&jw);
            for (int c = 0; c < K; c++) jw_number(&jw, prob[c]);
            jw_array_end(&jw);
            jw_object_end(&jw);
        } else {
            printf("%s\n", o->pos[i]);
            for (int t = 0; t < k; t++)
                printf("  %2d  %-24s %.6f\n", idx[t], model_label(&md, idx[t], b, sizeof b), prob[idx[t]]);
        }
        j++;
    }
    if (o->json) { jw_array_end(&jw); printf("\n"); }
    free(idx); free(prob); free(logits); free(x);
    if (!rc && n_ok < n) rc = cli_error("%d of %d images could not be read", n - n_ok, n);
    free(ok);
    model_close(&md);
    return rc;
}

static int write_npy4(const char *path, const float *v, int n, int c, int h, int w) {
    int64_t shape[4] = {n, c, h, w};
    char err[512];
    if (npy_write_f32(path, v, 4, shape, err, sizeof err)) return cli_error("%s", err);
    return 0;
}

static int grad_run(const Opts *o);
int cmd_grad(const Opts *o) {
    if (trace_open(o)) return 1;
    trace_phase("grad");
    int rc = grad_run(o);
    trace_close();
    return rc;
}

static int grad_run(const Opts *o) {
    if (!o->input_npy || !o->out) return cli_error("grad: needs --input-npy X.npy --class K --out G.npy");
    Model md;
    if (model_open(&md, o)) return 1;
    apply_engine_opts(o);
    int n, h, w, rc = 0;
    float *x = load_input_npy(o->input_npy, &md, &n, &h, &w), *seed = NULL;
    EngPass *p = NULL;
    int K = eng_model_n_classes(md.m), C = eng_model_in_channels(md.m), node = -1;
    if (!x) { rc = 1; goto done; }
    if (o->cls >= K) { rc = cli_error("--class %d: the model has %d classes", o->cls, K); goto done; }
    if (o->layer && (node = eng_model_node_find(md.m, o->layer)) < 0) {
        rc = cli_error("no layer named '%s' (see salient layers)", o->layer);
        goto done;
    }
    if (!(p = eng_pass_new(md.m, n, h, w))) { rc = cli_error("%s", eng_last_error()); goto done; }
    if (eng_pass_forward(p, x, ENG_TAPE)) { rc = cli_error("%s", eng_last_error()); goto done; }
    seed = calloc((size_t)n * K, sizeof(float));
    for (int i = 0; i < n; i++) seed[(size_t)i * K + o->cls] = 1.0f; /* d(sum_i logit_i,K) */
    EngBackwardOpts bo = {0};
    int keep[1] = {node};
    if (node >= 0) { bo.keep_grads = keep; bo.n_keep_grads = 1; }
    else { bo.keep_grads = keep; bo.n_keep_grads = 1; keep[0] = 0; }
    if (eng_pass_backward(p, seed, &bo)) { rc = cli_error("%s", eng_last_error()); goto done; }
    rc = write_npy4(o->out, eng_pass_input_grad(p), n, C, h, w);
    if (!rc && node >= 0) {
        const EngNode *nd = eng_model_node(md.m, node);
        if (o->act_npy) rc = write_npy4(o->act_npy, eng_pass_act(p, node), n, nd->c, nd->h, nd->w);
        if (!rc && o->layer_grad_npy) {
            const float *g = eng_pass_grad(p, node);
            float *z = NULL;
            if (!g) g = z = calloc(eng_pass_node_numel(p, node), sizeof(float)); /* no gradient reaches it */
            rc = write_npy4(o->layer_grad_npy, g, n, nd->c, nd->h, nd->w);
            free(z);
        }
    }
done:
    free(seed); free(x);
    eng_pass_free(p);
    model_close(&md);
    return rc;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* --profile: reps more forward-only and gradient passes with the engine's
   per-op timer on; the mean milliseconds per pass of each op kind, to
   stderr (stdout keeps its one JSON line). */
static int bench_profile(EngPass *p, const float *x, const float *seed, const EngBackwardOpts *bo, int reps) {
    EngProfile fo = {0}, gr = {0};
    eng_set_profile(&fo);
    for (int i = 0; i < reps; i++)
        if (eng_pass_forward(p, x, ENG_FORWARD_ONLY)) { eng_set_profile(NULL); return -1; }
    eng_set_profile(&gr);
    for (int i = 0; i < reps; i++)
        if (eng_pass_forward(p, x, ENG_TAPE_GRAD) || eng_pass_backward(p, seed, bo)) { eng_set_profile(NULL); return -1; }
    eng_set_profile(NULL);
    double t[3] = {0, 0, 0};
    fprintf(stderr, "%-20s %14s %14s %14s   (ms per pass, mean of %d)\n", "op (fused head)", "forward-only",
            "grad: forward", "grad: backward", reps);
    for (int k = 0; k < ENG_OP_COUNT; k++) {
        double a = fo.forward_ms[k] / reps, b = gr.forward_ms[k] / reps, c = gr.backward_ms[k] / reps;
        if (a + b + c < 0.005) continue;
        fprintf(stderr, "%-20s %14.2f %14.2f %14.2f\n", eng_op_name((EngOpKind)k), a, b, c);
        t[0] += a; t[1] += b; t[2] += c;
    }
    fprintf(stderr, "%-20s %14.2f %14.2f %14.2f\n", "total", t[0], t[1], t[2]);
    return 0;
}

int cmd_bench(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    apply_engine_opts(o);
    if (o->gemm && strcmp(o->gemm, "engine") && strcmp(o->gemm, "openblas")) {
        model_close(&md);
        return cli_error("--gemm %s: expected engine or openblas", o->gemm);
    }
    eng_set_gemm_openblas(o->gemm && !strcmp(o->gemm, "openblas"));
    int S = md.size, N = o->batch ? o->batch : 1, C = eng_model_in_channels(md.m), K = eng_model_n_classes(md.m);
    int reps = o->repeat ? o->repeat : 10;
    size_t nx = (size_t)N * C * S * S;
    float *x = malloc(sizeof(float) * nx), *seed = calloc((size_t)N * K, sizeof(float));
    EngRng r;
    eng_rng_seed(&r, 1);
    for (size_t i = 0; i < nx; i++) x[i] = (float)eng_rng_normal(&r);
    for (int i = 0; i < N; i++) seed[(size_t)i * K] = 1;
    double *tf = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps);
    int rc = 0;
    EngPass *p = eng_pass_new(md.m, N, S, S);
    if (!p) { rc = cli_error("%s", eng_last_error()); goto done; }
    int keep0 = 0;
    EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
    for (int warm = 0; warm < 2; warm++) { /* warm-up: buffers allocated, pages touched */
        eng_pass_forward(p, x, ENG_FORWARD_ONLY);
        eng_pass_forward(p, x, ENG_TAPE_GRAD); /* what the methods' gradient passes use */
        eng_pass_backward(p, seed, &bo);
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (eng_pass_forward(p, x, ENG_FORWARD_ONLY)) { rc = cli_error("%s", eng_last_error()); goto done; }
        tf[i] = now_ms() - t0;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (eng_pass_forward(p, x, ENG_TAPE_GRAD) || eng_pass_backward(p, seed, &bo)) { rc = cli_error("%s", eng_last_error()); goto done; }
        tb[i] = now_ms() - t0;
    }
    if (o->profile && bench_profile(p, x, seed, &bo, reps)) { rc = cli_error("%s", eng_last_error()); goto done; }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"arch\": \"%s\", \"size\": %d, \"batch\": %d, \"threads\": %d, \"repeat\": %d, \"gemm\": \"%s\", "
           "\"forward_ms\": %.3f, \"forward_backward_ms\": %.3f, \"peak_rss_mb\": %.1f}\n",
           eng_model_arch(md.m), S, N, eng_get_threads(), reps, o->gemm ? o->gemm : "engine", median(tf, reps),
           median(tb, reps), ru.ru_maxrss / 1024.0);
done:
    eng_pass_free(p);
    free(x); free(seed); free(tf); free(tb);
    model_close(&md);
    return rc;
}
