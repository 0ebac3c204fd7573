/* test_explain.c - eval/explain.h: the true and the explained class from
   labels, indices and folders (and their refusals), same-named inputs, the
   --baseline file reader, explain.json read back field by field (a wrong
   prediction, a target by name, the cost model's expected seconds, a
   decoded DICOM input), and the passes several targets share: a ResNet-18
   with seeded weights, Grad-CAM and Eigen-CAM run once for two targets
   give the same maps, bit for bit, as one run per target, and a target
   that does not resolve is left to run alone. */
#include "attrib/attrib.h"
#include "eval/explain.h"
#include "io/json.h"
#include "io/npy.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "weights/load.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *labels[] = {"glioma", "meningioma", "notumor", "pituitary"};

static void classes(void) {
    const char *from = "x";
    CHECK(explain_class_named("notumor", labels, 4, 4) == 2 && explain_class_named("notumor", labels, 4, 2) == -1 &&
          explain_class_named("tumor", labels, 4, 4) == -1, "class by name, only among the first K labels", "-");
    CHECK(explain_truth("meningioma", NULL, labels, 4, 4, &from) == 1 && !strcmp(from, "--label"),
          "truth: --label by name", "%s", from);
    CHECK(explain_truth("3", "a/glioma/x.png", labels, 4, 4, &from) == 3 && !strcmp(from, "--label"),
          "truth: --label by index wins over the folder", "-");
    CHECK(explain_truth("4", NULL, labels, 4, 4, &from) == -2 && explain_truth("x", NULL, labels, 4, 4, &from) == -2 &&
          explain_truth("", NULL, labels, 4, 4, &from) == -2 && explain_truth("-1", NULL, labels, 4, 4, &from) == -2,
          "truth: an index out of range, an unknown name, an empty label: -2", "-");
    CHECK(explain_truth(NULL, "data/brain/pituitary/Te-pi_1.png", labels, 4, 4, &from) == 3 && !strcmp(from, "folder"),
          "truth: the image's folder when it is a class name", "-");
    CHECK(explain_truth(NULL, "data/brain/other/Te-pi_1.png", labels, 4, 4, &from) == -1 && !from &&
          explain_truth(NULL, NULL, labels, 4, 4, &from) == -1 && explain_truth(NULL, "x.png", NULL, 0, 4, &from) == -1,
          "truth unknown: another folder, no path, no labels", "-");
    char rule[16];
    CHECK(explain_target(NULL, 1, 2, labels, 4, 4, rule, sizeof rule) == 2 && !strcmp(rule, "pred"),
          "target: the prediction by default", "%s", rule);
    CHECK(explain_target("label", 1, 2, labels, 4, 4, rule, sizeof rule) == 1 && !strcmp(rule, "label") &&
          explain_target("label", -1, 2, labels, 4, 4, rule, sizeof rule) == -1, "target: the true class, -1 when unknown", "-");
    CHECK(explain_target("3", 1, 2, labels, 4, 4, rule, sizeof rule) == 3 && !strcmp(rule, "fixed") &&
          explain_target("pituitary", 1, 2, labels, 4, 4, rule, sizeof rule) == 3 && !strcmp(rule, "fixed"),
          "target: an index or a class name is fixed", "%s", rule);
    CHECK(explain_target("4", 1, 2, labels, 4, 4, rule, sizeof rule) == -1 &&
          explain_target("-1", 1, 2, labels, 4, 4, rule, sizeof rule) == -1 &&
          explain_target("tumour", 1, 2, labels, 4, 4, rule, sizeof rule) == -1,
          "target: an index out of range or an unknown name does not resolve", "-");
    char *paths[] = {"a/x.png", "b/y.nii.gz", "c/z.dcm", "d/y.png"}, *other[] = {"a/x.png", "a/x"};
    int i = -7, j = explain_same_stem(paths, 4, &i);
    CHECK(j == 3 && i == 1, "same stem: y.png after y.nii.gz", "j %d i %d", j, i);
    CHECK(explain_same_stem(paths, 3, &i) == -1 && explain_same_stem(other, 2, &i) == 1 && i == 0,
          "same stem: none among distinct names; x.png and x", "-");
}

static void baseline(void) {
    char dir[] = "/tmp/test_explain_XXXXXX", path[256], err[512];
    if (!mkdtemp(dir)) { printf("FAIL mkdtemp\n"); exit(1); }
    snprintf(path, sizeof path, "%s/b.npy", dir);
    float v[12];
    for (int i = 0; i < 12; i++) v[i] = 0.25f * i - 1;
    int64_t shape[3] = {1, 3, 4};
    float *got = (float *)1;
    CHECK(!npy_write_f32(path, v, 3, shape, err, sizeof err) && explain_baseline_read(path, 12, &got, err, sizeof err) == 0 &&
          got && !memcmp(got, v, sizeof v), "baseline file: 12 values read back", "%s", err);
    free(got);
    CHECK(explain_baseline_read(path, 16, &got, err, sizeof err) == -2 && !got && strstr(err, "12 values, the input has 16"),
          "baseline file with the wrong size: -2 and the counts", "%s", err);
    snprintf(path, sizeof path, "%s/missing.npy", dir);
    CHECK(explain_baseline_read(path, 12, &got, err, sizeof err) == -1 && !got && strstr(err, "missing.npy"),
          "missing baseline file: -1 naming it", "%s", err);
    rmdir(dir);
}

static void json_doc(void) {
    char dir[] = "/tmp/test_explain_XXXXXX", path[256], img[256], err[512];
    if (!mkdtemp(dir)) { printf("FAIL mkdtemp\n"); exit(1); }
    snprintf(img, sizeof img, "%s/Te-gl_1.png", dir);
    FILE *f = fopen(img, "w");
    fputs("abc", f);   /* sha256("abc") is the FIPS 180-2 example */
    fclose(f);
    float mean[1] = {0.5f}, stdv[1] = {0.25f}, logits[4] = {1, 2, 0.5f, -1}, prob[4] = {0.25f, 0.5f, 0.125f, 0.125f};
    FigureInfo fig = {1, "meningioma", 0.5, 0, "glioma", 3, "pituitary", "non-default settings: steps 8", NULL};
    const AttribMethod *ms[2] = {attrib_find("ig"), attrib_find("gradcam")};
    AttribResult res[2];
    memset(res, 0, sizeof res);
    res[0].forward = 3; res[0].backward = 1; res[0].batches = 2; res[0].seconds = 0.5;
    snprintf(res[0].notes, sizeof res[0].notes, "steps 8");
    res[1].forward = res[1].backward = 1; res[1].shared_forward = 1;
    int ok[2] = {1, 0};
    MethodSettings s;
    memset(&s, 0, sizeof s);
    s.param[AP_STEPS] = 8;
    ImageLoadInfo li;
    memset(&li, 0, sizeof li);
    snprintf(li.format, sizeof li.format, "dicom");
    snprintf(li.window_kind, sizeof li.window_kind, "file");
    li.center = 40; li.width = 400;
    ExplainRecord r = {"9.9", "m.safetensors", "resnet18", "ab12", 0, img, -1, &li, 1, 224, 4, mean, stdv, logits,
                       prob, 1, &fig, "fixed", "folder", NULL, 7, 2, {1, 0.01, 0.03}, ms, 2, ok, res, &s,
                       "layer4", 16};
    snprintf(path, sizeof path, "%s/explain.json", dir);
    CHECK(!explain_json_write(path, &r, err, sizeof err), "explain.json written", "%s", err);
    JsonValue *j = json_read_file(path, 1 << 20, err, sizeof err);
    if (!j) { printf("FAIL explain.json read back: %s\n", err); exit(1); }
    const JsonValue *pred = json_get(j, "prediction"), *tg = json_get(j, "target"), *m0 = json_at(json_get(j, "methods"), 0),
                    *m1 = json_at(json_get(j, "methods"), 1), *im = json_get(j, "image");
    CHECK(!strcmp(json_string(json_get(j, "salient_version")), "9.9") &&
          !strcmp(json_string(json_get(json_get(j, "model"), "head")), "softmax") &&
          !strcmp(json_string(json_get(im, "sha256")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") &&
          !json_get(im, "npy_index") && json_number(json_get(json_get(im, "decoded"), "window_width")) == 400,
          "explain.json: version, head, the image's SHA-256 and how it was decoded", "-");
    CHECK(json_number(json_get(pred, "class")) == 1 && !strcmp(json_string(json_get(pred, "label")), "meningioma") &&
          json_number(json_get(pred, "prob")) == 0.5 && json_bool(json_get(pred, "shared_forward")) &&
          json_len(json_get(pred, "probs")) == 4 && json_number(json_at(json_get(pred, "logits"), 2)) == 0.5,
          "explain.json: the prediction with every probability and logit", "-");
    CHECK(json_number(json_get(tg, "class")) == 3 && !strcmp(json_string(json_get(tg, "rule")), "fixed") &&
          !strcmp(json_string(json_get(j, "true_label")), "glioma") && json_number(json_get(j, "true_class")) == 0 &&
          !strcmp(json_string(json_get(j, "true_label_from")), "folder") && json_type(json_get(j, "correct")) == JSON_BOOL &&
          !json_bool(json_get(j, "correct")) && json_type(json_get(j, "lesion_mask")) == JSON_NULL,
          "explain.json: target, truth, a wrong prediction, no lesion mask", "-");
    CHECK(!strcmp(json_string(json_get(j, "figure_title")), "WRONG  true: glioma  pred: meningioma 0.50  target: pituitary") &&
          !strcmp(json_string(json_get(j, "figure_settings")), "non-default settings: steps 8"),
          "explain.json: the figure's title and settings", "%s", json_string(json_get(j, "figure_title")));
    CHECK(!strcmp(json_string(json_get(m0, "name")), "ig") && json_bool(json_get(m0, "ok")) &&
          json_number(json_get(json_get(m0, "params"), "steps")) == 8 &&
          json_number(json_get(json_get(m0, "params"), "batch")) == 16 && json_number(json_get(m0, "batches")) == 2 &&
          fabs(json_number(json_get(m0, "expected_seconds")) - 0.05) < 1e-12 &&
          !strcmp(json_string(json_get(m0, "notes")), "steps 8"),
          "explain.json: a method's parameters as run, passes and the expected seconds 2 x 10 ms + 1 x 30 ms", "%g",
          json_number(json_get(m0, "expected_seconds")));
    CHECK(!json_bool(json_get(m1, "ok")) && json_bool(json_get(m1, "shared_forward")) &&
          !strcmp(json_string(json_get(json_get(m1, "params"), "layer")), "layer4") &&
          json_number(json_get(json_get(j, "pass_time"), "forward_backward_ms")) == 30,
          "explain.json: a failed method, its layer, the pass times in ms", "-");
    json_free(j);
    fig.truth = -1;
    fig.truth_name = NULL;
    r.truth_from = NULL;
    r.npy_index = 2;
    r.load = NULL;
    r.lesion_mask = "x.mask.png";
    CHECK(!explain_json_write(path, &r, err, sizeof err) && (j = json_read_file(path, 1 << 20, err, sizeof err)) &&
          json_type(json_get(j, "correct")) == JSON_NULL && json_type(json_get(j, "true_class")) == JSON_NULL &&
          json_number(json_get(json_get(j, "image"), "npy_index")) == 2 &&
          !strcmp(json_string(json_get(json_get(j, "input"), "preprocessed")), "as given (--input-npy)") &&
          !strcmp(json_string(json_get(j, "lesion_mask")), "x.mask.png"),
          "explain.json: truth unknown (correct null), an --input-npy item, a lesion mask", "%s", err);
    json_free(j);
    remove(path);
    snprintf(path, sizeof path, "%s/no/such/explain.json", dir);
    CHECK(explain_json_write(path, &r, err, sizeof err) == -1 && strstr(err, "cannot write") && strstr(err, "no/such"),
          "explain.json into a missing folder: -1 naming it", "%s", err);
    remove(img);
    rmdir(dir);
}

static int phases;
static void count_phase(void *ctx, const AttribMethod *m, int n) { phases += n == *(int *)ctx; }

static void shared(void) {
    char err[512];
    EngModel *m = weights_model_for_arch("resnet18", 1, 3, err, sizeof err);
    if (!m) { printf("FAIL model: %s\n", err); exit(1); }
    detweights_fill_model(m, 11);
    int S = 32;
    float x[32 * 32], mean[1] = {0.5f}, sd[1] = {0.25f};
    for (int i = 0; i < S * S; i++) x[i] = (float)((i * 37 % 101) - 50) / 25.0f;
    AttribParams P;
    attrib_params_default(&P);
    P.model = m; P.x = x; P.C = 1; P.H = P.W = S; P.mean = mean; P.std = sd;
    const AttribMethod *ms[3] = {attrib_find("gradcam"), attrib_find("gradient"), attrib_find("eigencam")};
    MethodSettings s;
    memset(&s, 0, sizeof s);
    ExplainShared sh;
    float lg[3], pr[3];
    int pred = attrib_predict(&P, x, lg, pr);
    CHECK(!explain_shared_predict(&sh, &P, 3, 3) && sh.pred == pred && !memcmp(sh.prob, pr, sizeof pr),
          "shared prediction = attrib_predict", "%d %d", sh.pred, pred);
    int cls[3] = {2, -1, 0}, two = 2;
    phases = 0;
    explain_shared_run(&sh, &P, ms, 3, &s, cls, count_phase, &two);
    CHECK(phases == 2, "shared runs: the two methods with run_targets, each for 2 targets", "%d", phases);
    CHECK(sh.res[0 * 3 + 0].map && sh.res[0 * 3 + 2].map && !sh.res[0 * 3 + 1].map && !sh.res[1 * 3 + 0].map &&
          sh.res[2 * 3 + 2].map, "shared results: none for the unresolved target nor for the gradient", "-");
    for (int k = 0; k < 3; k += 2)
        for (int t = 0; t < 3; t += 2) {
            AttribResult one;
            memset(&one, 0, sizeof one);
            P.target = cls[t];
            method_settings_apply(&s, &P, ms[k]);
            int rc = ms[k]->run(&P, &one);
            char name[120];
            snprintf(name, sizeof name, "%s for class %d: shared map = its own run, bit for bit", ms[k]->name, cls[t]);
            CHECK(!rc && !memcmp(one.map, sh.res[k * 3 + t].map, sizeof(float) * S * S), name, "rc %d", rc);
            attrib_result_free(&one);
        }
    explain_shared_free(&sh, 3);
    CHECK(!sh.res && !sh.prob, "shared results freed", "-");
    CHECK(explain_shared_predict(&sh, &P, 3, 65) == -1 && strstr(eng_last_error(), "at most"),
          "more than 64 shared targets refused", "%s", eng_last_error());
    explain_shared_free(&sh, 3);
    attrib_params_release(&P);
    eng_model_free(m);
}

int main(void) {
    classes();
    baseline();
    json_doc();
    shared();
    CHECK_DONE();
}
