/* test_known_answer.c - answers committed from the machine that recorded
   them, checked on the machine that runs the suite.

   A seeded resnet18 (tests/detweights.h, 1 channel, 4 classes, seed 21) on
   the 64x64 MRI slice of the gradient goldens (tests/data/attrib/grad/r18_x.npy):
     logits, the input gradient of the predicted class, one map per method
     family (Integrated Gradients, Grad-CAM, occlusion at stride 4, RISE with
     seeded masks) and the PIC SIC and AIC AUCs of the IG map.
   The answers sit in tests/data/known/ (.npy and answers.json with the
   recording machine's CPU, OpenBLAS kernel, compiler and flags). Each is
   classified like `salient verify` does:
     identical        the same bits (expected on any x86-64 with AVX2 and
                      FMA: the engine's gemm fixes every sum's order);
     within rounding  max |a - b| <= ENG_ROUND_REL (1e-4) of the largest
                      magnitude: another correct rounding (printed, passes);
     different        beyond that: a regression (fails).
   Record new answers after an intended change of the numbers with
       build/tests/test_known_answer --record
   and say why in the commit. */
#include "attrib/attrib.h"
#include "engine/engine.h"
#include "eval/pic.h"
#include "io/file.h"
#include "io/json.h"
#include "io/npy.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "weights/load.h"

#include <string.h>

#define KDIR "tests/data/known/"
#define N_OUT 6

typedef struct {
    const char *name;
    float *v;
    size_t n;
} Out;

static const float MEAN[1] = {0.5f}, STD[1] = {0.25f};

static float *load_x(size_t *n) {
    NpyArray a;
    char err[256];
    if (npy_read("tests/data/attrib/grad/r18_x.npy", &a, err, sizeof err)) { printf("%s\n", err); return NULL; }
    float *x = npy_to_f32(&a);
    *n = a.numel;
    npy_free(&a);
    return x;
}

static float *take_map(AttribResult *R, size_t n) {
    float *m = malloc(sizeof(float) * n);
    memcpy(m, R->map, sizeof(float) * n);
    attrib_result_free(R);
    return m;
}

/* Computes every answer; 0 on success. */
static int compute(Out *o, double *sic, double *aic) {
    char err[256];
    EngModel *m = weights_model_for_arch("resnet18", 1, 4, err, sizeof err);
    if (!m) { printf("%s\n", err); return -1; }
    detweights_fill_model(m, 21);
    size_t nx = 0;
    float *x = load_x(&nx);
    if (!x || nx != 64 * 64) { eng_model_free(m); free(x); return -1; }
    int H = 64, W = 64, K = 4;
    EngPass *p = eng_pass_new(m, 1, H, W);
    eng_pass_forward(p, x, ENG_TAPE);
    float *logits = malloc(sizeof(float) * K), seed[4] = {0};
    memcpy(logits, eng_pass_output(p), sizeof(float) * K);
    int target = 0;
    for (int k = 1; k < K; k++) if (logits[k] > logits[target]) target = k;
    seed[target] = 1;
    eng_pass_backward(p, seed, NULL);
    float *grad = malloc(sizeof(float) * nx);
    memcpy(grad, eng_pass_input_grad(p), sizeof(float) * nx);
    eng_pass_free(p);
    o[0] = (Out){"logits", logits, (size_t)K};
    o[1] = (Out){"input_grad", grad, nx};
    const char *methods[] = {"ig", "gradcam", "occlusion", "rise"};
    for (int i = 0; i < 4; i++) {
        AttribParams P;
        attrib_params_default(&P);
        P.model = m; P.x = x; P.C = 1; P.H = H; P.W = W; P.target = target; P.mean = MEAN; P.std = STD;
        P.seed = 5;
        if (!strcmp(methods[i], "occlusion")) P.stride = 4;
        if (!strcmp(methods[i], "rise")) P.masks = 200;
        AttribResult R;
        if (attrib_find(methods[i])->run(&P, &R)) { printf("%s: %s\n", methods[i], eng_last_error()); return -1; }
        o[2 + i] = (Out){methods[i], take_map(&R, (size_t)H * W), (size_t)H * W};
        attrib_params_release(&P);
    }
    /* PIC of the IG map, PAIR's defaults, random mask from seed 7 */
    uint8_t *img = malloc((size_t)H * W), *rmask = malloc((size_t)H * W);
    pic_input_to_u8(img, x, 1, H, W, MEAN, STD);
    pic_random_mask(rmask, H, W, PIC_RANDOM_FRACTION, 7);
    AttribParams P;
    attrib_params_default(&P);
    P.model = m; P.x = x; P.C = 1; P.H = H; P.W = W; P.target = target; P.mean = MEAN; P.std = STD;
    PicImage pi;
    PicEngine pe = {&P, MEAN, STD, 0};
    PicResult r;
    int rc = pic_image_init(&pi, img, H, W, 1, rmask, INFO_WEBP);
    if (!rc) rc = pic_evaluate(&pi, o[2].v, pic_engine_logits, &pe, K, target, 0.0, 0, &r);
    if (!rc) { *sic = r.sic.auc; *aic = r.aic.auc; pic_result_free(&r); }
    if (!rc) pic_image_free(&pi);
    attrib_params_release(&P);
    free(img); free(rmask); free(x);
    eng_model_free(m);
    return rc;
}

static int record(Out *o, double sic, double aic) {
    char path[256], cpu[256];
    for (int i = 0; i < N_OUT; i++) {
        int64_t shape[1] = {(int64_t)o[i].n};
        char err[256];
        snprintf(path, sizeof path, KDIR "%s.npy", o[i].name);
        if (npy_write_f32(path, o[i].v, 1, shape, err, sizeof err)) { printf("%s\n", err); return 1; }
    }
    io_cpu_name(cpu, sizeof cpu);
    FILE *f = fopen(KDIR "answers.json", "w");
    if (!f) return 1;
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "cpu", cpu);
    jw_kv_string(&w, "openblas", eng_blas_info());
    jw_kv_string(&w, "compiler", __VERSION__);
    jw_kv_string(&w, "cflags", SALIENT_CFLAGS);
    jw_key(&w, "pic_sic_auc");
    if (isnan(sic)) jw_null(&w); else jw_number(&w, sic);
    jw_key(&w, "pic_aic_auc"); /* null: skipped by PIC's rules */
    if (isnan(aic)) jw_null(&w); else jw_number(&w, aic);
    jw_object_end(&w);
    fputc('\n', f);
    fclose(f);
    printf("recorded %d answers and the PIC AUCs (SIC %.9f, AIC %.9f) in " KDIR "\n", N_OUT, sic, aic);
    return 0;
}

/* One answer's verdict, printed; 1 unless different. */
static int classify(const char *name, const float *now, const float *then, size_t n, const char *where) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)now[i] - then[i]));
        scale = fmax(scale, fabs((double)then[i]));
    }
    int same = !memcmp(now, then, sizeof(float) * n), ok = same || eng_within_rounding(diff, scale);
    char label[300];
    snprintf(label, sizeof label, "known answer %s: %s%s (max difference %.3g, %.3g of the largest magnitude)", name,
             same ? "identical" : ok ? "within rounding" : "different", same ? "" : where, diff,
             scale > 0 ? diff / scale : diff);
    CHECK(ok, label, "beyond rounding (%.0e): a regression, or record new answers (see the file's header)",
          ENG_ROUND_REL);
    return ok;
}

int main(int argc, char **argv) {
    eng_set_threads(2);
    Out o[N_OUT];
    double sic = NAN, aic = NAN;
    if (compute(o, &sic, &aic)) { CHECK(0, "known answers computed", "%s", eng_last_error()); CHECK_DONE(); }
    if (argc > 1 && !strcmp(argv[1], "--record")) return record(o, sic, aic);
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256], cpu[256];
    if (io_read_file(KDIR "answers.json", 1 << 20, &buf, &len, err, sizeof err)) {
        CHECK(0, "known answers present", "%s", err);
        CHECK_DONE();
    }
    JsonValue *j = json_parse((const char *)buf, len, err, sizeof err);
    free(buf);
    io_cpu_name(cpu, sizeof cpu);
    const char *rcpu = json_string(json_get(j, "cpu")), *rblas = json_string(json_get(j, "openblas"));
    const char *rcc = json_string(json_get(j, "compiler")), *rfl = json_string(json_get(j, "cflags"));
    int same_machine = rcpu && rblas && rcc && rfl && !strcmp(rcpu, cpu) && !strcmp(rblas, eng_blas_info()) &&
                       !strcmp(rcc, __VERSION__) && !strcmp(rfl, SALIENT_CFLAGS);
    printf("    recorded on: %s; %s; gcc %s; %s\n    running on:  %s; %s; gcc %s; %s\n", rcpu ? rcpu : "?",
           rblas ? rblas : "?", rcc ? rcc : "?", rfl ? rfl : "?", cpu, eng_blas_info(), __VERSION__, SALIENT_CFLAGS);
    const char *where = same_machine ? " on the recording machine and build: the code changed the rounding"
                                     : " (another machine or build)";
    for (int i = 0; i < N_OUT; i++) {
        char path[256];
        NpyArray a;
        snprintf(path, sizeof path, KDIR "%s.npy", o[i].name);
        if (npy_read(path, &a, err, sizeof err) || a.numel != o[i].n) {
            CHECK(0, o[i].name, "known answer missing or of another size: %s", err);
            continue;
        }
        float *then = npy_to_f32(&a);
        classify(o[i].name, o[i].v, then, o[i].n, where);
        free(then);
        npy_free(&a);
        free(o[i].v);
    }
    /* an AUC PIC skips (its rule met) is null in the file and NaN here */
    const JsonValue *js = json_get(j, "pic_sic_auc"), *ja = json_get(j, "pic_aic_auc");
    double rs = json_type(js) == JSON_NUMBER ? json_number(js) : NAN, ra = json_type(ja) == JSON_NUMBER ? json_number(ja) : NAN;
    int skips_agree = isnan(rs) == isnan(sic) && isnan(ra) == isnan(aic);
    CHECK(skips_agree, "known answer PIC: the same curves skipped", "SIC %g vs %g, AIC %g vs %g", sic, rs, aic, ra);
    float now2[2] = {isnan(sic) ? 0.0f : (float)sic, isnan(aic) ? 0.0f : (float)aic};
    float then2[2] = {isnan(rs) ? 0.0f : (float)rs, isnan(ra) ? 0.0f : (float)ra};
    classify("PIC SIC and AIC AUCs of the IG map", now2, then2, 2, where);
    json_free(j);
    CHECK_DONE();
}
