/* audit.h - the command line's audit trail: one trace (eval/trace.h) and
   one manifest (eval/manifest.h) per command, and the commands that check
   them (trace-diff, verify). */
#ifndef CLI_AUDIT_H
#define CLI_AUDIT_H
#include <stdio.h>
#include "cli/cli.h"

/* Opens the trace (o->trace, level o->trace_level); no-op without --trace. */
int trace_open(const Opts *o);
void trace_close(void);
void trace_phase(const char *phase);          /* label for the following ops */
void trace_method(const char *image, const char *method, long fwd, long bwd, double seconds,
                  const float *map, size_t n);
int trace_active(void);

/* Manifest: call manifest_begin at the start of a command, manifest_add_input /
   manifest_add_output for every file read / written (paths as given), and
   manifest_write(dir) at the end. */
void manifest_begin(int argc, char **argv, const Opts *o);
void manifest_add_input(const char *path);
/* How an input was decoded (DICOM/NIfTI: format, window and its numbers,
   slice, frame), written next to its path and SHA-256 in the manifest. */
void manifest_input_decoded(const char *path, const ImageLoadInfo *li);
void manifest_add_output(const char *path);
int manifest_write(const char *path);


int cmd_trace_diff(const Opts *o);
int cmd_verify(const Opts *o);
#endif
