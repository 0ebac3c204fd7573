/* random.c - the random baseline map: every pixel an independent uniform
   draw in [0,1) (float: the top 24 bits of xoshiro256**, engine/rng.h) from
   EngRng seeded with eng_rng_split(seed, RANDOM_STREAM), in raster order.
   The control the seed paper compares the methods to (Brima & Atemkeng
   2024: a random map can score well on SIC). Same seed, same map; no
   network passes. */
#include "attrib/attrib.h"

#define RANDOM_STREAM 0x4a4d

int attrib_random(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 0)) return -1;
    EngRng r;
    eng_rng_seed(&r, eng_rng_split(P->seed, RANDOM_STREAM));
    size_t hw = (size_t)P->H * P->W;
    for (size_t i = 0; i < hw; i++) R->map[i] = eng_rng_uniformf(&r);
    snprintf(R->notes, sizeof R->notes, "uniform [0,1) from seed %llu", (unsigned long long)P->seed);
    if (P->narrate)
        fprintf(P->narrate, "random: %zu uniform draws in [0,1) from seed %llu (first %.4f); no network passes\n", hw,
                (unsigned long long)P->seed, R->map[0]);
    R->seconds = attrib_now() - t0;
    return 0;
}
