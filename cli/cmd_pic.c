/* cmd_pic.c - `salient pic`: SIC and AIC of one image and one saliency map,
   step by step as PAIR's pic.py (eval/pic.h): per threshold the information
   and the prediction, raw and normalised, the skip reason if any, both
   AUCs. The tool for checking one number by hand.

   The image PIC works on is the model's input before normalisation,
   x * std + mean, as uint8 (rounded half to even); the model sees each
   blurred uint8 image divided by 255 and normalised again. */
#include "cli/cli.h"
#include "eval/info.h"
#include "eval/pic.h"
#include "eval/pic_io.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_text(const PicResult *r, const PicImage *pi, const Model *md, const char *image, const char *map,
                       const char *mask_src, double min_pred) {
    char b[64];
    const PicCurve *s = &r->sic, *a = &r->aic;
    printf("PIC metrics (PAIR pic.py) of %s with map %s\n", image, map);
    printf("model        %s (%s), input %dx%dx%d\n", md->path, eng_model_arch(md->m), pi->H, pi->W, pi->C);
    printf("image        the network input before normalisation (x * std + mean), as uint8\n");
    printf("information  %s\n", info_describe(pi->info_kind));
    printf("random mask  %s\n", mask_src);
    printf("class        %d (%s); min_pred %g\n\n", r->cls, model_label(md, r->cls, b, sizeof b), min_pred);
    printf("%-10s %12s %8s | %10s %8s | %4s %6s\n", "threshold", "information", "x", "SIC pred", "SIC y", "AIC", "AIC y");
    printf("%-10s %12.10g %8s | %10.6f %8s | %4.0f %6s\n", "blurred", s->info_blur, "0", s->pred_blur, "0", a->pred_blur, "0");
    for (int t = 0; t < PIC_N_THRESHOLDS; t++)
        printf("%-10g %12.10g %8.4f | %10.6f %8.4f | %4.0f %6.4f\n", pic_thresholds[t], s->info[t], s->x[t], s->pred[t],
               s->y[t], a->pred[t], a->y[t]);
    printf("%-10s %12.10g %8s | %10.6f %8s | %4.0f %6s\n\n", "original", s->info_orig, "1", s->pred_orig, "1", a->pred_orig, "1");
    const PicCurve *c[2] = {s, a};
    const char *nm[2] = {"SIC", "AIC"};
    for (int k = 0; k < 2; k++) {
        if (c[k]->skip == PIC_OK) printf("%s AUC  %.6f\n", nm[k], c[k]->auc);
        else printf("%s      skipped (%s): %s\n", nm[k], pic_skip_name(c[k]->skip), c[k]->reason);
    }
    printf("\ntime: blurred images + information %.0f ms, network %.0f ms\n", pi->seconds_images * 1e3, pi->seconds_net * 1e3);
}

int cmd_pic(const Opts *o_in) {
    Opts sized = *o_in;
    const Opts *o = &sized;
    if (opts_size_from_npy(&sized)) return 1;
    if (!o->map) return cli_error("pic: give the saliency map with --map MAP.npy");
    if ((o->n_pos != 1) == !o->input_npy || o->n_pos > 1)
        return cli_error("pic: give exactly one image, or --input-npy X.npy with one input");
    InfoKind kind = INFO_WEBP;
    if (o->info && info_parse(o->info, &kind))
        return cli_error("--info %s: expected webp, png or entropy", o->info);
    double min_pred = o->min_pred >= 0 ? o->min_pred : PIC_MIN_PRED;
    int target = -1;
    if (o->target && strcmp(o->target, "pred")) {
        char *end;
        long v = strtol(o->target, &end, 10);
        if (*end || v < 0 || v > 1000000) return cli_error("--target %s: expected pred or a class index", o->target);
        target = (int)v;
    }
    Model md;
    if (model_open(&md, o)) return 1;
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
    int C = eng_model_in_channels(md.m), S = md.size, K = eng_model_n_classes(md.m), rc = 1;
    float *x = NULL, *map = NULL;
    uint8_t *mask = NULL, *img = NULL;
    PicImage pi;
    memset(&pi, 0, sizeof pi);
    PicResult r;
    memset(&r, 0, sizeof r);
    AttribParams P;
    attrib_params_default(&P);
    char err[1200], mask_src[600];
    if (target >= K) { cli_error("--target %d: the model has %d classes", target, K); goto out; }
    if (C != 1 && C != 3) { cli_error("pic: the model takes %d channels; PIC images have 1 or 3", C); goto out; }
    const char *image = o->input_npy ? o->input_npy : o->pos[0];
    if (o->input_npy) {
        int n, h, w;
        if (!(x = load_input_npy(o->input_npy, &md, &n, &h, &w))) goto out;
        if (n != 1 || h != S || w != S) {
            cli_error("%s: expected one input of %dx%d (the model's input size; --size to change it), found %d of %dx%d",
                      o->input_npy, S, S, n, h, w);
            goto out;
        }
    } else {
        x = malloc(sizeof(float) * C * S * S);
        if (!x || model_preprocess(&md, o, image, x, NULL, err, sizeof err)) { cli_error("%s", err); goto out; }
    }
    if (!(map = pic_map_read(o->map, S, "--map", err, sizeof err))) { cli_error("%s", err); goto out; }
    if (o->random_mask) {
        if (!(mask = pic_mask_read(o->random_mask, S, "--random-mask", err, sizeof err))) { cli_error("%s", err); goto out; }
        long cnt = 0;
        for (int i = 0; i < S * S; i++) cnt += mask[i];
        snprintf(mask_src, sizeof mask_src, "%ld pixels from %s, plus the 4 corners", cnt, o->random_mask);
    } else {
        mask = malloc((size_t)S * S);
        if (!mask || pic_random_mask(mask, S, S, PIC_RANDOM_FRACTION, o->seed)) { cli_error("%s", eng_last_error()); goto out; }
        snprintf(mask_src, sizeof mask_src, "%d pixels (1%%) drawn with seed %llu, plus the 4 corners",
                 (int)((double)S * S * PIC_RANDOM_FRACTION), (unsigned long long)o->seed);
    }
    if (o->save_random_mask) {
        int64_t shape[2] = {S, S};
        if (npy_write_u8(o->save_random_mask, mask, 2, shape, err, sizeof err)) { cli_error("%s", err); goto out; }
    }
    img = malloc((size_t)C * S * S);
    if (!img) { cli_error("pic: out of memory"); goto out; }
    pic_input_to_u8(img, x, C, S, S, md.mean, md.std);
    if (pic_image_init(&pi, img, S, S, C, mask, kind)) { cli_error("%s", eng_last_error()); goto out; }
    pi.sigmoid = md.sigmoid;
    P.model = md.m; P.C = C; P.H = P.W = S; P.mean = md.mean; P.std = md.std; P.batch = o->batch;
    P.sigmoid = md.sigmoid;
    PicEngine pe = {&P, md.mean, md.std, 0};
    if (pic_evaluate(&pi, map, pic_engine_logits, &pe, K, target, min_pred, 0, &r)) { cli_error("%s", eng_last_error()); goto out; }
    if (o->json) {
        JsonWriter w;
        jw_init(&w, stdout, 1);
        jw_object_begin(&w);
        pic_curve_json(&w, "sic", &r.sic);
        pic_curve_json(&w, "aic", &r.aic);
        jw_kv_string(&w, "info", info_name(kind));
        if (o->random_mask) jw_kv_string(&w, "seed", NULL);
        else if (o->seed <= (uint64_t)LLONG_MAX) jw_kv_int(&w, "seed", (long long)o->seed);
        else jw_kv_string(&w, "seed", o->seed_str); /* beyond a JSON-safe integer: the digits as given */
        jw_kv_int(&w, "class", r.cls);
        jw_object_end(&w);
        if (jw_error(&w)) { cli_error("cannot write the JSON output"); goto out; }
    } else print_text(&r, &pi, &md, image, o->map, mask_src, min_pred);
    rc = 0;
out:
    pic_result_free(&r);
    pic_image_free(&pi);
    attrib_params_release(&P);
    free(x); free(map); free(mask); free(img);
    model_close(&md);
    return rc;
}
