/* gradcam.c - Grad-CAM of one image with the installed library (salient.h).
     cc gradcam.c -o gradcam $(pkg-config --cflags --libs salient)
     ./gradcam MODEL.safetensors IMAGE [MAP.npy]
   Prints the predicted class, its probability and the map's peak (row and
   column at the model's input size; the first maximum, as numpy.argmax),
   and writes the map (S,S) float32 to MAP.npy (default gradcam.npy): the
   same map as `salient explain -m MODEL -M gradcam IMAGE` when the model
   file gives its mean and std (both bundled models do). */
#include "salient.h"

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) { fprintf(stderr, "gradcam: %s\n", what); return 1; }

int main(int argc, char **argv) {
    if (argc < 3) return fail("usage: gradcam MODEL.safetensors IMAGE [MAP.npy]");
    char err[512];
    WeightsInfo info;                                             /* 1. the model */
    EngModel *m = weights_load(argv[1], NULL, &info, err, sizeof err);
    if (!m) return fail(err);
    /* 2. the image, preprocessed as the model's metadata says (else 224 px, ImageNet's mean and std) */
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    int C = info.in_channels, K = info.n_classes, S = info.input_size ? info.input_size : 224;
    float mean[4], std[4];
    for (int c = 0; c < C; c++) {
        mean[c] = info.n_mean ? info.mean[info.n_mean == 1 ? 0 : c] : imagenet_mean[c % 3];
        std[c] = info.n_std ? info.std[info.n_std == 1 ? 0 : c] : imagenet_std[c % 3];
    }
    float *x = malloc(sizeof(float) * C * S * S), *logits = malloc(sizeof(float) * K), *prob = malloc(sizeof(float) * K);
    if (!x || !logits || !prob) return fail("out of memory");
    if (image_preprocess(argv[2], C, S, NULL, NULL, x, err, sizeof err)) return fail(err);  /* [0,1] */
    Image in = {C, S, S, x};                                      /* a view of x */
    if (info.intensity_percentile > 0 && image_scale_percentile(&in, info.intensity_percentile))
        return fail("out of memory");
    image_normalize(&in, mean, std);
    AttribParams P;                                               /* 3. predict, explain the prediction */
    attrib_params_default(&P);
    P.model = m; P.x = x; P.C = C; P.H = P.W = S; P.mean = mean; P.std = std;
    if (attrib_logits(&P, NULL, x, 1, logits)) return fail(eng_last_error());
    softmax_forward(prob, logits, 1, K);
    int pred = 0;
    for (int k = 1; k < K; k++) if (prob[k] > prob[pred]) pred = k;
    P.target = pred;
    AttribResult R;
    if (attrib_find("gradcam")->run(&P, &R)) return fail(eng_last_error());
    int peak = 0;                                                 /* 4. where the map points */
    for (int i = 1; i < S * S; i++) if (R.map[i] > R.map[peak]) peak = i;
    printf("class %d %s\nprob %.4f\npeak %d %d\n", pred, pred < info.n_labels ? info.labels[pred] : "-", prob[pred],
           peak / S, peak % S);
    int64_t shape[2] = {S, S};
    if (npy_write_f32(argc > 3 ? argv[3] : "gradcam.npy", R.map, 2, shape, err, sizeof err)) return fail(err);
    attrib_result_free(&R);
    attrib_params_release(&P);
    free(x); free(logits); free(prob);
    weights_info_free(&info);
    eng_model_free(m);
    return 0;
}
