/* parallel.h - the engine's own worker threads: gemm bands and image
   groups of the convolutions (OpenBLAS runs single-threaded inside them),
   im2col/col2im, the fused epilogues, max pooling.

   eng_parallel_for(n, fn, ctx) calls fn(ctx, lo, hi) on contiguous ranges
   that cover [0, n) exactly once, one range per thread (the caller's
   thread takes the first), and returns when all are done. The loops split
   this way write disjoint outputs and do the same arithmetic per element
   whatever the split, so results are bit-identical for any thread count.
   Threads: eng_set_threads (default: all cores); the workers sleep on a
   condition variable between calls. A call made from inside a range runs
   inline on that thread (conv image groups call the gemm helper). */
#ifndef ENGINE_PARALLEL_H
#define ENGINE_PARALLEL_H
#include <stddef.h>

typedef void (*EngRangeFn)(void *ctx, size_t lo, size_t hi);
/* min_per_thread: below this many items per thread, fn runs on the caller
   alone (waking a thread costs a few microseconds). */
void eng_parallel_for(size_t n, size_t min_per_thread, EngRangeFn fn, void *ctx);
/* min_per_thread for items of floats_per_item floats each: about 32 Ki
   floats per thread are worth waking a thread for. */
static inline size_t eng_min_items(size_t floats_per_item) {
    return floats_per_item >= 32768 ? 1 : 32768 / (floats_per_item ? floats_per_item : 1);
}
/* Threads an eng_parallel_for called here would use: 1 inside a range
   (nested calls run inline on the calling thread), else the setting. */
int eng_parallel_width(void);
/* Worker threads to use from now on (1 = none); called by eng_set_threads. */
void eng_parallel_set_threads(int n);

#endif
