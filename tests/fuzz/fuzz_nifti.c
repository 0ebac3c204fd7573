/* fuzz_nifti.c - libFuzzer target for io/nifti.c and image_load's NIfTI
   path: the bytes go through nifti_parse (raw and gzip, capped at 16 MiB
   so a forged size cannot become an out-of-memory report); an accepted
   file is read (first and last voxels), oriented, sliced along the three
   axes for the first and the last volume, and windowed three ways; then
   image_decode_opts runs on the same bytes as a ".nii" file. Checks:
   every rejection has a message, the slice has the size of two of the
   volume's dims, every windowed pixel is in [0,1].
   Build and run:  make fuzz && ./build-fuzz/fuzz_nifti -max_total_time=60 \
                       -dict=tests/fuzz/nifti.dict tests/fuzz/corpus_nifti */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_slice(const NiftiFile *f, const char *spec, int vol) {
    double *s;
    int h, w;
    char err[512] = "";
    NiftiSliceInfo si;
    if (nifti_slice(f, spec, vol, &s, &h, &w, &si, err, sizeof err) < 0) {
        if (err[0] == 0) abort();
        return;
    }
    int64_t n = (int64_t)h * w, d1 = f->h.dim[1], d2 = f->h.dim[2], d3 = f->h.dim[3];
    if (n != d1 * d2 && n != d1 * d3 && n != d2 * d3) abort();
    float *px = malloc((size_t)n * sizeof(float) + 1);
    static const char *windows[3] = {"auto", "minmax", "40,80"};
    for (int k = 0; k < 3; k++) {
        NiftiWindow u;
        if (nifti_window(s, (size_t)n, windows[k], f->h.cal_min, f->h.cal_max, px, &u, err, sizeof err) < 0) abort();
        for (int64_t i = 0; i < n; i++)
            if (!(px[i] >= 0.0f && px[i] <= 1.0f)) abort();
    }
    free(px);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512] = "";
    NiftiFile f;
    if (nifti_parse(data, size, "fuzz", (size_t)16 << 20, &f, err, sizeof err) == 0) {
        size_t n = (size_t)(f.h.nvox * f.h.nvol);
        if (f.data_bytes != n * (size_t)f.h.bytes_per_voxel) abort();
        double v[64];
        size_t k = n < 64 ? n : 64;
        nifti_read_f64(&f, 0, k, v);
        nifti_read_f64(&f, n - k, k, v);
        int axis_of[3], sign_of[3];
        char codes[4];
        nifti_orientation(&f.h, axis_of, sign_of, codes);
        if (axis_of[0] == axis_of[1] || axis_of[1] == axis_of[2] || axis_of[0] == axis_of[2]) abort();
        static const char *specs[4] = {NULL, "coronal", "sagittal:0", "axial:1"};
        for (int i = 0; i < 4; i++) {
            fuzz_slice(&f, specs[i], 0);
            if (f.h.nvol > 1) fuzz_slice(&f, specs[i], (int)(f.h.nvol < 1000000 ? f.h.nvol - 1 : 999999));
        }
        nifti_free(&f);
    } else if (err[0] == 0) {
        abort();
    }
    Image im;
    ImageLoadInfo info;
    if (image_decode_opts(data, size, "fuzz.nii", NULL, &im, &info, err, sizeof err) == 0) image_free(&im);
    else if (err[0] == 0) abort();
    return 0;
}
