/* test_mprt.c - the outputs of eval/mprt.h on a handmade result (two
   modules, two methods, one undefined correlation): sanity.csv byte for
   byte, sanity.json's steps, final values and flagged methods, the plot
   written as a PNG, and unwritable paths; the summary of two images, and a
   third image unlike the first refused. */
#include "eval/mprt.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char T[] = "/tmp/test_mprt_XXXXXX";

int main(void) {
    if (!mkdtemp(T)) return 1;
    MprtModule mods[2] = {{"layer1.0.conv1", 0, 1}, {"fc", 1, 2}};
    /* step 0: the original (1, 1); step 1 (fc randomised); step 2 (both) */
    double corr[6] = {1, 1, 0.5, 0.95, NAN, 0.93};
    Mprt t = {mods, 2, 2, corr, MPRT_BY_MODULE};
    const AttribMethod *ms[2] = {attrib_find("ig"), attrib_find("random")};
    if (!ms[0] || !ms[1]) { printf("FAIL methods: ig or random missing from the registry\n"); return 1; }
    char csv[300], js[300], png[300], err[512] = "";
    snprintf(csv, sizeof csv, "%s/sanity.csv", T);
    snprintf(js, sizeof js, "%s/sanity.json", T);
    snprintf(png, sizeof png, "%s/sanity.png", T);
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *want = "step,module,ig,random\n0,none,1,1\n1,fc,0.5,0.95\n2,layer1.0.conv1,,0.93\n";
    int ok = !mprt_write_csv(&t, ms, csv, err, sizeof err) && !io_read_file(csv, 1 << 20, &buf, &len, err, sizeof err);
    CHECK(ok && len == strlen(want) && !memcmp(buf, want, len), "sanity.csv: steps from the classifier down, NaN as an empty cell",
          "%s got:\n%.*s", err, (int)len, buf ? (char *)buf : "");
    free(buf);
    MprtRunInfo info = {"9.9", "m.st", "resnet18", "abc", "x.png", 64, 3, 11};
    JsonValue *v = NULL;
    if (!mprt_write_json(&t, ms, &info, js, err, sizeof err)) v = json_read_file(js, 1 << 20, err, sizeof err);
    const JsonValue *steps = json_get(v, "steps"), *flagged = json_get(v, "flagged"), *fin = json_get(v, "final");
    CHECK(v && json_len(steps) == 3 && !strcmp(json_string(json_get(json_at(steps, 1), "randomised")), "fc") &&
          json_type(json_get(json_at(steps, 0), "randomised")) == JSON_NULL &&
          json_number(json_get(json_get(json_at(steps, 1), "spearman"), "random")) == 0.95,
          "sanity.json: three steps, the module randomised at each, the correlations", "%s", err);
    CHECK(json_len(flagged) == 1 && !strcmp(json_string(json_at(flagged, 0)), "random") &&
          json_type(json_get(fin, "ig")) == JSON_NULL && json_number(json_get(fin, "random")) == 0.93,
          "sanity.json: random (0.93 > 0.9) flagged, ig's undefined final value null", "%zu flagged", json_len(flagged));
    CHECK(v && json_number(json_get(v, "target")) == 3 && json_number(json_get(v, "seed")) == 11 &&
          !strcmp(json_string(json_get(json_get(v, "model"), "sha256")), "abc") && json_number(json_get(v, "flag_threshold")) == MPRT_FLAG,
          "sanity.json: target, seed, model and threshold as given", "missing");
    json_free(v);
    Image im = {0};
    CHECK(!mprt_plot_json(js, png, err, sizeof err) && !image_load(png, &im, err, sizeof err) && im.w > 100 && im.h > 100,
          "sanity.png drawn from sanity.json, readable", "%s", err);
    free(im.data);
    CHECK(mprt_write_csv(&t, ms, "/nonexistent/s.csv", err, sizeof err) == -1 && strstr(err, "cannot write /nonexistent/s.csv"),
          "an unwritable sanity.csv: an error naming it", "'%s'", err);
    CHECK(mprt_write_json(&t, ms, &info, "/nonexistent/s.json", err, sizeof err) == -1 && strstr(err, "/nonexistent/s.json") &&
          mprt_plot_json(js, "/nonexistent/s.png", err, sizeof err) == -1 && strstr(err, "/nonexistent/s.png") &&
          mprt_plot_json("/nonexistent/s.json", png, err, sizeof err) == -1 && strstr(err, "/nonexistent/s.json"),
          "unwritable sanity.json and sanity.png, unreadable sanity.json: errors naming them", "'%s'", err);
    /* a second image: ig 0.2 at the end, random 0.97; the summary of both */
    double corr2[6] = {1, 1, 0.4, 0.99, 0.2, 0.97};
    Mprt t2 = {mods, 2, 2, corr2, MPRT_BY_MODULE};
    char js2[300], finp[300], stp[300];
    snprintf(js2, sizeof js2, "%s/second.json", T);
    snprintf(finp, sizeof finp, "%s/sanity_final.csv", T);
    snprintf(stp, sizeof stp, "%s/sanity_steps.csv", T);
    const char *both[2] = {js, js2};
    ok = !mprt_write_json(&t2, ms, &info, js2, err, sizeof err) && !mprt_summary_write(both, 2, T, err, sizeof err) &&
         !io_read_file(finp, 1 << 20, &buf, &len, err, sizeof err);
    want = "method,images,final_mean,final_min,final_max,flagged\nig,1,0.2000,0.2000,0.2000,0\n"
           "random,2,0.9500,0.9300,0.9700,2\n";
    CHECK(ok && len == strlen(want) && !memcmp(buf, want, len),
          "sanity_final.csv: per method the images with a final value, their mean, min, max, and how many are flagged",
          "%s got:\n%.*s", err, (int)len, buf ? (char *)buf : "");
    free(buf);
    buf = NULL;
    ok = !io_read_file(stp, 1 << 20, &buf, &len, err, sizeof err);
    want = "step,module,ig,random\n0,none,1.0000,1.0000\n1,fc,0.4500,0.9700\n2,layer1.0.conv1,0.2000,0.9500\n";
    CHECK(ok && len == strlen(want) && !memcmp(buf, want, len), "sanity_steps.csv: each step's mean over the images "
          "(an undefined value left out)", "%s got:\n%.*s", err, (int)len, buf ? (char *)buf : "");
    free(buf);
    MprtModule one[1] = {{"fc", 0, 1}};
    Mprt t3 = {one, 1, 2, corr2, MPRT_BY_MODULE};
    const char *mixed[2] = {js, js2};
    ok = !mprt_write_json(&t3, ms, &info, js2, err, sizeof err);
    CHECK(ok && mprt_summary_write(mixed, 2, T, err, sizeof err) == -1 && strstr(err, "second.json") &&
              strstr(err, "other methods or steps"),
          "MPRT summary: an image with other steps than the first is refused, naming its file", "'%s'", err);
    CHECK(mprt_summary_write(mixed, 0, T, err, sizeof err) == -1, "MPRT summary: no images is an error", "%s", "accepted");
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd)) {}
    CHECK_DONE();
}
