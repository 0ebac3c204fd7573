/* pic_io.c - a PIC measurement's map, mask and curve files (see pic_io.h). */
#include "eval/pic_io.h"
#include "io/npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A (S,S) array, also given as (1,S,S) or (1,1,S,S). */
static int square_shape(const NpyArray *a, int S) {
    int big = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1 && d < a->ndim - 2) continue;
        if (d < a->ndim - 2) return 0;
        if (a->shape[d] != S) return 0;
        big++;
    }
    return big == 2;
}

float *pic_map_read(const char *path, int S, const char *what, char *err, size_t errlen) {
    NpyArray a;
    char e[512];
    if (npy_read(path, &a, e, sizeof e)) { err_fail(err, errlen, "%s: %s", what, e); return NULL; }
    if (!square_shape(&a, S)) {
        err_fail(err, errlen, "%s %s: expected a (%d, %d) saliency map at the model's input size, found %d dimension(s)%s",
                 what, path, S, S, a.ndim, a.ndim ? " of another shape" : "");
        npy_free(&a);
        return NULL;
    }
    float *m = npy_to_f32(&a);
    npy_free(&a);
    if (!m) { err_fail(err, errlen, "%s %s: cannot convert to float32", what, path); return NULL; }
    for (int i = 0; i < S * S; i++)
        if (!isfinite(m[i])) {
            err_fail(err, errlen, "%s %s: non-finite value at pixel (%d, %d)", what, path, i / S, i % S);
            free(m);
            return NULL;
        }
    return m;
}

uint8_t *pic_mask_read(const char *path, int S, const char *what, char *err, size_t errlen) {
    NpyArray a;
    char e[512];
    if (npy_read(path, &a, e, sizeof e)) { err_fail(err, errlen, "%s: %s", what, e); return NULL; }
    if (!square_shape(&a, S) || (a.dtype != NPY_U8 && a.dtype != NPY_BOOL)) {
        err_fail(err, errlen, "%s %s: expected a (%d, %d) uint8 or bool array, found %s with %d dimension(s)", what, path, S, S,
                 npy_dtype_name(a.dtype), a.ndim);
        npy_free(&a);
        return NULL;
    }
    uint8_t *m = malloc((size_t)S * S);
    if (m) for (int i = 0; i < S * S; i++) m[i] = ((const uint8_t *)a.data)[i] != 0;
    else err_fail(err, errlen, "%s %s: out of memory", what, path);
    npy_free(&a);
    return m;
}

static void info_pred(JsonWriter *w, const char *key, double info, double pred) {
    jw_key(w, key);
    jw_object_begin(w);
    jw_kv_number(w, "info", info);
    jw_kv_number(w, "pred", pred);
    jw_object_end(w);
}

void pic_curve_json(JsonWriter *w, const char *key, const PicCurve *pc) {
    jw_key(w, key);
    jw_object_begin(w);
    jw_kv_number(w, "auc", pc->auc);
    if (pc->skip == PIC_OK) jw_kv_string(w, "skipped", NULL);
    else {
        char r[300];
        snprintf(r, sizeof r, "%s: %s", pic_skip_name(pc->skip), pc->reason);
        jw_kv_string(w, "skipped", r);
    }
    jw_key(w, "points");
    jw_array_begin(w);
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) {
        jw_object_begin(w);
        jw_kv_number(w, "threshold", pic_thresholds[t]);
        jw_kv_number(w, "info", pc->info[t]);
        jw_kv_number(w, "pred", pc->pred[t]);
        jw_kv_number(w, "x", pc->x[t]);
        jw_kv_number(w, "y", pc->y[t]);
        jw_object_end(w);
    }
    jw_array_end(w);
    info_pred(w, "original", pc->info_orig, pc->pred_orig);
    info_pred(w, "blurred", pc->info_blur, pc->pred_blur);
    jw_object_end(w);
}
