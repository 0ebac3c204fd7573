/* audit.c - the command's trace and manifest, trace-diff and verify (see audit.h). */
#include "cli/audit.h"
#include "eval/manifest.h"
#include "eval/trace.h"
#include "io/file.h"
#include "io/json.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const ManifestBuild g_build = {SALIENT_VERSION, SALIENT_CFLAGS,
#ifdef __VERSION__
                                      __VERSION__
#else
                                      NULL
#endif
};

/* ---------------- trace ---------------- */
static TraceWriter g_trace;

int trace_open(const Opts *o) {
    if (!o->trace) return 0;
    const char *lv = o->trace_level ? o->trace_level : "ops";
    TraceLevel level;
    char err[1200];
    if (trace_level_parse(lv, &level)) return cli_error("--trace-level %s: expected ops, layers or methods", lv), -1;
    if (trace_writer_open(&g_trace, o->trace, level, err, sizeof err)) return cli_error("%s", err), -1;
    return 0;
}

void trace_close(void) { trace_writer_close(&g_trace); }
int trace_active(void) { return g_trace.f != NULL; }
void trace_phase(const char *phase) { trace_writer_phase(&g_trace, phase); }

void trace_method(const char *image, const char *method, long fwd, long bwd, double seconds, const float *map, size_t n) {
    trace_writer_method(&g_trace, image, method, fwd, bwd, seconds, map, n);
}

/* ---------------- manifest ---------------- */
static RunManifest g_man;
static int g_argc;
static char **g_argv;
static const Opts *g_opts;

void manifest_begin(int argc, char **argv, const Opts *o) {
    g_argc = argc; g_argv = argv; g_opts = o;
    run_manifest_start(&g_man);
}
void manifest_add_input(const char *path) { run_manifest_add_input(&g_man, path); }
void manifest_add_output(const char *path) { run_manifest_add_output(&g_man, path); }
void manifest_input_decoded(const char *path, const ImageLoadInfo *li) { run_manifest_input_decoded(&g_man, path, li); }

/* The manifest's "options": what the command line set (0 = the method's default). */
static void write_options(JsonWriter *w, void *ctx) {
    const Opts *o = ctx;
    jw_kv_string(w, "model", o->model);
    jw_kv_string(w, "arch", o->arch);
    jw_kv_int(w, "size", o->size);
    jw_kv_string(w, "methods", o->methods);
    jw_kv_string(w, "target", o->target ? o->target : "pred");
    jw_kv_string(w, "baseline", o->baseline ? o->baseline : "black");
    jw_kv_int(w, "batch", o->batch);
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        if (pi->type != PARAM_TEXT) jw_kv_number(w, pi->key, o->param[id]);
    }
    jw_kv_string(w, "layer", o->layer);
    jw_kv_string(w, "info", o->info ? o->info : "webp");
    jw_kv_string(w, "note", "0 means the method's default (its file's header, README); each output's own JSON lists the values used");
}

int manifest_write(const char *path) {
    ManifestCommand c = {g_argc, g_argv, write_options, (void *)g_opts, g_opts->seed, g_opts->outdir};
    char err[1200];
    if (run_manifest_write(&g_man, path, &g_build, &c, err, sizeof err)) return cli_error("%s", err);
    return 0;
}

/* ---------------- trace-diff ---------------- */
static void print_difference(const char *what, const TraceDiffAt *at) {
    printf("%s at seq %ld: %s %s (%s), statistics apart by %.3g of their scale\n", what, at->seq, at->op, at->layer,
           at->pass, at->rel);
    const char *keys[] = {"min", "max", "mean", "l2"};
    for (int k = 0; k < 4; k++) printf("  %-5s A %-16.9g B %-16.9g\n", keys[k], at->a[k], at->b[k]);
}

/* Exit 0: identical; 1: different beyond rounding or different work; 3:
   only rounding differences (eval/trace.h trace_diff_files). */
int cmd_trace_diff(const Opts *o) {
    if (o->n_pos != 2) return cli_error("usage: salient trace-diff A.jsonl B.jsonl");
    TraceDiff d;
    char err[1200];
    if (trace_diff_files(o->pos[0], o->pos[1], &d, err, sizeof err)) return cli_error("%s", err);
    if (d.has_first) print_difference("first bits differ", &d.first);
    if (d.has_first_beyond) print_difference("first difference beyond rounding", &d.first_beyond);
    if (d.other_work[0]) printf("%s\n", d.other_work);
    printf("%ld of %ld operations differ in their bits, %ld beyond rounding (%.0e of their scale)\n", d.differ, d.n,
           d.beyond, ENG_ROUND_REL);
    if (d.other_work[0] || d.beyond) return 1;
    return d.differ ? 3 : 0;
}

/* ---------------- verify ---------------- */
/* Compares one output (a: recorded, b: re-run); prints the verdict. */
static OutVerdict compare_file(const char *a, const char *b) {
    OutputComparison c;
    output_compare(a, b, &c);
    if (c.unreadable) printf("  %-50s unreadable: %s\n", a, c.err);
    else if (c.png) printf("  %-50s %s (largest pixel difference %.0f of 255)\n", a, out_verdict_name(c.verdict), c.diff);
    else if (c.verdict == OUT_IDENTICAL) printf("  %-50s identical\n", a);
    else printf("  %-50s %s (max difference %.3g, %.3g of the largest magnitude %.3g)\n", a, out_verdict_name(c.verdict),
                c.diff, c.scale > 0 ? c.diff / c.scale : c.diff, c.scale);
    return c.verdict;
}

/* The recorded machine and build against this one; prints what differs;
   returns 1 if they are the same. */
static int same_machine(const JsonValue *m) {
    char cpu[256];
    const char *here[MANIFEST_BUILD_KEYS];
    manifest_build_values(&g_build, here, cpu, sizeof cpu);
    int same = 1;
    for (int k = 0; k < MANIFEST_BUILD_KEYS; k++) {
        const char *rec = json_string(json_get(m, manifest_build_keys[k]));
        if (rec && !strcmp(rec, here[k])) continue;
        if (same) printf("recorded on another machine or build:\n");
        printf("  %-9s recorded %s\n  %-9s here     %s\n", manifest_build_keys[k], rec ? rec : "(not recorded)", "", here[k]);
        same = 0;
    }
    if (same) printf("same machine and build as recorded: every output must be bit-identical\n");
    else printf("  outputs within rounding (%.0e of their largest magnitude) count as reproduced\n", ENG_ROUND_REL);
    return same;
}

/* Runs av in cwd with stdout to /dev/null; 1 if it exited with 0. */
static int run_quietly(char **av, const char *cwd) {
    pid_t pid = fork();
    if (pid == 0) {
        if (cwd && chdir(cwd)) _exit(127);
        int devnull = open("/dev/null", 1);
        if (devnull >= 0) dup2(devnull, 1);
        execv(av[0], av);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int cmd_verify(const Opts *o) {
    if (o->n_pos != 1) return cli_error("usage: salient verify manifest.json");
    char err[1200];
    JsonValue *m = json_read_file(o->pos[0], (size_t)64 << 20, err, sizeof err);
    if (!m) return cli_error("%s", err);
    const JsonValue *argv = json_get(m, "argv"), *outs = json_get(m, "outputs");
    const char *outdir = json_string(json_get(m, "outdir")), *cwd = json_string(json_get(m, "cwd"));
    if (json_type(argv) != JSON_ARRAY || json_len(argv) < 2 || json_type(outs) != JSON_ARRAY || !outdir) {
        json_free(m);
        return cli_error("%s: not a salient manifest with argv, outputs and outdir", o->pos[0]);
    }
    char tmp[] = "/tmp/salient-verify-XXXXXX";
    if (!mkdtemp(tmp)) { json_free(m); return cli_error("cannot make a temporary folder"); }
    char exe[1024];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) { json_free(m); return cli_error("cannot find my own executable"); }
    exe[el] = 0;
    int k;
    char **av = manifest_rerun_argv(argv, exe, tmp, &k);   /* the recorded command, into tmp */
    if (!av) { json_free(m); return cli_error("out of memory"); }
    printf("re-running: %s", exe);
    for (int i = 1; i < k; i++) printf(" %s", av[i]);
    printf("\n");
    int ran = run_quietly(av, cwd);
    free(av);
    if (cwd && chdir(cwd)) { json_free(m); return cli_error("cannot enter %s", cwd); }
    int total = 0, counts[3] = {0, 0, 0}, machine = same_machine(m);
    for (size_t i = 0; i < json_len(outs); i++) {
        const char *p = manifest_output_checked(outs, i, outdir);
        if (!p) continue;
        char q[2048];
        snprintf(q, sizeof q, "%s%s", tmp, p + strlen(outdir));
        total++;
        counts[compare_file(p, q)]++;
    }
    printf("%d of %d outputs identical, %d within rounding, %d different%s\n", counts[OUT_IDENTICAL], total,
           counts[OUT_ROUNDING], counts[OUT_DIFFERENT], ran ? "" : " (the re-run failed)");
    json_free(m);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) {}
    int ok = total > 0 && !counts[OUT_DIFFERENT] && (machine ? counts[OUT_IDENTICAL] == total : 1);
    return ok ? 0 : 1;
}
