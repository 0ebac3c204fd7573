/* test_merge.c - eval/merge.h and the run-folder helpers of eval/results.h
   and eval/summary.h on two handmade shard folders: shard names, the
   settings two runs must share, results_write_files read back, loading a
   part (and a missing folder, a bad shard), the checks between parts, the
   merged rows in the unsharded order, the merged run.json (union of the
   methods, merged_from), the summary of the merged folder, and run.json
   written from a run's settings. */
#include "eval/merge.h"
#include "eval/summary.h"
#include "io/file.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char T[] = "/tmp/test_merge_XXXXXX";

static const char *RUN =
    "{\"model\": {\"sha256\": \"abc\", \"input_size\": 64, \"classes\": 2}, \"methods\": [%s], \"info\": \"webp\","
    " \"min_pred\": 0.8, \"seed\": %d, \"insdel\": {\"enabled\": true}, \"target\": \"pred\", \"data\": \"D\", \"limit\": %s,"
    " \"method_params\": {\"ig\": {\"steps\": %d}}, \"shard\": %s}";

static JsonValue *run_json(const char *methods, int seed, int steps, const char *shard, const char *limit) {
    char text[1024], err[256];
    snprintf(text, sizeof text, RUN, methods, seed, limit, steps, shard);
    return json_parse(text, strlen(text), err, sizeof err);
}

/* A shard folder: run.json and rows for images first, first + step, ... (n images, two methods each). */
static void make_shard(const char *name, const char *methods, const char *shard, int first, int step, int n,
                       const char *m1, const char *m2) {
    char dir[300], path[400], rp[400], cp[400], err[256], text[1024];
    snprintf(dir, sizeof dir, "%s/%s", T, name);
    io_mkdir_p(dir);
    snprintf(path, sizeof path, "%s/run.json", dir);
    snprintf(text, sizeof text, RUN, methods, 7, "null", 25, shard);
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
    EvalRows rows;
    results_init(&rows);
    for (int i = 0; i < n; i++) {
        char img[32];
        snprintf(img, sizeof img, "img_%02d.png", first + i * step);
        const char *ms[2] = {m1, m2};
        for (int k = 0; k < 2; k++) {
            EvalRow r = eval_row_empty();
            r.image = img; r.method = (char *)ms[k]; r.label = 1; r.predicted = 1; r.confidence = 0.9;
            r.sic = 0.1 * (first + i * step) + k; r.seconds = 1;
            results_add(&rows, &r);
        }
    }
    snprintf(rp, sizeof rp, "%s/results.csv", dir);
    snprintf(cp, sizeof cp, "%s/curves_images.csv", dir);
    results_write_files(&rows, rp, cp, err, sizeof err);
    results_free(&rows);
}

static void test_shard_and_difference(void) {
    int i = -1, n = -1;
    CHECK(!eval_shard_parse("1/4", &i, &n) && i == 1 && n == 4, "shard 1/4", "%d/%d", i, n);
    CHECK(eval_shard_parse("4/4", &i, &n) && eval_shard_parse("-1/2", &i, &n) && eval_shard_parse("a/2", &i, &n) &&
          eval_shard_parse("1/", &i, &n) && eval_shard_parse("1/2x", &i, &n) && eval_shard_parse("0/0", &i, &n),
          "bad shards refused: 4/4, -1/2, a/2, 1/, 1/2x, 0/0", "accepted one");
    JsonValue *a = run_json("\"ig\"", 7, 25, "\"0/2\"", "null"), *b = run_json("\"ig\"", 7, 25, "\"1/2\"", "null"),
              *c = run_json("\"ig\"", 8, 25, "null", "null"), *d = run_json("\"ig\"", 7, 10, "\"0/2\"", "null");
    CHECK(!strcmp(eval_run_difference(a, b, 0), "") && !strcmp(eval_run_difference(a, b, 1), "shard"),
          "runs differing only in the shard: compatible for a merge, not for a resume", "'%s'", eval_run_difference(a, b, 1));
    CHECK(!strcmp(eval_run_difference(a, c, 0), "seed") && !strcmp(eval_run_difference(a, d, 0), "method_params"),
          "another seed, another ig step count: named", "'%s' '%s'", eval_run_difference(a, c, 0), eval_run_difference(a, d, 0));
    /* a study's rounds resume one folder with a growing --limit */
    JsonValue *e = run_json("\"ig\"", 7, 25, "null", "90"), *f = run_json("\"ig\"", 7, 25, "null", "null");
    CHECK(e && !strcmp(eval_run_difference(f, e, 1), "") && !strcmp(eval_run_difference(f, e, 0), "limit"),
          "runs differing only in the limit: a resume may go further, a merge refuses", "'%s' '%s'",
          e ? eval_run_difference(f, e, 1) : "", e ? eval_run_difference(f, e, 0) : "");
    json_free(a); json_free(b); json_free(c); json_free(d); json_free(e); json_free(f);
}

static void test_parts(void) {
    char err[2400] = "", dir[300];
    make_shard("s0", "\"ig\", \"random\"", "\"0/2\"", 0, 2, 2, "ig", "random");
    make_shard("s1", "\"ig\", \"xrai\"", "\"1/2\"", 1, 2, 2, "ig", "xrai");
    make_shard("bad", "\"ig\"", "\"2/2\"", 0, 1, 1, "ig", "random");
    EvalPart parts[3];
    snprintf(dir, sizeof dir, "%s/s1", T);
    int ok1 = !eval_part_load(&parts[0], dir, err, sizeof err);
    CHECK(ok1 && parts[0].shard_i == 1 && parts[0].shard_n == 2 && parts[0].rows.n == 4 &&
          fabs(parts[0].rows.v[results_find(&parts[0].rows, "img_03.png", "xrai")].sic - 1.3) < 1e-12,
          "a part: shard 1/2 and its 4 rows read back as written", "%s", err);
    char s0[300];
    snprintf(s0, sizeof s0, "%s/s0", T);
    eval_part_load(&parts[1], s0, err, sizeof err);
    CHECK(!eval_part_check(parts, 2, err, sizeof err), "shards 1/2 and 0/2 fit together", "%s", err);
    EvalPart twice[2];
    eval_part_load(&twice[0], s0, err, sizeof err);
    eval_part_load(&twice[1], s0, err, sizeof err);
    CHECK(eval_part_check(twice, 2, err, sizeof err) == -1 && strstr(err, "are both shard 0/2"), "the same shard twice is refused", "'%s'", err);
    eval_part_free(&twice[0]); eval_part_free(&twice[1]);
    snprintf(dir, sizeof dir, "%s/bad", T);
    CHECK(eval_part_load(&parts[2], dir, err, sizeof err) == -1 && strstr(err, "bad shard '2/2' in run.json"), "a bad shard in run.json",
          "'%s'", err);
    snprintf(dir, sizeof dir, "%s/none", T);
    CHECK(eval_part_load(&parts[2], dir, err, sizeof err) == -1 && strstr(err, "an evaluate output folder?"), "a folder without run.json",
          "'%s'", err);
    eval_parts_sort(parts, 2);
    CHECK(parts[0].shard_i == 0 && parts[1].shard_i == 1, "parts sorted by shard", "%d %d", parts[0].shard_i, parts[1].shard_i);
    char out[300], rp[400], cp[400], jp[400];
    snprintf(out, sizeof out, "%s/merged", T);
    io_mkdir_p(out);
    snprintf(rp, sizeof rp, "%s/results.csv", out);
    snprintf(cp, sizeof cp, "%s/curves_images.csv", out);
    snprintf(jp, sizeof jp, "%s/run.json", out);
    CHECK(!eval_merge_write_results(parts, 2, rp, cp, err, sizeof err) && !eval_merge_write_run(jp, parts, 2, err, sizeof err),
          "merged results and run.json written", "%s", err);
    EvalRows m;
    results_init(&m);
    int order = !results_load(&m, rp, cp, err, sizeof err) && m.n == 8;
    for (int i = 0; order && i < 8; i++) {
        char want[32];
        snprintf(want, sizeof want, "img_%02d.png", i / 2);
        order = !strcmp(m.v[i].image, want);
    }
    CHECK(order, "merged rows in the unsharded order img_00, img_01, img_02, img_03", "%d rows, %s", m.n, err);
    results_free(&m);
    JsonValue *run = json_read_file(jp, 1 << 20, err, sizeof err);
    const JsonValue *ml = json_get(run, "methods"), *from = json_get(run, "merged_from");
    CHECK(json_len(ml) == 3 && !strcmp(json_string(json_at(ml, 2)), "xrai") && json_type(json_get(run, "shard")) == JSON_NULL &&
          json_len(from) == 2 && json_number(json_get(json_at(from, 1), "rows")) == 4 && json_number(json_get(run, "seed")) == 7,
          "merged run.json: methods ig, random, xrai; shard null; merged_from with row counts; settings copied", "%zu methods", json_len(ml));
    EvalSummary s;
    int dropped = -1;
    int rc = eval_summarize_outdir(&s, out, run, NULL, 0, &dropped, err, sizeof err);
    int j = rc ? -1 : eval_method_index(&s, "ig");
    CHECK(!rc && dropped == 0 && s.n_methods == 3 && j == 0 && s.m[j].stat[EM_SIC].n == 4 && fabs(s.m[j].stat[EM_SIC].mean - 0.15) < 1e-12,
          "summary of the merged folder: ig's SIC mean of (0, 0.1, 0.2, 0.3) over 4 images", "%s", err);
    if (!rc) eval_summary_free(&s);
    const char *two[] = {"img_03.png", "img_01.png"};
    rc = eval_summarize_outdir(&s, out, run, two, 2, &dropped, err, sizeof err);
    j = rc ? -1 : eval_method_index(&s, "ig");
    CHECK(!rc && s.n_images == 2 && j == 0 && s.m[j].stat[EM_SIC].n == 2 && fabs(s.m[j].stat[EM_SIC].mean - 0.2) < 1e-12,
          "summary of two named images of the folder (a study round): ig's SIC mean of (0.1, 0.3) over 2 images",
          "rc %d, %d images: %s", rc, rc ? -1 : s.n_images, err);
    if (!rc) eval_summary_free(&s);
    CHECK(eval_summarize_outdir(&s, dir, run, NULL, 0, &dropped, err, sizeof err) == -1 && strstr(err, "results.csv"),
          "summary of a folder without results.csv: an error naming it", "'%s'", err);
    json_free(run);
    eval_part_free(&parts[0]); eval_part_free(&parts[1]);
}

static void test_run_write(void) {
    char p[300], err[512] = "";
    snprintf(p, sizeof p, "%s/run_written.json", T);
    float mean[1] = {0.5f}, sd[1] = {0.25f};
    ScoreSettings sc = {1, 64, 3, mean, sd, INFO_WEBP, 0.8, 1, 1, 0, SUBSTRATE_BLUR, SUBSTRATE_ZERO, TARGET_RULE_PRED, NULL, 0};
    char *labels[1] = {"normal"}, *classes[3] = {"x", "pneumonia", NULL};
    const AttribMethod *ms[2] = {attrib_find("ig"), attrib_find("random")};
    MethodSettings set;
    memset(&set, 0, sizeof set);
    set.param[AP_STEPS] = 10;
    EvalRunInfo r = {"9.9", "m.st", "resnet18", "abc", 0, labels, 1, classes, 3, "D", "class folders", 40, 0, ms, 2,
                     &set, "layer4", &sc, 7, "1/2"};
    JsonValue *v = NULL;
    if (!eval_run_write(p, &r, err, sizeof err)) v = json_read_file(p, 1 << 20, err, sizeof err);
    const JsonValue *lab = json_get(json_get(v, "model"), "labels");
    CHECK(v && json_len(lab) == 3 && !strcmp(json_string(json_at(lab, 0)), "normal") && !strcmp(json_string(json_at(lab, 1)), "pneumonia") &&
          !strcmp(json_string(json_at(lab, 2)), "class 2"), "run.json labels: the model's, else the data set's, else 'class K'", "%s", err);
    CHECK(v && json_number(json_get(json_get(json_get(v, "method_params"), "ig"), "steps")) == 10 &&
          json_type(json_get(v, "limit")) == JSON_NULL && !strcmp(json_string(json_get(v, "shard")), "1/2") &&
          !json_get(json_get(v, "model"), "head") && !json_get(v, "pic") && json_number(json_get(v, "seed")) == 7 &&
          !strcmp(json_string(json_get(json_get(v, "insdel"), "deletion_substrate")), insdel_substrate_name(SUBSTRATE_ZERO)),
          "run.json: ig's steps as run, no limit, the shard, head and pic only when not the default", "%s", err);
    r.seed = 8; r.sigmoid = 1;
    snprintf(p, sizeof p, "%s/run_written2.json", T);
    JsonValue *v2 = NULL;
    if (!eval_run_write(p, &r, err, sizeof err)) v2 = json_read_file(p, 1 << 20, err, sizeof err);
    CHECK(v2 && !strcmp(eval_run_difference(v, v, 1), "") && !strcmp(eval_run_difference(v, v2, 1), "seed") &&
          !strcmp(json_string(json_get(json_get(v2, "model"), "head")), "sigmoid"), "two written runs compared: the seed differs", "%s", err);
    json_free(v); json_free(v2);
    CHECK(eval_run_write("/nonexistent/run.json", &r, err, sizeof err) == -1 && strstr(err, "cannot write /nonexistent/run.json"),
          "an unwritable run.json: an error naming it", "'%s'", err);
}

/* Resuming: the same run, another seed, a record cut by a kill, no run.json. */
static void test_resume(void) {
    char dir[300], now[400], path[400], err[600], note[900];
    make_shard("r", "\"ig\", \"random\"", "null", 0, 1, 2, "ig", "random");
    snprintf(dir, sizeof dir, "%s/r", T);
    snprintf(now, sizeof now, "%s/r/run.json", T);
    EvalRows done;
    results_init(&done);
    CHECK(!eval_resume(&done, dir, now, note, sizeof note, err, sizeof err) && done.n == 4 && !note[0] &&
          !done.dropped_partial, "resume: the same run, its 4 rows", "%s n %d", err, done.n);
    results_free(&done);
    snprintf(path, sizeof path, "%s/r/seed8.json", T);
    FILE *f = fopen(path, "w");
    fprintf(f, RUN, "\"ig\", \"random\"", 8, "null", 25, "null");
    fclose(f);
    results_init(&done);
    CHECK(eval_resume(&done, dir, path, note, sizeof note, err, sizeof err) == -1 && strstr(err, "the setting 'seed' differs") &&
          done.n == 0, "resume under another seed: refused, naming it, no rows read", "'%s'", err);
    results_free(&done);
    snprintf(path, sizeof path, "%s/r/results.csv", T);
    f = fopen(path, "a");
    fputs("img_09.png,1,1,0.9,ig,0.5", f);   /* no newline: cut by a kill */
    fclose(f);
    snprintf(path, sizeof path, "%s/r/run.json", T);
    remove(path);
    results_init(&done);
    int rc = eval_resume(&done, dir, now, note, sizeof note, err, sizeof err);
    CHECK(!rc && done.n == 4 && done.dropped_partial == 1 && strstr(note, "no readable run.json"),
          "resume without run.json: a note; the cut record dropped", "%s / %s", err, note);
    results_free(&done);
    results_init(&done);
    snprintf(path, sizeof path, "%s/r/results.csv", T);
    CHECK(!results_load(&done, path, NULL, err, sizeof err) && done.n == 4 && !done.dropped_partial,
          "the resumed results.csv was rewritten without the cut record", "%s", err);
    results_free(&done);
}

/* The galleries of the parts into the merged folder; one row appended. */
static void test_gallery_and_append(void) {
    char p[400], err[256];
    const char *files[3] = {"g0/gallery/000000_a.jpg", "g1/gallery/000001_b.png", "g1/gallery/notes.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", T, files[i]);
        char d[400];
        snprintf(d, sizeof d, "%s", p);
        *strrchr(d, '/') = 0;
        io_mkdir_p(d);
        FILE *f = fopen(p, "w");
        fprintf(f, "png %d", i);
        fclose(f);
    }
    EvalPart parts[3];
    memset(parts, 0, sizeof parts);
    char d0[300], d1[300], d2[300], out[300];
    snprintf(d0, sizeof d0, "%s/g0", T); snprintf(d1, sizeof d1, "%s/g1", T); snprintf(d2, sizeof d2, "%s/g2", T);
    snprintf(out, sizeof out, "%s/gm", T);
    parts[0].dir = d0; parts[1].dir = d1; parts[2].dir = d2;
    int copied = eval_merge_gallery(parts, 3, out, NULL);
    uint8_t *buf = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/gm/gallery/000001_b.png", T);
    int ok = !io_read_file(p, 100, &buf, &len, err, sizeof err) && len == 5 && !memcmp(buf, "png 1", 5);
    free(buf);
    snprintf(p, sizeof p, "%s/gm/gallery/notes.txt", T);
    CHECK(copied == 2 && ok && access(p, F_OK) != 0, "merged gallery: the .jpg and the .png copied as they are, nothing else",
          "%d copied, %s", copied, err);
    snprintf(out, sizeof out, "%s/gn", T);
    CHECK(eval_merge_gallery(parts + 2, 1, out, NULL) == 0 && access(out, F_OK) != 0,
          "no gallery in the parts: no folder made", "-");
    char rp[400], cp[400];
    snprintf(rp, sizeof rp, "%s/ap_r.csv", T);
    snprintf(cp, sizeof cp, "%s/ap_c.csv", T);
    FILE *fr = fopen(rp, "w"), *fc = fopen(cp, "w");
    results_write_header(fr);
    curves_images_write_header(fc);
    EvalRow r = eval_row_empty();
    r.image = "x.png"; r.method = "ig"; r.label = 0; r.predicted = 1; r.sic = 0.25; r.has_raw = 1;
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) { r.sic_raw.info[t] = t; r.sic_raw.pred[t] = 0.5; r.aic_raw.pred[t] = 1; }
    results_append(fr, fc, &r);
    EvalRows back;
    results_init(&back);
    int rc = results_load(&back, rp, cp, err, sizeof err);   /* both files flushed, still open */
    CHECK(!rc && back.n == 1 && back.v[0].sic == 0.25 && back.v[0].has_raw && back.v[0].sic_raw.info[3] == 3,
          "results_append: the row and its curves flushed to both files", "%s", err);
    results_free(&back);
    fclose(fr); fclose(fc);
}

static void test_score_settings(void) {
    ScoreSettings sc;
    memset(&sc, 0, sizeof sc);
    char err[400] = "";
    CHECK(!eval_score_settings_parse(&sc, NULL, -1, NULL, NULL, 1, 1, 0, err, sizeof err) && sc.info == INFO_WEBP &&
          sc.min_pred == PIC_MIN_PRED && sc.sub_ins == SUBSTRATE_BLUR && sc.sub_del == SUBSTRATE_ZERO && sc.pic &&
          sc.insdel && sc.target_rule == TARGET_RULE_PRED, "scoring defaults: webp, min_pred 0.8, blur in, zero out, pred", "%s", err);
    CHECK(!eval_score_settings_parse(&sc, "entropy", 0.5, "black", "paper", 0, 1, 16, err, sizeof err) &&
          sc.info == INFO_ENTROPY && sc.min_pred == 0.5 && sc.sub_ins == SUBSTRATE_BLACK && sc.sub_del == SUBSTRATE_BLACK &&
          !sc.pic && sc.insdel_steps == 16 && sc.target_rule == TARGET_RULE_PAPER,
          "entropy, min_pred 0.5, black both ways, paper, no PIC, 16 steps", "%s", err);
    CHECK(eval_score_settings_parse(&sc, "gif", -1, NULL, NULL, 1, 1, 0, err, sizeof err) == -1 &&
          !strcmp(err, "info gif: expected webp, png or entropy") &&
          eval_score_settings_parse(&sc, NULL, -1, "gray", NULL, 1, 1, 0, err, sizeof err) == -1 &&
          !strcmp(err, "substrate gray: expected blur or black") &&
          eval_score_settings_parse(&sc, NULL, -1, NULL, "fixed", 1, 1, 0, err, sizeof err) == -1 &&
          !strncmp(err, "target fixed: evaluate takes pred, label or paper", 48), "bad info, substrate, target: named", "'%s'", err);
}

static void test_write_files_error(void) {
    EvalRows rows;
    results_init(&rows);
    char err[256] = "";
    CHECK(results_write_files(&rows, "/nonexistent/r.csv", "/nonexistent/c.csv", err, sizeof err) == -1 &&
          strstr(err, "/nonexistent/r.csv"), "results_write_files into a missing folder: an error naming the file", "'%s'", err);
    results_free(&rows);
}

int main(void) {
    if (!mkdtemp(T)) return 1;
    test_shard_and_difference();
    test_parts();
    test_write_files_error();
    test_run_write();
    test_resume();
    test_gallery_and_append();
    test_score_settings();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd)) {}
    CHECK_DONE();
}
