/* salient.h - the library in one include: load a model, preprocess an
   image, run a saliency method, score the map.

   The calls below are the stable ones: a program that uses only them keeps
   building across releases of the same major version. Everything else in
   the layer headers (the engine's passes and op kernels, the attribution
   helpers, the PIC internals) is there for the library's own methods and
   may change.

   Building against an installed copy (make install PREFIX=...):
     cc my.c -o my $(pkg-config --cflags --libs salient)
   With PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig when PREFIX is not a system
   folder; add -Wl,-rpath,$PREFIX/lib, or set LD_LIBRARY_PATH, to run it.
   Statically (libsalient.a, with the system's shared OpenBLAS and libwebp):
     cc my.c -o my $(pkg-config --cflags salient) $(pkg-config --variable=static_libs salient)
   The headers keep the source tree's layout: salient.h includes
   "engine/engine.h", ... , which -I$PREFIX/include/salient (pkg-config's
   Cflags) resolves, as -I. does in the source tree.

   Walk-through (examples/gradcam.c is this, complete and compiled by the tests):

   1. Load a model (weights/load.h). A safetensors file of torchvision
      state_dict names; the architecture (ResNet 18..152, DenseNet
      121..201), the classes and the input channels are read from the
      tensors, the preprocessing from the file's metadata.
        char err[512];
        WeightsInfo info;
        EngModel *m = weights_load("brain_resnet18.safetensors", NULL, &info, err, sizeof err);
        if (!m) { fprintf(stderr, "%s\n", err); exit(1); }
        int C = info.in_channels, K = info.n_classes;
        int S = info.input_size ? info.input_size : 224;     // metadata, else 224
        // info.mean/std: info.n_mean/n_std values (1 = every channel), 0 if absent;
        // info.labels: info.n_labels class names, 0 if absent;
        // info.intensity_percentile: > 0 if each input is to be divided by
        // that percentile of its own values before mean/std (step 2).

   2. Preprocess an image (io/image.h): decode (PNG, JPEG, BMP, TGA, PGM/PPM),
      resize to S x S as torch's antialiased bilinear interpolate, convert to
      C channels, normalise (x - mean[c]) / std[c].
        float mean[3], std[3];                                // one value per channel
        float *x = malloc(sizeof(float) * C * S * S);         // (C,S,S)
        if (image_preprocess("scan.png", C, S, mean, std, x, err, sizeof err)) ...
      A model with info.intensity_percentile > 0 takes the [0,1] image
      (mean, std NULL), scaled, then normalised:
        image_preprocess("scan.png", C, S, NULL, NULL, x, err, sizeof err);
        Image in = {C, S, S, x};
        image_scale_percentile(&in, info.intensity_percentile);
        image_normalize(&in, mean, std);

   3. Predict and run a method (attrib/attrib.h). One AttribParams holds the
      model, the image and the method's parameters (0 = the method's
      default); it caches engine passes between calls until released.
        AttribParams P;
        attrib_params_default(&P);
        P.model = m; P.x = x; P.C = C; P.H = P.W = S; P.mean = mean; P.std = std;
        float *logits = malloc(sizeof(float) * K);
        float *prob = malloc(sizeof(float) * K);
        attrib_logits(&P, NULL, x, 1, logits);                // forward only
        softmax_forward(prob, logits, 1, K);                  // (engine/ops.h)
        P.target = index of the largest probability;          // the class to explain
        const AttribMethod *am = attrib_find("gradcam");      // NULL for an unknown name
        AttribResult R;
        if (am->run(&P, &R)) fprintf(stderr, "%s\n", eng_last_error());
        // R.map (S,S): the 2-D map, larger = more important;
        // R.attr (C,S,S): the raw attribution of the gradient family, else NULL.
        attrib_result_free(&R);
        attrib_params_release(&P);
      Method names: attrib_n_methods() / attrib_method(i)->name, or
      `salient methods`; parameters: the AttribParams fields, documented
      in attrib/attrib.h, with each method's defaults in attrib/defaults.h.

   4. Score the map.
      Against a lesion mask (eval/localize.h):
        uint8_t *mask = malloc(S * S);
        int n = localize_load_mask("scan.mask.png", S, S, mask, err, sizeof err);  // -1, 0 = empty
        double hit = localize_pointing_hit(R.map, mask, S * S);   // 1, 0, or NaN
        double e = localize_energy(R.map, mask, S * S);           // share of positive mass inside
      Against the model itself, the SIC and AIC curves (eval/pic.h; the
      usage at the top of pic.h is the whole sequence):
        pic_input_to_u8, pic_random_mask, pic_image_init, then per map
        pic_evaluate(&pi, R.map, pic_engine_logits, &pe, K, -1, PIC_MIN_PRED, 0, &r)
        -> r.sic.auc, r.aic.auc (NaN with r.sic.reason when pic.py would skip).

   5. Free: weights_info_free(&info); eng_model_free(m); and your buffers.

   Also stable: .npy files (io/npy.h: npy_read, npy_to_f32, npy_write_f32,
   npy_free), threads (eng_set_threads(n), <= 0 = all cores; results are
   bit-identical for any n), the version (salient --version, pkg-config
   --modversion salient).

   Errors: a call returns NULL or -1 and prints nothing; the reason is in
   the caller's err buffer when it takes one, else in eng_last_error(), one
   slot for the whole process. (The one exception: running out of memory
   while building a model graph prints a line and exits.) The passes of one
   model run one at a time.

   Input files are untrusted: the readers (weights/load.h, io/image.h,
   io/npy.h) check sizes and formats and return an error for a malformed
   file (make fuzz runs them under libFuzzer). */
#ifndef SALIENT_H
#define SALIENT_H

/* C++: the layer headers are C; their declarations get C linkage here. */
#ifdef __cplusplus
extern "C" {
#endif
#include "engine/engine.h"   /* EngModel, eng_last_error, eng_set_threads */
#include "engine/ops.h"      /* softmax_forward */
#include "weights/load.h"    /* weights_load, WeightsInfo */
#include "io/image.h"        /* image_preprocess, image_load, image_write_png */
#include "io/npy.h"          /* npy_read, npy_write_f32 */
#include "attrib/attrib.h"   /* attrib_find, AttribParams, AttribResult */
#include "eval/localize.h"   /* localize_pointing_hit, localize_energy */
#include "eval/pic.h"        /* pic_evaluate: SIC and AIC */
#ifdef __cplusplus
}
#endif

#endif
