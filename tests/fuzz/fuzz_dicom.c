/* fuzz_dicom.c - libFuzzer target for the DICOM reader (io/dicom.c) and
   the lossless JPEG decoder (io/jpeg_lossless.c): the bytes are parsed as
   a DICOM file; on success every frame's stored values are decoded (up to
   8 frames) and frame 0 is rendered with each window mode. The same bytes
   also go straight to jpegll_decode. Frames above 2^20 samples are
   skipped so a forged size cannot turn a run into an out-of-memory report.
   Invariants checked (abort on violation): every rejection has a message;
   rendered values are in [0,1] for the clamping windows.
   Build and run:  make fuzz && ./build-fuzz/fuzz_dicom -max_total_time=60 \
                       -dict=tests/fuzz/dicom.dict NEW_DIR tests/data/dicom */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/dicom.h"
#include "io/jpeg_lossless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render_all_modes(const DicomFile *d) {
    static const DicomWindow modes[] = {
        {DICOM_WINDOW_AUTO, 0, 0, DICOM_VOI_LINEAR}, {DICOM_WINDOW_FILE, 0, 0, DICOM_VOI_LINEAR},
        {DICOM_WINDOW_MINMAX, 0, 0, DICOM_VOI_LINEAR}, {DICOM_WINDOW_FULL, 0, 0, DICOM_VOI_LINEAR},
        {DICOM_WINDOW_EXPLICIT, 40, 400, DICOM_VOI_LINEAR}};
    size_t n = dicom_frame_values(d);
    float *out = malloc(n * sizeof *out);
    char err[512];
    for (size_t m = 0; out && m < sizeof modes / sizeof modes[0]; m++) {
        DicomWindow used;
        err[0] = 0;
        if (dicom_render(d, 0, &modes[m], out, &used, err, sizeof err) < 0) {
            if (!err[0]) abort();
            continue;
        }
        if (used.function == DICOM_VOI_SIGMOID || used.mode == DICOM_WINDOW_FULL || used.mode == DICOM_WINDOW_MINMAX)
            continue;   /* not clamped by definition (sigmoid's NaN for huge x/w, minmax of inf) */
        for (size_t i = 0; i < n; i++)
            if (!(out[i] >= 0.0f && out[i] <= 1.0f)) abort();
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512] = "";
    DicomFile d;
    if (dicom_parse(data, size, "fuzz", &d, err, sizeof err) == 0) {
        size_t n = dicom_frame_values(&d);
        if (n <= ((size_t)1 << 20)) {
            int64_t *v = malloc(n * sizeof *v);
            for (int f = 0; v && f < d.frames && f < 8; f++) {
                err[0] = 0;
                if (dicom_frame_stored(&d, f, v, err, sizeof err) < 0 && !err[0]) abort();
            }
            free(v);
            render_all_modes(&d);
        }
        dicom_free(&d);
    } else if (!err[0]) {
        abort();
    }
    JpegLossless im;
    err[0] = 0;
    if (jpegll_decode(data, size, &im, err, sizeof err) == 0) jpegll_free(&im);
    else if (!err[0]) abort();
    return 0;
}
