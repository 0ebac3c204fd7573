/* localize.c - pointing game and energy inside a lesion mask (see localize.h). */
#include "eval/localize.h"
#include "io/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void localize_resize_nearest(uint8_t *dst, int H, int W, const uint8_t *src, int h, int w) {
    for (int y = 0; y < H; y++) {
        /* floor(y * h / H) in 64-bit integers: exact, and < h since y < H */
        int sy = (int)(((int64_t)y * h) / H);
        for (int x = 0; x < W; x++) {
            int sx = (int)(((int64_t)x * w) / W);
            dst[(size_t)y * W + x] = src[(size_t)sy * w + sx];
        }
    }
}

int localize_load_mask(const char *path, int H, int W, uint8_t *mask, char *err, size_t errlen) {
    if (H < 1 || W < 1) { snprintf(err, errlen, "%s: bad target size %dx%d", path, H, W); return -1; }
    Image im;
    if (image_load(path, &im, err, errlen)) return -1;
    size_t plane = (size_t)im.h * im.w;
    uint8_t *bin = malloc(plane ? plane : 1);
    if (!bin) { image_free(&im); snprintf(err, errlen, "%s: out of memory", path); return -1; }
    for (size_t i = 0; i < plane; i++) {
        int on = 0;
        for (int c = 0; c < im.c; c++) on |= im.data[(size_t)c * plane + i] > 0.0f;
        bin[i] = (uint8_t)on;
    }
    localize_resize_nearest(mask, H, W, bin, im.h, im.w);
    free(bin);
    image_free(&im);
    int count = 0;
    for (size_t i = 0; i < (size_t)H * W; i++) count += mask[i] != 0;
    return count;
}

static int mask_empty(const uint8_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++) if (mask[i]) return 0;
    return 1;
}

double localize_pointing_hit(const float *map, const uint8_t *mask, size_t n) {
    if (n == 0 || mask_empty(mask, n)) return NAN;
    size_t best = 0;
    int constant = 1;
    for (size_t i = 1; i < n; i++) {
        if (map[i] != map[0]) constant = 0;
        if (map[i] > map[best]) best = i; /* first maximum, as numpy.argmax */
    }
    if (constant) return NAN;
    return mask[best] ? 1.0 : 0.0;
}

double localize_energy(const float *map, const uint8_t *mask, size_t n) {
    if (n == 0 || mask_empty(mask, n)) return NAN;
    double in = 0, all = 0;
    for (size_t i = 0; i < n; i++) {
        double v = map[i] > 0 ? map[i] : 0.0;
        all += v;
        if (mask[i]) in += v;
    }
    return all > 0 ? in / all : NAN;
}
