/* mapcache.c - a folder of computed saliency maps (see mapcache.h). */
#include "eval/mapcache.h"
#include "engine/engine.h"
#include "engine/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

#define FNV_START 0xcbf29ce484222325ULL

/* Appends printf output to key; returns -1 once it no longer fits. */
static int key_add(char *key, size_t n, size_t *L, const char *fmt, ...) {
    if (*L >= n) return -1;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(key + *L, n - *L, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= n - *L) { *L = n; return -1; }
    *L += (size_t)w;
    return 0;
}

int mapcache_key(const AttribMethod *am, const AttribParams *P, const float *logits, int K, char *key, size_t n) {
    size_t L = 0;
    int bad = key_add(key, n, &L, "%s", am->name);
    for (int i = 0; i < ATTRIB_MAX_PARAMS && am->params[i].id != AP_END; i++) {
        AttribParamId id = am->params[i].id;
        const char *k = attrib_param_info(id)->key;
        if (id == AP_BASELINE) {
            if (P->baseline == BASELINE_FILE) return -1;
            bad |= key_add(key, n, &L, " %s=%s", k, attrib_baseline_name(P->baseline));
        } else if (id == AP_LAYER) {
            bad |= key_add(key, n, &L, " %s=%s", k, P->layer && P->layer[0] ? P->layer : "(model's)");
        } else {
            bad |= key_add(key, n, &L, " %s=%.17g", k, attrib_method_param(am, P, id));
        }
    }
    uint64_t hx = fnv1a(FNV_START, P->x, sizeof(float) * (size_t)P->C * P->H * P->W);
    bad |= key_add(key, n, &L, " target=%d", P->target);
    if (attrib_method_uses_seed(am, P)) bad |= key_add(key, n, &L, " seed=%" PRIu64, P->seed);
    if (eng_get_reference()) bad |= key_add(key, n, &L, " path=reference");   /* the double-accumulating path */
    bad |= key_add(key, n, &L, " sigmoid=%d input=%dx%dx%d:%016" PRIx64 " logits=", P->sigmoid, P->C, P->H, P->W, hx);
    for (int k = 0; k < K; k++) bad |= key_add(key, n, &L, "%s%.9g", k ? "," : "", logits[k]);
    return bad ? -1 : 0;
}

static void cache_path(char *out, size_t n, const char *dir, const char *key) {
    uint64_t h = fnv1a(FNV_START, key, strlen(key));
    snprintf(out, n, "%s/%016" PRIx64 ".map", dir, h);
}

/* Reads one '\n'-ended line into buf; 0, or -1 when it is missing or too long. */
static int read_line(FILE *f, char *buf, size_t n) {
    if (!fgets(buf, (int)n, f)) return -1;
    size_t L = strlen(buf);
    if (!L || buf[L - 1] != '\n') return -1;
    buf[L - 1] = 0;
    return 0;
}

int mapcache_load(const char *dir, const char *key, int H, int W, float *map, MapCacheMeta *meta) {
    char path[4200], line[4200 + MAPCACHE_KEY_MAX];
    cache_path(path, sizeof path, dir, key);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int h, w, ok = read_line(f, line, sizeof line) == 0 && !strcmp(line, "salient-map 2") &&
                   read_line(f, line, sizeof line) == 0 &&   /* the image that stored it */
                   read_line(f, line, sizeof line) == 0 && !strcmp(line, key) &&
                   read_line(f, line, sizeof line) == 0 &&
                   sscanf(line, "%d %d %ld %ld %lf", &h, &w, &meta->forward, &meta->backward, &meta->seconds) == 5 &&
                   h == H && w == W;
    size_t plane = (size_t)H * W;
    ok = ok && fread(map, sizeof(float), plane, f) == plane && fgetc(f) == EOF;
    fclose(f);
    return ok ? 0 : -1;
}

int mapcache_store(const char *dir, const char *image, const char *key, int H, int W, const float *map,
                   const MapCacheMeta *meta) {
    char path[4200], tmp[4300];
    if (strchr(image, '\n') || strchr(key, '\n')) return eng_fail("map cache: a name with a line break");
    cache_path(path, sizeof path, dir, key);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return eng_fail("map cache: cannot write %s: %s", tmp, strerror(errno));
    size_t plane = (size_t)H * W;
    int bad = fprintf(f, "salient-map 2\n%s\n%s\n%d %d %ld %ld %.17g\n", image, key, H, W, meta->forward,
                      meta->backward, meta->seconds) < 0;
    bad |= fwrite(map, sizeof(float), plane, f) != plane;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return eng_fail("map cache: cannot write %s", path);
    }
    return 0;
}

void mapcache_keep(const char *dir, const char *image, const char *key, int H, int W, const AttribResult *R) {
    MapCacheMeta meta = {R->forward, R->backward, R->seconds};
    if (mapcache_store(dir, image, key, H, W, R->map, &meta))
        fprintf(stderr, "salient: note: map cache: %s\n", eng_last_error());
}
