/* dataset.h - the images of an evaluation and their true classes, from a
   folder of class subfolders (torchvision's ImageFolder layout) or a CSV
   list of path,label.

   Usage:
     Dataset d; char err[512];
     if (dataset_open(&d, "data/", labels, n_labels, K, err, sizeof err)) ... err ...
     for (int i = 0; i < d.n; i++) d.v[i].path, d.v[i].name, d.v[i].label
     dataset_free(&d);

   Folder DATA/<class>/.../<image>: classes are the subfolders (hidden ones,
   starting with '.', are ignored); images are found recursively, every
   folder's entries sorted by byte order (ImageFolder's sorted os.walk),
   classes in the same order, so the listing is the same on every machine.
   Images: .png .jpg .jpeg .bmp .tga .pgm .ppm .nii .nii.gz .dcm (case-insensitive), except
   lesion masks (*.mask.png); other files are counted in `ignored`. An
   item's name is its path below DATA ("benign/scan01.png").

   CSV: one `path,label` record per line (RFC 4180 quoting; an optional
   header line "path,label"). Relative paths are taken relative to the
   CSV file's folder; the name is the path as written. A record without
   exactly two fields, an empty path or an unknown label is an error
   naming the line.

   Class index of a name: its position in `labels` (--labels, else the
   model's label metadata) when given; otherwise the position among the
   sorted folder names (folder data) or sorted distinct label names (CSV).
   In a CSV, a label may also be a class index: with a label list, a
   non-negative integer that is not a name is an index; without one, when
   every label is a non-negative integer they are all indices. Every
   index must be below the model's number of classes. */
#ifndef IO_DATASET_H
#define IO_DATASET_H
#include <stddef.h>

typedef struct {
    char *path;    /* the file to open */
    char *name;    /* the image's name in results.csv */
    int label;     /* class index */
    int index;     /* position in the whole listing (seeds the image's random draws) */
} DataItem;

typedef struct {
    DataItem *v;
    int n;
    char **classes;    /* class names by index (labels, or sorted names); NULL entries where unknown */
    int n_classes;
    int from_csv;
    int ignored;       /* files in class folders that are not images */
} Dataset;

/* 0, or -1 with a message in err. */
int dataset_open(Dataset *d, const char *data, char *const *labels, int n_labels, int n_model_classes, char *err,
                 size_t errlen);
/* The same, with the relative paths of a CSV list taken relative to root
   (when root is not NULL) instead of the CSV file's folder. */
int dataset_open_root(Dataset *d, const char *data, const char *root, char *const *labels, int n_labels, int K,
                      char *err, size_t errlen);
void dataset_free(Dataset *d);
/* The lesion mask next to an image: "<path without extension>.mask.png",
   else "<path>.mask.png". 1 and the path in out if one exists, else 0. */
int dataset_mask_path(const char *image_path, char *out, size_t n);
#endif
