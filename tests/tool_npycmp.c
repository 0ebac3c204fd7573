/* tool_npycmp.c - compares two .npy arrays for the command-line tests:
     tool_npycmp A.npy B.npy TOL
   exits 0 when shapes match and max |a-b| <= TOL * max |b|; prints the
   relative error and the worst index either way. */
#include "io/npy.h"
#include "tests/check.h"

#include <string.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: tool_npycmp A.npy B.npy TOL\n"); return 2; }
    NpyArray a, b;
    char err[512];
    if (npy_read(argv[1], &a, err, sizeof err)) { printf("%s\n", err); return 1; }
    if (npy_read(argv[2], &b, err, sizeof err)) { printf("%s\n", err); return 1; }
    if (a.ndim != b.ndim || memcmp(a.shape, b.shape, sizeof(int64_t) * a.ndim)) {
        printf("shapes differ\n");
        return 1;
    }
    float *x = npy_to_f32(&a), *y = npy_to_f32(&b);
    size_t wi;
    double e = check_max_rel(x, y, a.numel, &wi);
    printf("max rel err %.3g at %zu (%.7g vs %.7g)\n", e, wi, x[wi], y[wi]);
    return e <= atof(argv[3]) ? 0 : 1;
}
