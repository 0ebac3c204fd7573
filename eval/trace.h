/* trace.h - the engine's work as JSON lines, one per executed op, and the
   comparison of two such traces (what `salient trace-diff` reports).

   Trace line (one per executed op, forward and backward):
     {"seq": 12, "pass": "forward" | "backward" | "<phase> forward",
      "op": "conv2d", "layer": "layer1.0.conv1", "batch": 1,
      "output": [64,56,56], "params": {...},
      "sha256": "...", "min": .., "max": .., "mean": .., "l2": .., "proj": [4 numbers]}
   Backward lines describe the gradient accumulated so far at input k of
   the op ("input": k). The phase is what the caller is doing (e.g.
   "explain img.png ig"). Levels: ops (every op, both directions),
   layers (forward outputs and the input gradient only), methods (one line
   per method run, no op lines).

   Errors follow engine/error.h: err_fail into the caller's buffer. */
#ifndef EVAL_TRACE_H
#define EVAL_TRACE_H
#include <stddef.h>
#include <stdio.h>
#include "engine/engine.h"

#define TRACE_PROJ 4

typedef enum { TRACE_OPS, TRACE_LAYERS, TRACE_METHODS } TraceLevel;

typedef struct {
    FILE *f;
    TraceLevel level;
    long seq;
    char phase[256];
} TraceWriter;

/* "ops", "layers" or "methods" into *level; 0, or -1 for another name. */
int trace_level_parse(const char *name, TraceLevel *level);
/* Opens path for writing and installs t as the engine's trace function
   (eng_set_trace). 0, or -1 with "cannot write trace PATH" in err. */
int trace_writer_open(TraceWriter *t, const char *path, TraceLevel level, char *err, size_t errlen);
/* Removes the engine's trace function and closes the file (no-op when closed). */
void trace_writer_close(TraceWriter *t);
/* The label of the following lines' pass ("" or NULL: none). */
void trace_writer_phase(TraceWriter *t, const char *phase);
/* One op's line (what the engine's trace function writes), filtered by the level. */
void trace_writer_event(TraceWriter *t, const EngTraceEvent *ev);
/* One line for a method's run on an image: its passes, seconds and map's statistics. */
void trace_writer_method(TraceWriter *t, const char *image, const char *method, long fwd, long bwd, double seconds,
                         const float *map, size_t n);

/* Four projections of the values on fixed pseudo-random signs,
   proj_k = sum_i s_k(i) v_i with s_k(i) = +-1 from a SplitMix64 hash of
   (k, i): a change of d at one element moves them by d, a change spread
   over a channel by about its l2 norm, while rounding moves them by about
   eps times the l2 norm of the whole output (a tensor's min, max, mean and
   l2 barely move when one channel of hundreds changes). */
void trace_projections(const float *v, size_t n, double proj[TRACE_PROJ]);

/* One line where two traces differ. */
typedef struct {
    long seq;
    char op[64], layer[256], pass[320];
    double rel;              /* statistics apart, relative to their scale (trace_rel_diff) */
    double a[4], b[4];       /* min, max, mean, l2 of A and of B */
} TraceDiffAt;

typedef struct {
    long n, differ, beyond;  /* lines compared, whose bits differ, beyond rounding */
    int has_first, has_first_beyond;
    TraceDiffAt first, first_beyond;
    char other_work[1024];   /* "" or why the runs did different work (lengths, ops) */
} TraceDiff;

/* Two traces of the same command, line by line: the first op whose bits
   differ (another CPU or BLAS rounds differently from the first op on), and
   the first op whose values differ beyond rounding (a changed weight, input
   or method): statistics apart by more than ENG_ROUND_REL of their scale.
   Stops at the first line that is not the same op in both. 0, or -1 with
   "cannot open PATH" in err. */
int trace_diff_files(const char *path_a, const char *path_b, TraceDiff *d, char *err, size_t errlen);
#endif
