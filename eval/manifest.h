/* manifest.h - the run manifest (manifest.json): the build and the
   machine, the command as given, every file read and written with its
   SHA-256, how each DICOM/NIfTI input was decoded; and what `salient
   verify` needs to check one: the recorded command with its output folder
   replaced, and the comparison of each recorded output with its re-run.

   The manifest knows no command: the caller writes its own options into
   the "options" object (ManifestCommand.options) and passes the build's
   version and flags. Errors follow engine/error.h (err_fail). */
#ifndef EVAL_MANIFEST_H
#define EVAL_MANIFEST_H
#include <stddef.h>
#include <stdint.h>
#include "io/image.h"
#include "io/json.h"

typedef struct { char **v; int n, cap; } ManifestList;   /* distinct strings, in order of addition */

typedef struct {
    ManifestList in, out;
    ManifestList decoded;   /* "path\tdescription" of inputs read from DICOM/NIfTI files */
    char start[32];         /* ISO 8601 UTC */
} RunManifest;

/* The build that writes or checks a manifest. */
typedef struct { const char *version, *cflags, *compiler; } ManifestBuild;

/* What the command was: argv, its options (written by options(w, ctx)
   into an open object), seed and output folder. */
typedef struct {
    int argc;
    char **argv;
    void (*options)(JsonWriter *w, void *ctx);
    void *ctx;
    uint64_t seed;
    const char *outdir;
} ManifestCommand;

/* Empties m and records the start time. */
void run_manifest_start(RunManifest *m);
void run_manifest_free(RunManifest *m);
void run_manifest_add_input(RunManifest *m, const char *path);    /* a path already there is kept once */
void run_manifest_add_output(RunManifest *m, const char *path);
/* How path was decoded (DICOM/NIfTI: format, window and its numbers,
   slice, volume, frame); nothing for plain images or li NULL. */
void run_manifest_input_decoded(RunManifest *m, const char *path, const ImageLoadInfo *li);
/* The description recorded for an input, or NULL. */
const char *run_manifest_decoded_of(const RunManifest *m, const char *path);
/* Writes manifest.json at path (files hashed now; "end" is now). 0, or -1
   with "cannot write PATH" in err. */
int run_manifest_write(const RunManifest *m, const char *path, const ManifestBuild *b, const ManifestCommand *c,
                       char *err, size_t errlen);

/* The recorded build and machine fields verify compares, and this build's values. */
#define MANIFEST_BUILD_KEYS 5
extern const char *const manifest_build_keys[MANIFEST_BUILD_KEYS];   /* cpu, openblas, version, cflags, compiler */
void manifest_build_values(const ManifestBuild *b, const char *here[MANIFEST_BUILD_KEYS], char *cpu, size_t cpu_len);

/* The recorded command (argv, a JSON array) to re-run as exe with its
   output folder replaced by outdir (-o, --output, --output=; -o outdir
   appended when absent) and without --trace: a NULL-terminated array in
   one allocation (free it), its strings pointing into argv. NULL without
   memory. */
char **manifest_rerun_argv(const JsonValue *argv, const char *exe, const char *outdir, int *n);
/* The path of entry i of a manifest's "outputs" when a re-run checks it:
   outdir itself or a file below it, and not a manifest.json; else NULL. */
const char *manifest_output_checked(const JsonValue *outputs, size_t i, const char *outdir);

/* Keys of JSON outputs whose values legitimately change between identical
   runs (timings, start and end). */
int manifest_volatile_key(const char *key);

typedef enum { OUT_IDENTICAL, OUT_ROUNDING, OUT_DIFFERENT } OutVerdict;
const char *out_verdict_name(OutVerdict v);   /* "identical", "within rounding", "DIFFERENT" */

/* A recorded output against its re-run: bit-identical; within rounding
   (eng_within_rounding of the numbers of .npy, .json and .csv files, text
   equal; one level of 255 for .png); or different. */
typedef struct {
    OutVerdict verdict;
    int unreadable;     /* one of the files could not be read: err says why */
    int png;            /* diff is the largest pixel difference in levels of 255 */
    double diff, scale; /* largest |a - b| and largest |a| over the numbers */
    char err[512];
} OutputComparison;
void output_compare(const char *recorded, const char *rerun, OutputComparison *c);
#endif
