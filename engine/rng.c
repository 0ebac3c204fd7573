/* rng.c - xoshiro256** seeded by SplitMix64; see rng.h for the contract. */
#include "engine/rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void eng_rng_seed(EngRng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

uint64_t eng_rng_next(EngRng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double eng_rng_uniform(EngRng *r) { return (double)(eng_rng_next(r) >> 11) * 0x1.0p-53; }
float eng_rng_uniformf(EngRng *r) { return (float)(eng_rng_next(r) >> 40) * 0x1.0p-24f; }

uint32_t eng_rng_below(EngRng *r, uint32_t n) {
    uint64_t m = (uint64_t)(uint32_t)(eng_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (low < thresh) {
            m = (uint64_t)(uint32_t)(eng_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double eng_rng_normal(EngRng *r) {
    if (r->has_spare) { r->has_spare = 0; return r->spare; }
    double u1 = 1.0 - eng_rng_uniform(r); /* (0,1] so log is finite */
    double u2 = eng_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

uint64_t eng_rng_split(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0x9E3779B97F4A7C15ull);
    return splitmix64(&x);
}
