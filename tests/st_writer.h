/* st_writer.h - a small safetensors writer for tests: writes every parameter
   of an engine model (and an I64 num_batches_tracked per batchnorm, as
   torchvision's state_dict has) as F32, F16 or BF16, with optional metadata.
   Float -> half/bfloat16 conversions round to nearest even (numpy's casts).
   Header-only; include engine/engine.h first. */
#ifndef TESTS_ST_WRITER_H
#define TESTS_ST_WRITER_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t stw_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static inline uint16_t stw_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (a < 0x38800000u) { /* subnormal half: value = m * 2^-24 */
        float af;
        memcpy(&af, &a, 4);
        float q = af * 16777216.0f; /* exact scaling by 2^24 */
        uint32_t m = (uint32_t)q;
        float r = q - (float)m;
        if (r > 0.5f || (r == 0.5f && (m & 1))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t e = (a >> 23) - 127 + 15, mant = a & 0x7fffffu;
    uint32_t h = (e << 10) | (mant >> 13), rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

/* dtype: "F32", "F16" or "BF16". meta: NULL or "key":"value" pairs text to put
   inside __metadata__ (e.g. "\"input_size\":\"64\""). Returns 0 or -1. */
static inline int stw_write_model(const char *path, EngModel *m, const char *dtype, const char *meta) {
    int esz = !strcmp(dtype, "F32") ? 4 : 2;
    size_t cap = 1 << 20, len = 0, off = 0;
    char *hdr = malloc(cap);
    if (!hdr) return -1;
    len += snprintf(hdr + len, cap - len, "{");
    if (meta) len += snprintf(hdr + len, cap - len, "\"__metadata__\":{%s},", meta);
    for (int i = 0; i < eng_model_n_params(m); i++) {
        EngParam *p = eng_model_param(m, i);
        len += snprintf(hdr + len, cap - len, "\"%s\":{\"dtype\":\"%s\",\"shape\":[", p->name, dtype);
        for (int d = 0; d < p->ndim; d++) len += snprintf(hdr + len, cap - len, "%s%d", d ? "," : "", p->shape[d]);
        len += snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]},", off, off + p->numel * esz);
        off += p->numel * esz;
        size_t L = strlen(p->name);
        if (L > 13 && !strcmp(p->name + L - 13, ".running_mean")) {
            len += snprintf(hdr + len, cap - len, "\"%.*s.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                            "\"data_offsets\":[%zu,%zu]},", (int)(L - 13), p->name, off, off + 8);
            off += 8;
        }
        if (len > cap - 4096) {
            cap *= 2;
            char *q = realloc(hdr, cap);
            if (!q) { free(hdr); return -1; }
            hdr = q;
        }
    }
    hdr[len - 1] = '}';
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) { free(hdr); return -1; }
    uint64_t n = len;
    uint8_t le[8];
    for (int b = 0; b < 8; b++) le[b] = (uint8_t)(n >> (8 * b));
    fwrite(le, 1, 8, f);
    fwrite(hdr, 1, len, f);
    free(hdr);
    for (int i = 0; i < eng_model_n_params(m); i++) {
        EngParam *p = eng_model_param(m, i);
        for (size_t k = 0; k < p->numel; k++) {
            if (esz == 4) { fwrite(&p->data[k], 4, 1, f); continue; }
            uint16_t h = !strcmp(dtype, "F16") ? stw_f32_to_f16(p->data[k]) : stw_f32_to_bf16(p->data[k]);
            fwrite(&h, 2, 1, f);
        }
        size_t L = strlen(p->name);
        if (L > 13 && !strcmp(p->name + L - 13, ".running_mean")) {
            int64_t z = 0;
            fwrite(&z, 8, 1, f);
        }
    }
    return fclose(f) ? -1 : 0;
}
#endif
