/* load.h - fill an engine model from a safetensors file of torchvision's
   state_dict names (timm uses the same names for these models).

   The architecture is detected from names and shapes: ResNet by `conv1.weight`
   + `fc.weight`, its depth by the number of blocks per stage and whether
   blocks have a `conv3` (bottleneck); DenseNet by `features.conv0.weight` +
   `classifier.weight`, its depth by the number of dense layers per block.
   Classes come from fc/classifier.weight's rows, input channels from the
   first conv's second dimension. `arch` (e.g. "resnet50") overrides the
   detection; the file must still match it. A ResNet's output stride cannot be
   seen in its tensors: the metadata key output_stride=16 (layer4 without
   stride, see eng_resnet_os) makes a detected "resnet18" a "resnet18-os16".

   Loading is strict, like torch's load_state_dict(strict=True): every
   parameter and buffer of the architecture must be present with the exact
   shape (errors name the tensor and show both shapes), F32/F16/BF16 are
   converted to float32, the I64 `num_batches_tracked` entries are accepted
   and ignored, and any other tensor the architecture does not have is an error.

   Optional `__metadata__` keys written by tools/convert.py: input_size,
   mean, std (comma-separated floats), labels (comma-separated names),
   head ("softmax", the default, or "sigmoid"), output_stride (32, the
   default, or 16; ResNet only). */
#ifndef WEIGHTS_LOAD_H
#define WEIGHTS_LOAD_H
#include "engine/engine.h"

#define WEIGHTS_MAX_LABELS 4096

typedef struct {
    char arch[32];
    int in_channels, n_classes;
    int input_size;          /* from metadata, 0 if absent */
    int n_mean, n_std;       /* 0 if absent from the metadata */
    float mean[4], std[4];
    int sigmoid;             /* metadata head=sigmoid: outputs are independent sigmoids (multi-label, single logit) */
    float intensity_percentile; /* metadata intensity_percentile=P (0 < P <= 100): every input image, at the
                                   input size and in [0,1], is divided by the P-th percentile of its own
                                   values before the normalisation (image_scale_percentile); 0 if absent */
    int n_labels;            /* 0 if absent */
    char **labels;
    char sha256[65];         /* of the whole file */
    size_t file_bytes;
    char dtypes[32];         /* e.g. "F16" or "F32+F16" */
} WeightsInfo;

/* Returns the model, or NULL with a message in err. info may be NULL. */
EngModel *weights_load(const char *path, const char *arch, WeightsInfo *info, char *err, size_t errlen);
void weights_info_free(WeightsInfo *info);
/* The normalisation of a model with C input channels: the given values
   (n_mean, n_std: 1 or 3, 0 when not given) over the file's metadata over
   ImageNet's mean and std; a 1- or 3-value list serves every channel. A gray
   model left with ImageNet's default gets the luminance of its mean and std
   (0.299 R + 0.587 G + 0.114 B). */
void weights_normalisation(const WeightsInfo *info, int C, const float *mean, int n_mean, const float *std, int n_std,
                           float out_mean[4], float out_std[4]);

/* Parses "resnet50" / "resnet18-os16" / "densenet121" into a model; NULL with a message otherwise. */
EngModel *weights_model_for_arch(const char *arch, int in_channels, int n_classes, char *err, size_t errlen);

#endif
