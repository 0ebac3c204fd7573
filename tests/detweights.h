/* detweights.h - deterministic seeded weights for tests, bit-identical to
   tools/detweights.py (the golden files in tests/data/golden/ were made with it).

   Header-only, for tests. Usage:
     detweights_fill(p->name, p->ndim, p->shape, p->numel, seed, p->data);
     // or, with engine/engine.h included BEFORE this header:
     detweights_fill_model(model, seed);

   The rule, per tensor (name = torchvision state_dict name):
     mix(z)  = SplitMix64 finaliser (z += 0x9E3779B97F4A7C15; two xor-shift-multiplies; xor-shift)
     h       = FNV-1a 64 of the name's bytes
     x_i     = mix(seed ^ h ^ (i * 0xD1B54A32D192ED03)), i = element index in C order
     u_i     = (x_i >> 40) * 2^-24, a double in [0,1) (exact)
     value in double, rounded once to float:
       *.running_mean          0.2 * (u - 0.5)
       *.running_var           0.5 + u
       ndim 4 or 2             (2u - 1) * sqrt(6 / (numel / shape[0]))    (conv / linear weight)
       ndim 1, *.weight        0.5 + u                                    (bn gamma)
       ndim 1, *.bias          0.2 * (u - 0.5)                            (bn beta, biases)
       *.num_batches_tracked   0
     Any other tensor gets NaN everywhere, so a test using it fails loudly.
   Each step is exact in double or one correctly rounded operation, so
   compilers contracting to FMA cannot change a bit.

   detweights_round_f16(x): x rounded to the nearest IEEE half (ties to
   even, overflow to +-inf) and back, as numpy's float32 -> float16 cast; the
   resnet50_c3k1000_f16 golden case uses weights passed through it. */
#ifndef TESTS_DETWEIGHTS_H
#define TESTS_DETWEIGHTS_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t detweights_fnv1a64(const void *data, size_t n) {
    const unsigned char *b = (const unsigned char *)data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}

static inline uint64_t detweights__mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline int detweights__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static inline void detweights_fill(const char *name, int ndim, const int *shape,
                                   size_t numel, uint64_t seed, float *out /* (numel) */) {
    enum { R_MEAN, R_VAR, R_FAN, R_GAMMA, R_BETA, R_ZERO, R_NONE } rule = R_NONE;
    if (detweights__ends_with(name, "num_batches_tracked")) rule = R_ZERO;
    else if (detweights__ends_with(name, ".running_mean")) rule = R_MEAN;
    else if (detweights__ends_with(name, ".running_var")) rule = R_VAR;
    else if ((ndim == 2 || ndim == 4) && shape[0] > 0) rule = R_FAN;
    else if (ndim == 1 && detweights__ends_with(name, ".weight")) rule = R_GAMMA;
    else if (ndim == 1 && detweights__ends_with(name, ".bias")) rule = R_BETA;

    uint64_t key = seed ^ detweights_fnv1a64(name, strlen(name));
    double a = rule == R_FAN ? sqrt(6.0 / (double)(numel / (size_t)shape[0])) : 0.0;
    for (size_t i = 0; i < numel; i++) {
        uint64_t x = detweights__mix(key ^ ((uint64_t)i * 0xD1B54A32D192ED03ull));
        double u = (double)(x >> 40) * (1.0 / 16777216.0);
        double v;
        switch (rule) {
        case R_MEAN:  v = 0.2 * (u - 0.5); break;
        case R_VAR:   v = 0.5 + u; break;
        case R_FAN:   v = (2.0 * u - 1.0) * a; break;
        case R_GAMMA: v = 0.5 + u; break;
        case R_BETA:  v = 0.2 * (u - 0.5); break;
        case R_ZERO:  v = 0.0; break;
        case R_NONE:
        default:      v = NAN; break;
        }
        out[i] = (float)v;
    }
}

/* float -> nearest half (ties to even) -> float. Half normals have 11
   significant bits: the quantum of |x| in [2^e, 2^(e+1)) is 2^(e-10), and
   2^-24 below 2^-14 (subnormals). |x| / quantum is exact (power of two), so
   nearbyint (round-half-even in the default mode) does the one rounding. */
static inline float detweights_round_f16(float x) {
    if (isnan(x)) return x;
    double a = fabs((double)x), q;
    if (a >= 65520.0) return x > 0 ? INFINITY : -INFINITY;  /* 65504 + half a quantum */
    if (a < 0x1p-14) q = 0x1p-24;
    else { int e; frexp(a, &e); q = ldexp(1.0, e - 11); }   /* a = m 2^e, m in [0.5,1) */
    double r = nearbyint(a / q) * q;
    return (float)(x < 0 ? -r : r);
}

#ifdef ENGINE_H
/* Fills every parameter tensor of an engine model. */
static inline void detweights_fill_model(EngModel *m, uint64_t seed) {
    for (int i = 0; i < eng_model_n_params(m); i++) {
        EngParam *p = eng_model_param(m, i);
        detweights_fill(p->name, p->ndim, p->shape, p->numel, seed, p->data);
    }
}
#endif
#endif
