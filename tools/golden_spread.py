#!/usr/bin/python3
"""golden_spread.py - how far a reference implementation's own float32 result
moves under rounding: the yardstick of every golden bound in tests/.

A golden comparison holds salient's result to the reference's FLOAT64 result
(the model and every operation in double, on the same float32 input), within
a bound derived from the reference itself, never from what salient measured:

    spread = the worst agreement with the float64 result over
             - the reference's float32 run, and
             - NPERTURB float32 runs whose every weight and buffer is moved by
               one unit in the last place, up or down (seeded, det_uniform),

    agreement(a, ref) = (Pearson r, max |a - ref| / (max ref - min ref)).

The perturbed runs are other correct float32 roundings of the same network:
where a path or noisy image lands next to a ReLU or max-pool kink, some of
them land on the other side, exactly as a different summation order may. The
input is left as it is: every implementation receives the same input bits,
and moving them would also break the exact ties of flat image regions (a
black background), which are part of the method's definition, not rounding.

The C tests then require, on BOTH of salient's paths (the fast float32 path
and the double-accumulating reference path):
    1 - r   <= SPREAD_FACTOR * (1 - spread_r)   (or 1e-9, whichever is larger)
    err     <= SPREAD_FACTOR * spread_err       (or 1e-6 of the range)
with SPREAD_FACTOR = 4 (tests/check.h): another correct float32 rounding may
sit up to four times as far from float64 as the worst reference sample; the
floors are float32's own resolution (16 ulps of the range; r to 1e-9).
"""
import copy

import numpy as np
import torch

from detweights import det_uniform

NPERTURB = 4


def perturbed_copy(model, k):
    """A deep copy of a float32 model with every floating-point parameter and
    buffer moved one ulp up or down (sign from det_uniform(name, k))."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for name, t in list(m.named_parameters()) + list(m.named_buffers()):
            if not t.is_floating_point():
                continue
            v = t.detach().numpy()
            u = det_uniform("golden.perturb." + name, v.size, 1000 + k).reshape(v.shape)
            toward = np.where(u < 0.5, np.float32(-np.inf), np.float32(np.inf)).astype(v.dtype)
            t.copy_(torch.from_numpy(np.nextafter(v, toward)))
    return m


def agreement(a, ref):
    """(Pearson r, max |a - ref| / (max(ref) - min(ref))), as tests/check.h computes them."""
    a = np.asarray(a, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    span = ref.max() - ref.min()
    err = float(np.abs(a - ref).max() / span) if span > 0 else float(np.abs(a - ref).max())
    if a.std() == 0 or ref.std() == 0:
        r = 1.0 if a.std() == ref.std() else 0.0
    else:
        r = float(np.corrcoef(a, ref)[0, 1])
    return r, err


def spread(runs32, ref64):
    """Worst agreement of the float32 runs with the float64 result:
    {"r": min r, "err": max err, "runs": [[r, err], ...]}."""
    ag = [agreement(a, ref64) for a in runs32]
    return {"r": min(r for r, _ in ag), "err": max(e for _, e in ag), "runs": [list(x) for x in ag]}


def spread_kv(sp):
    """The key=value text the C tests read."""
    return "spread_r=%.9f spread_err=%.4g" % (sp["r"], sp["err"])
