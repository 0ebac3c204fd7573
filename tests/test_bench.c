/* test_bench.c - eval/bench.h on a small ResNet-18 (1 channel, 3 classes,
   32 x 32, deterministic weights): medians of real passes, the per-op
   profile of both pass kinds when asked, none when not, and the engine's
   error for an input the network cannot take. */
#include "engine/engine.h"
#include "eval/bench.h"
#include "tests/detweights.h"
#include "tests/check.h"
#include "weights/load.h"

#include <math.h>
#include <string.h>

int main(void) {
    char err[512];
    EngModel *m = weights_model_for_arch("resnet18", 1, 3, err, sizeof err);
    if (!m) { printf("FAIL model: %s\n", err); return 1; }
    detweights_fill_model(m, 5);
    BenchTimes t = {-1, -1};
    EngProfile fo, gr;
    memset(&fo, 0, sizeof fo);
    memset(&gr, 0, sizeof gr);
    CHECK(!bench_passes(m, 2, 32, 3, &t, &fo, &gr) && t.forward_ms > 0 && t.forward_backward_ms > 0,
          "bench: medians of forward and gradient passes", "%s: %g %g", eng_last_error(), t.forward_ms, t.forward_backward_ms);
    CHECK(fo.forward_ms[ENG_OP_CONV2D] > 0 && fo.backward_ms[ENG_OP_CONV2D] == 0 && gr.forward_ms[ENG_OP_CONV2D] > 0 &&
          gr.backward_ms[ENG_OP_CONV2D] > 0, "bench profile: conv time in forward-only passes, and both ways in gradient passes",
          "%g %g %g %g", fo.forward_ms[ENG_OP_CONV2D], fo.backward_ms[ENG_OP_CONV2D], gr.forward_ms[ENG_OP_CONV2D],
          gr.backward_ms[ENG_OP_CONV2D]);
    BenchTimes u = {-1, -1};
    CHECK(!bench_passes(m, 1, 32, 1, &u, NULL, NULL) && u.forward_ms > 0, "bench without a profile, one repetition", "%s", eng_last_error());
    CHECK(bench_passes(m, 0, 32, 2, &u, NULL, NULL) == -1 && eng_last_error()[0], "bench of zero images: the engine's error",
          "no error");
    BenchPassTime pt = {0, -1, -1};
    bench_pass_time(m, 1, 32, 2, &pt);
    CHECK(pt.batch == 2 && pt.fwd_s > 0 && pt.fb_s > 0 && pt.fwd_s < 10 && pt.fb_s < 10,
          "pass time: a forward and a gradient pass of 2 images, timed", "%g %g", pt.fwd_s, pt.fb_s);
    bench_pass_time(m, 1, 0, 1, &pt);
    CHECK(pt.fwd_s == 0 && pt.fb_s == 0, "pass time of an impossible input: zeros", "%g %g", pt.fwd_s, pt.fb_s);
    BenchPassTime q = {2, 0.01, 0.03};
    double e1 = bench_expected_seconds(10, 4, &q), e2 = bench_expected_seconds(1, 5, &q), e3 = bench_expected_seconds(0, 0, &q);
    CHECK(fabs(e1 - (6 * 0.01 + 4 * 0.03) / 2) < 1e-15 && fabs(e2 - (1 * 0.03 + 4 * 0.02) / 2) < 1e-15 && e3 == 0,
          "expected seconds: forward-only, pairs and shared backwards at their costs per image of the batch",
          "%.17g %.17g %g", e1, e2, e3);
    eng_model_free(m);
    CHECK_DONE();
}
