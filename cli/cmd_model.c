/* cmd_model.c - the engine's commands: info, layers, predict, grad, bench. */
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "eval/plot.h"
#include "eval/render.h"
#include "eval/report.h"
#include "engine/ops.h"
#include "eval/bench.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
        if (md.info.intensity_percentile > 0) jw_kv_number(&w, "intensity_percentile", md.info.intensity_percentile);
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
        printf("\n");
        if (md.info.intensity_percentile > 0)
            printf("intensity scale each input divided by percentile %g of its own values, clamped to [0,1], "
                   "before mean / std\n",
                   md.info.intensity_percentile);
        printf("weights dtype   %s\n", md.info.dtypes);
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

/* The logits of n inputs (h x w) in batches of --batch (default 16). */
static int forward_logits(const Model *md, const Opts *o, const float *x, int n, int h, int w, float *logits) {
    AttribParams P;
    attrib_params_default(&P);
    P.model = md->m; P.C = eng_model_in_channels(md->m); P.H = h; P.W = w; P.batch = o->batch > 0 ? o->batch : 16;
    int rc = attrib_logits(&P, NULL, x, n, logits) ? cli_error("%s", eng_last_error()) : 0;
    attrib_params_release(&P);
    return rc;
}

static int predict_npy(const Opts *o, Model *md) {
    int n, h, w;
    float *x = load_input_npy(o->input_npy, md, &n, &h, &w);
    if (!x) return 1;
    int K = eng_model_n_classes(md->m);
    float *logits = malloc(sizeof(float) * n * K);
    int rc = forward_logits(md, o, x, n, h, w, logits);
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
    int rc = n_ok ? forward_logits(&md, o, x, n_ok, md.size, md.size, logits) : 0;
    int k = o->topk ? (o->topk < K ? o->topk : K) : (K < 5 ? K : 5);
    int *idx = malloc(sizeof(int) * k);
    JsonWriter jw;
    if (o->json) { jw_init(&jw, stdout, 1); jw_array_begin(&jw); }
    for (int i = 0, j = 0; i < n && !rc; i++) {
        if (!ok[i]) continue;
        probs_argmax(prob, logits + (size_t)j * K, K, md.sigmoid);
        if (probs_topk(prob, K, k, idx)) { rc = cli_error("%s", eng_last_error()); break; }
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
    float *x = load_input_npy(o->input_npy, &md, &n, &h, &w);
    EngPass *p = NULL;
    int K = eng_model_n_classes(md.m), C = eng_model_in_channels(md.m), node = -1;
    if (!x) { rc = 1; goto done; }
    if (o->cls >= K) { rc = cli_error("--class %d: the model has %d classes", o->cls, K); goto done; }
    if (o->layer && (node = eng_model_node_find(md.m, o->layer)) < 0) {
        rc = cli_error("no layer named '%s' (see salient layers)", o->layer);
        goto done;
    }
    if (!(p = attrib_class_gradient(md.m, x, n, h, w, o->cls, node))) { rc = cli_error("%s", eng_last_error()); goto done; }
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
    free(x);
    eng_pass_free(p);
    model_close(&md);
    return rc;
}

/* --profile: the mean milliseconds per pass of each op kind, to stderr
   (stdout keeps its one JSON line). */
static void print_profile(const EngProfile *fo, const EngProfile *gr, int reps) {
    double t[3] = {0, 0, 0};
    fprintf(stderr, "%-20s %14s %14s %14s   (ms per pass, mean of %d)\n", "op (fused head)", "forward-only",
            "grad: forward", "grad: backward", reps);
    for (int k = 0; k < ENG_OP_COUNT; k++) {
        double a = fo->forward_ms[k] / reps, b = gr->forward_ms[k] / reps, c = gr->backward_ms[k] / reps;
        if (a + b + c < 0.005) continue;
        fprintf(stderr, "%-20s %14.2f %14.2f %14.2f\n", eng_op_name((EngOpKind)k), a, b, c);
        t[0] += a; t[1] += b; t[2] += c;
    }
    fprintf(stderr, "%-20s %14.2f %14.2f %14.2f\n", "total", t[0], t[1], t[2]);
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
    int S = md.size, N = o->batch ? o->batch : 1, reps = o->repeat ? o->repeat : 10;
    BenchTimes t;
    EngProfile fo = {0}, gr = {0};
    int rc = bench_passes(md.m, N, S, reps, &t, o->profile ? &fo : NULL, o->profile ? &gr : NULL);
    if (rc) rc = cli_error("%s", eng_last_error());
    else {
        if (o->profile) print_profile(&fo, &gr, reps);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"arch\": \"%s\", \"size\": %d, \"batch\": %d, \"threads\": %d, \"repeat\": %d, \"gemm\": \"%s\", "
               "\"forward_ms\": %.3f, \"forward_backward_ms\": %.3f, \"peak_rss_mb\": %.1f}\n",
               eng_model_arch(md.m), S, N, eng_get_threads(), reps, o->gemm ? o->gemm : "engine", t.forward_ms,
               t.forward_backward_ms, ru.ru_maxrss / 1024.0);
    }
    model_close(&md);
    return rc;
}
