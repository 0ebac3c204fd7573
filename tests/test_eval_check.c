/* test_eval_check.c - eval/check.h on a small resnet18 and densenet121 with
   the deterministic weights of tests/detweights.h: the fast path agrees
   with the reference path at every node within CHECK_FAST_BOUND; at seeded
   probes whose step crosses no ReLU or max-pool decision (where the
   network is exactly linear) the central difference agrees with the
   gradient within the tolerance; the probed input is left as it was. */
#include "engine/engine.h"
#include "engine/rng.h"
#include "eval/check.h"
#include "tests/check.h"
#include "tests/detweights.h"

#include <math.h>
#include <stdlib.h>

/* The models and input of `salient gradcheck` in tests/cli_audit.sh: weights
   seeds 1 and 3, 64 px, a N(0,1) input from the generator seeded with 0. */
static void run(const char *arch, EngModel *m, uint64_t wseed, int S) {
    detweights_fill_model(m, wseed);
    int C = eng_model_in_channels(m), nn = eng_model_n_nodes(m), k = -1;
    float *x = malloc(sizeof(float) * C * S * S);
    EngRng r;
    eng_rng_seed(&r, 0);
    for (int i = 0; i < C * S * S; i++) x[i] = (float)eng_rng_normal(&r);
    double *rel = malloc(sizeof(double) * nn), dg = 1, worst = 0;
    int rc = check_fast_vs_reference(m, x, S, &k, rel, &dg);
    for (int i = 1; !rc && i < nn; i++) worst = fmax(worst, rel[i]);
    char name[160];
    snprintf(name, sizeof name, "check_fast_vs_reference %s: every node and the input gradient within 1e-4", arch);
    CHECK(!rc && k >= 0 && worst <= CHECK_FAST_BOUND && dg <= CHECK_FAST_BOUND && worst > 0, name,
          "rc %d worst %.3g grad %.3g", rc, worst, dg);
    GradProbe pr[12];
    GradCheck gc;
    float x0 = x[5];
    rc = check_gradient(m, x, S, 0, 12, pr, &gc);
    int moved = 0;
    for (int t = 0; t < 12; t++) moved += pr[t].analytic != 0;
    snprintf(name, sizeof name, "check_gradient %s: 12 seeded probes within the tolerance (%d crossed kinks), input restored",
             arch, rc ? 0 : gc.crossed);
    CHECK(!rc && gc.failed == 0 && gc.cls == k && x[5] == x0 && moved > 0 && gc.tolerance > 0, name,
          "rc %d failed %d tol %.3g", rc, gc.failed, gc.tolerance);
    free(x); free(rel);
    eng_model_free(m);
}

int main(void) {
    eng_set_threads(1);
    run("resnet18", eng_resnet(18, 1, 10), 1, 64);
    run("densenet121", eng_densenet(121, 3, 5), 3, 64);
    return check_failures_;
}
