/* rng.h - the one seeded random generator of salient.

   Algorithm: xoshiro256** (Blackman & Vigna 2018), its 256-bit state filled
   from the 64-bit seed by SplitMix64. Uniform doubles take the top 53 bits
   ((x >> 11) * 2^-53, in [0,1)); uniform floats the top 24 bits. Normal
   draws use the Box-Muller transform on two uniform doubles (u1 in (0,1]),
   returning both values in turn. Same seed, same sequence, on every machine.
   Sub-streams: eng_rng_split(seed, k) derives the seed of stream k
   (SplitMix64 of seed ^ k*golden), so a method can give each image or
   sample its own stream independent of the batch size it runs at. */
#ifndef ENGINE_RNG_H
#define ENGINE_RNG_H
#include <stdint.h>

typedef struct {
    uint64_t s[4];
    int has_spare;
    double spare;
} EngRng;

void eng_rng_seed(EngRng *r, uint64_t seed);
uint64_t eng_rng_next(EngRng *r);
double eng_rng_uniform(EngRng *r);            /* [0,1) */
float eng_rng_uniformf(EngRng *r);            /* [0,1) */
uint32_t eng_rng_below(EngRng *r, uint32_t n); /* [0,n), unbiased (Lemire) */
double eng_rng_normal(EngRng *r);             /* N(0,1) */
uint64_t eng_rng_split(uint64_t seed, uint64_t stream);
#endif
