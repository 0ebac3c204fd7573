/* fuzz_safetensors.c - libFuzzer target for the parsers of untrusted files:
   the same bytes go through st_parse (safetensors), json_parse, npy_parse
   and image_decode (stb_image PNG/JPEG/BMP/TGA and our PGM/PPM decoder).
   Accepted safetensors files are also read back with st_read_f32 and
   looked up with st_find, so the accessors run on every header the fuzzer
   finds valid. Images above 2^20 pixels are skipped (header peek) so a
   forged size cannot turn a run into an out-of-memory report.
   Build and run:  make fuzz && ./build-fuzz/fuzz_safetensors -max_total_time=60 \
                       -dict=tests/fuzz/safetensors.dict tests/fuzz/corpus */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "weights/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    StFile f;
    if (st_parse(data, size, &f, err, sizeof err) == 0) {
        for (int i = 0; i < f.n; i++) {
            const StTensor *t = &f.t[i];
            if (st_find(&f, t->name) != t) abort();
            if (t->end > f.data_len || t->begin > t->end) abort();
            if (t->numel > (1u << 20)) continue;
            float *dst = malloc(t->numel * sizeof(float) + 1);
            int rc = st_read_f32(&f, t, dst, t->numel, err, sizeof err);
            int floaty = t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16;
            if ((rc == 0) != floaty) abort();
            free(dst);
        }
        (void)st_meta(&f, "format");
        st_close(&f);
    } else if (err[0] == 0) {
        abort();   /* every rejection carries a message */
    }

    JsonValue *v = json_parse((const char *)data, size, err, sizeof err);
    if (v) {
        for (size_t i = 0; i < json_len(v); i++) {
            const char *k = json_key_at(v, i);
            if (k && json_get(v, k) != json_at(v, i)) abort();
        }
        json_free(v);
    }

    NpyArray a;
    if (npy_parse(data, size, &a, err, sizeof err) == 0) {
        float *x = npy_to_f32(&a);
        free(x);
        npy_free(&a);
    }

    int w, h;
    if (image_peek_size(data, size, &w, &h) == 0 && (int64_t)w * h <= (1 << 20)) {
        Image im;
        if (image_decode(data, size, "fuzz", &im, err, sizeof err) == 0) {
            if (im.c != 1 && im.c != 3) abort();
            image_free(&im);
        } else if (err[0] == 0) {
            abort();
        }
    }
    return 0;
}
