/* info.c - information estimators for the PIC metrics: lossless WebP size
   (Pillow's save as PAIR's pic.py calls it), PNG size (stb_image_write),
   256-bin histogram entropy (the seed paper). Conventions in info.h. */
#include "eval/info.h"
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>   /* implementation compiled in io/image.c */
#include <webp/encode.h>

static const char *const names[INFO_COUNT] = {"webp", "png", "entropy"};
static const char *const descriptions[INFO_COUNT] = {
    "webp: bytes of lossless WebP (libwebp, quality 100, method 4; as Pillow's save in PAIR's pic.py)",
    "png: bytes of PNG (stb_image_write, compression level 8)",
    "entropy: Shannon entropy in bits of the 256-bin value histogram (as the seed paper's pic.py)",
};

int info_parse(const char *name, InfoKind *out) {
    for (int k = 0; k < INFO_COUNT; k++)
        if (name && !strcmp(name, names[k])) { *out = (InfoKind)k; return 0; }
    return -1;
}

const char *info_name(InfoKind k) { return k >= 0 && k < INFO_COUNT ? names[k] : "?"; }
const char *info_describe(InfoKind k) { return k >= 0 && k < INFO_COUNT ? descriptions[k] : "?"; }

/* h, w >= 1, c in {1,3}, h*w*c within int (libwebp and stb take ints). */
static int check_size(const char *what, int h, int w, int c) {
    if (h < 1 || w < 1 || (c != 1 && c != 3) || h > 16383 || w > 16383) {
        eng_set_error("%s: expected an image of 1..16383 x 1..16383 pixels with 1 or 3 channels, found %dx%dx%d",
                      what, h, w, c);
        return -1;
    }
    return 0;
}

/* ---- WebP ---- */
static int count_bytes(const uint8_t *data, size_t size, const WebPPicture *pic) {
    (void)data;
    *(size_t *)pic->custom_ptr += size;
    return 1;
}

long info_webp_bytes(const uint8_t *img, int h, int w, int c) {
    if (check_size("webp information", h, w, c)) return -1;
    const uint8_t *rgb = img;
    uint8_t *tmp = NULL;
    if (c == 1) { /* Pillow converts mode L to RGB before encoding */
        tmp = malloc((size_t)h * w * 3);
        if (!tmp) return eng_fail("webp information: out of memory");
        for (size_t i = 0; i < (size_t)h * w; i++) tmp[3 * i] = tmp[3 * i + 1] = tmp[3 * i + 2] = img[i];
        rgb = tmp;
    }
    WebPConfig config;
    WebPPicture pic;
    size_t total = 0;
    long result = -1;
    if (!WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, 100.0f) || !WebPPictureInit(&pic)) {
        free(tmp);
        return eng_fail("webp information: libwebp version mismatch");
    }
    config.lossless = 1;
    config.quality = 100.0f;
    config.method = 4;
    config.exact = 0;
    pic.width = w;
    pic.height = h;
    pic.use_argb = 1;
    pic.writer = count_bytes;
    pic.custom_ptr = &total;
    if (!WebPValidateConfig(&config)) eng_set_error("webp information: invalid configuration");
    else if (!WebPPictureImportRGB(&pic, rgb, 3 * w)) eng_set_error("webp information: out of memory");
    else if (!WebPEncode(&config, &pic)) eng_set_error("webp information: encoder error %d", (int)pic.error_code);
    else result = (long)total;
    WebPPictureFree(&pic);
    free(tmp);
    return result;
}

/* ---- PNG ---- */
static void count_png(void *ctx, void *data, int size) {
    (void)data;
    *(long *)ctx += size;
}

long info_png_bytes(const uint8_t *img, int h, int w, int c) {
    if (check_size("png information", h, w, c)) return -1;
    long total = 0;
    if (!stbi_write_png_to_func(count_png, &total, w, h, c, img, w * c)) {
        return eng_fail("png information: stb_image_write failed");
    }
    return total;
}

/* ---- entropy ---- */
double info_entropy_bits(const uint8_t *img, int h, int w, int c) {
    if (check_size("entropy information", h, w, c)) return -1;
    size_t n = (size_t)h * w * c, count[256] = {0};
    for (size_t i = 0; i < n; i++) count[img[i]]++;
    double s = 0;
    for (int v = 0; v < 256; v++)
        if (count[v]) {
            double p = (double)count[v] / (double)n;
            s += -p * log(p);
        }
    return s / log(2.0);
}

double info_estimate(InfoKind k, const uint8_t *img, int h, int w, int c) {
    switch (k) {
    case INFO_WEBP: return (double)info_webp_bytes(img, h, w, c);
    case INFO_PNG: return (double)info_png_bytes(img, h, w, c);
    case INFO_ENTROPY: return info_entropy_bits(img, h, w, c);
    case INFO_COUNT: break;
    }
    return eng_fail("information estimator %d unknown", (int)k);
}
