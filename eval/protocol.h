/* protocol.h - a study's protocol: what `salient study` runs, written down
   once in a text file that the run copies into its outputs.

   Format: one "key = value" per line; '#' starts a comment; blank lines
   are ignored. Keys before the first section are the study's; a section
   "[variant NAME]" or "[data NAME]" opens a variant or a data set.

     name = brain-and-cxr          the study's name
     seed = 0                      the one seeded generator's seed
     methods = ig:steps=25, xrai   as -M: methods with their parameters (spaces dropped)
     insdel = off                  insertion/deletion too (on|off, default off)
     maps = scored                 maps only for the images PIC scores on SIC
                                   or AIC (evaluate --maps; default all)
     sanity = 4                    MPRT (eval/mprt.h) of every method on 4
                                   images of each data set, the classes
                                   in turn (default 0: none)
     sanity_by = block             MPRT steps: block (default) or module

     [variant paper]               how maps are scored; every variant scores
     target = paper                   the same maps: pred|label|paper
     info = entropy                   PIC information: webp|png|entropy
     min_pred = 0                     PIC's skip threshold on the prediction
     aggregate = median               the headline statistic: mean|median
     about = one line for the report

     [data brain]                  a data set and its model
     model = ../weights/brain_resnet18.safetensors
     list = brain_heldout.csv         path,label records
     root = $DATA/brain-tumor-mri     where the list's relative paths start
     about = one line

   Paths: "$DATA/..." is resolved against the data folder the caller gives
   (salient study --data DIR, else the SALIENT_DATA environment variable);
   other relative paths against the protocol file's folder. Every key is
   checked: an unknown key, a missing required one (methods; each data
   set's model and list), a bad value or a repeated name is an error naming
   the line. Errors: err_fail into the caller's buffer (engine/error.h). */
#ifndef EVAL_PROTOCOL_H
#define EVAL_PROTOCOL_H
#include "eval/info.h"
#include "eval/mprt.h"
#include "eval/score.h"

#include <stddef.h>
#include <stdint.h>

#define PROTOCOL_MAX_VARIANTS 8
#define PROTOCOL_MAX_DATA 8
#define PROTOCOL_PATH 1024
#define PROTOCOL_MAX_SANITY 100

typedef struct {
    char name[64], about[256];
    EvalTargetRule target;
    InfoKind info;
    double min_pred;
    int median;                   /* the headline statistic: 1 median, 0 mean */
} StudyVariant;

typedef struct {
    char name[64], about[256];
    char model[PROTOCOL_PATH], list[PROTOCOL_PATH], root[PROTOCOL_PATH];   /* resolved */
} StudyData;

typedef struct {
    char name[128];
    char methods[2048];
    uint64_t seed;
    int insdel;
    int scored_maps_only;         /* maps = scored */
    int sanity_images;            /* MPRT on this many images per data set (0: none) */
    MprtGranularity sanity_by;
    StudyVariant variant[PROTOCOL_MAX_VARIANTS];
    int n_variant;
    StudyData data[PROTOCOL_MAX_DATA];
    int n_data;
} StudyProtocol;

/* Parses text (the file's bytes, NUL-terminated); dir is the protocol
   file's folder, data_dir the data folder (NULL: "$DATA" paths are errors).
   0, or -1 with a message naming the line. */
int protocol_parse(StudyProtocol *p, const char *text, const char *dir, const char *data_dir, char *err, size_t n);
/* The same for a file (at most 64 KB). */
int protocol_load(StudyProtocol *p, const char *path, const char *data_dir, char *err, size_t n);
#endif
