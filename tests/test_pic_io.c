/* test_pic_io.c - eval/pic_io.h: saliency maps and random masks read from
   .npy files of the accepted shapes, and refused with a message naming the
   option, the file and the reason (wrong shape, non-finite value, wrong
   dtype, missing file); a PIC curve written as JSON and read back. */
#include "eval/pic_io.h"
#include "io/npy.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char T[] = "/tmp/test_pic_io_XXXXXX";

static const char *write_f32(const char *name, const float *v, int ndim, const int64_t *shape) {
    static char p[8][300];
    static int k;
    char *out = p[k++ % 8], err[256];
    snprintf(out, 300, "%s/%s", T, name);
    npy_write_f32(out, v, ndim, shape, err, sizeof err);
    return out;
}

static void test_map(void) {
    float v[12];
    for (int i = 0; i < 12; i++) v[i] = (float)i;
    int64_t s33[2] = {3, 3}, s1133[4] = {1, 1, 3, 3}, s34[2] = {3, 4}, s133[3] = {3, 1, 3};
    char err[1024] = "";
    float *m = pic_map_read(write_f32("a.npy", v, 2, s33), 3, "--map", err, sizeof err);
    CHECK(m && m[0] == 0 && m[8] == 8, "a (3, 3) map read", "%s", err);
    free(m);
    m = pic_map_read(write_f32("b.npy", v, 4, s1133), 3, "--map", err, sizeof err);
    CHECK(m && m[4] == 4, "a (1, 1, 3, 3) map read as (3, 3)", "%s", err);
    free(m);
    const char *p = write_f32("c.npy", v, 2, s34);
    char want[600];
    snprintf(want, sizeof want, "--map %s: expected a (3, 3) saliency map at the model's input size, found 2 dimension(s) of another shape", p);
    m = pic_map_read(p, 3, "--map", err, sizeof err);
    CHECK(!m && !strcmp(err, want), "a (3, 4) map refused, naming the option, the file and both shapes", "'%s'", err);
    m = pic_map_read(write_f32("d.npy", v, 3, s133), 3, "--map", err, sizeof err);
    CHECK(!m && strstr(err, "expected a (3, 3) saliency map"), "a (3, 1, 3) map refused", "'%s'", err);
    v[5] = NAN;
    p = write_f32("e.npy", v, 2, s33);
    snprintf(want, sizeof want, "--map %s: non-finite value at pixel (1, 2)", p);
    m = pic_map_read(p, 3, "--map", err, sizeof err);
    CHECK(!m && !strcmp(err, want), "a NaN refused at its pixel (row 1, column 2)", "'%s'", err);
    m = pic_map_read("/nonexistent.npy", 3, "--map", err, sizeof err);
    CHECK(!m && !strncmp(err, "--map: ", 7) && strstr(err, "/nonexistent.npy"), "a missing map: the reader's message after the option",
          "'%s'", err);
}

static void test_mask(void) {
    uint8_t u[9] = {0, 2, 0, 1, 0, 0, 0, 0, 255};
    int64_t s33[2] = {3, 3};
    char p[300], err[1024] = "";
    snprintf(p, sizeof p, "%s/m.npy", T);
    npy_write_u8(p, u, 2, s33, err, sizeof err);
    uint8_t *m = pic_mask_read(p, 3, "--random-mask", err, sizeof err);
    CHECK(m && m[1] == 1 && m[3] == 1 && m[8] == 1 && m[0] == 0 && m[2] == 0, "a uint8 mask read as 0/1", "%s", err);
    free(m);
    float f[9] = {0};
    const char *q = write_f32("mf.npy", f, 2, s33);
    m = pic_mask_read(q, 3, "--random-mask", err, sizeof err);
    CHECK(!m && strstr(err, "--random-mask ") && strstr(err, "uint8 or bool array, found <f4 with 2 dimension(s)"),
          "a float32 mask refused, naming its dtype", "'%s'", err);
    m = pic_mask_read(p, 4, "--random-mask", err, sizeof err);
    CHECK(!m && strstr(err, "expected a (4, 4)"), "a mask of another size refused", "'%s'", err);
}

static void test_curve_json(void) {
    PicCurve pc;
    memset(&pc, 0, sizeof pc);
    pc.auc = 0.625;
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) { pc.info[t] = t; pc.pred[t] = 0.5; pc.x[t] = t / 12.0; pc.y[t] = 0.25; }
    pc.info_orig = 100; pc.pred_orig = 0.9; pc.info_blur = 10; pc.pred_blur = 0.1;
    char p[300], err[512];
    snprintf(p, sizeof p, "%s/curve.json", T);
    FILE *f = fopen(p, "w");
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    pic_curve_json(&w, "sic", &pc);
    pc.skip = PIC_SKIP_MIN_PRED;
    snprintf(pc.reason, sizeof pc.reason, "pred 0.5 < 0.8");
    pic_curve_json(&w, "aic", &pc);
    jw_object_end(&w);
    fclose(f);
    JsonValue *v = json_read_file(p, 1 << 20, err, sizeof err);
    const JsonValue *s = json_get(v, "sic"), *pts = json_get(s, "points");
    CHECK(v && json_number(json_get(s, "auc")) == 0.625 && json_type(json_get(s, "skipped")) == JSON_NULL &&
          json_len(pts) == PIC_N_THRESHOLDS && json_number(json_get(json_at(pts, 3), "threshold")) == pic_thresholds[3] &&
          json_number(json_get(json_at(pts, 12), "info")) == 12 && json_number(json_get(json_get(s, "original"), "info")) == 100 &&
          json_number(json_get(json_get(s, "blurred"), "pred")) == 0.1, "a PIC curve as JSON: AUC, 13 points, original and blurred", "%s", err);
    const char *sk = json_string(json_get(json_get(v, "aic"), "skipped"));
    CHECK(sk && !strcmp(sk, "min_pred: pred 0.5 < 0.8"), "a skipped curve: reason and rule", "'%s'", sk ? sk : "null");
    json_free(v);
}

int main(void) {
    if (!mkdtemp(T)) return 1;
    test_map();
    test_mask();
    test_curve_json();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd)) {}
    CHECK_DONE();
}
