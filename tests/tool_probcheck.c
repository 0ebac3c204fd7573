/* tool_probcheck.c - compares `salient predict --json` output with the
   probabilities PyTorch gave for the same files when the shipped models were
   exported (tests/data/samples/golden_probs.json, tools/make_samples.py):
     tool_probcheck PREDICT.json GOLDEN.json MODEL_NAME TOL
   Prints the largest difference and the file where it occurs; exits 0 when
   every probability of every golden sample of MODEL_NAME is within TOL and
   every sample was predicted. */
#include "io/file.h"
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static JsonValue *load(const char *path) {
    uint8_t *buf;
    size_t n;
    char err[512];
    if (io_read_file(path, (size_t)64 << 20, &buf, &n, err, sizeof err)) { printf("%s\n", err); return NULL; }
    JsonValue *v = json_parse((char *)buf, n, err, sizeof err);
    if (!v) printf("%s: %s\n", path, err);
    free(buf);
    return v;
}

/* The predict entry whose image path ends with the golden file's path. */
static const JsonValue *find_pred(const JsonValue *preds, const char *file) {
    size_t L = strlen(file);
    for (size_t i = 0; i < json_len(preds); i++) {
        const char *img = json_string(json_get(json_at(preds, i), "image"));
        size_t M = img ? strlen(img) : 0;
        if (img && M >= L && !strcmp(img + M - L, file)) return json_at(preds, i);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: tool_probcheck PREDICT.json GOLDEN.json MODEL TOL\n"); return 2; }
    JsonValue *preds = load(argv[1]), *gold = load(argv[2]);
    if (!preds || !gold) return 1;
    double tol = atof(argv[4]), worst = 0;
    const char *worst_file = "-";
    int n = 0, missing = 0;
    const JsonValue *models = json_get(gold, "models");
    for (size_t m = 0; m < json_len(models); m++) {
        const JsonValue *md = json_at(models, m);
        if (strcmp(json_string(json_get(md, "name")), argv[3])) continue;
        const JsonValue *samples = json_get(md, "samples");
        for (size_t s = 0; s < json_len(samples); s++) {
            const JsonValue *g = json_at(samples, s);
            const char *file = json_string(json_get(g, "file"));
            const JsonValue *p = find_pred(preds, file);
            if (!p) { missing++; continue; }
            const JsonValue *gp = json_get(g, "probs"), *pp = json_get(p, "probs");
            if (json_len(gp) != json_len(pp)) { missing++; continue; }
            for (size_t k = 0; k < json_len(gp); k++) {
                double d = fabs(json_number(json_at(gp, k)) - json_number(json_at(pp, k)));
                if (d > worst) { worst = d; worst_file = file; }
            }
            n++;
        }
    }
    printf("%d samples, max |p - p_torch| = %.3g (%s), %d missing\n", n, worst, worst_file, missing);
    json_free(preds);
    json_free(gold);
    return (n > 0 && !missing && worst <= tol) ? 0 : 1;
}
