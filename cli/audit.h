/* audit.h - the audit trail: per-op traces (JSON lines), run manifests,
   and the commands that check them (trace-diff, verify).

   Trace line (one per executed op, forward and backward):
     {"seq": 12, "pass": "forward" | "backward" | "<phase> forward",
      "op": "conv2d", "layer": "layer1.0.conv1", "batch": 1,
      "inputs": [[64,56,56]], "output": [64,56,56], "params": {...},
      "sha256": "...", "min": .., "max": .., "mean": .., "l2": .., "proj": [4 numbers]}
   Backward lines describe the gradient accumulated so far at input k of
   the op ("input": k). The phase is what the command is doing (e.g.
   "explain img.png ig"). Levels: ops (every op, both directions),
   layers (forward outputs and the input gradient only), methods (one line
   per method run, no op lines). */
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
