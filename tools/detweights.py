#!/usr/bin/python3
"""detweights.py - deterministic seeded weights, bit-identical to tests/detweights.h.

Golden models cannot be committed (resnet50 is 100 MB), so the Python tools
and the C tests both generate the same parameters from a seed and a tensor's
torchvision state_dict name. The rule (mirrored exactly in tests/detweights.h):

  mix(z)  = SplitMix64 finaliser: z += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  return z ^ (z >> 31)   (mod 2^64)
  h       = FNV-1a 64 of the name's bytes (offset 0xcbf29ce484222325, prime 0x100000001b3)
  x_i     = mix(seed ^ h ^ (i * 0xD1B54A32D192ED03))   for element i in C order
  u_i     = (x_i >> 40) * 2^-24                        a double in [0,1), exact
  value, computed in double and rounded once to float32:
    ndim 4 or 2 (conv / linear weight): a = sqrt(6 / (numel / shape[0])); (2u - 1) * a
    *.running_mean: 0.2 * (u - 0.5)        *.running_var: 0.5 + u
    ndim 1 *.weight (bn gamma): 0.5 + u    ndim 1 *.bias (bn beta, linear/conv bias): 0.2 * (u - 0.5)
    *.num_batches_tracked: int64 0
  Anything else is an error (the C side fills NaN so a test fails loudly).

Every step is either exact in double or a single correctly rounded IEEE
operation (sqrt, one multiply), so FMA contraction cannot change a bit.

Usage:
  from detweights import fill_model, det_values
  fill_model(model, seed)        # sets every parameter and buffer by name
  /usr/bin/python3 tools/detweights.py --golden tests/data/golden/detweights.json
      writes the cross-check file the C test reads (layout: see write_golden).
"""
import argparse
import json
import math
import sys

import numpy as np

MASK64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
INDEX_MUL = 0xD1B54A32D192ED03


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


def _mix(z):
    """SplitMix64 finaliser on a uint64 array (numpy wraps mod 2^64)."""
    z = z + np.uint64(GOLDEN_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def det_uniform(name: str, numel: int, seed: int):
    """u_i in [0,1) as float64, i = 0..numel-1."""
    key = np.uint64((seed & MASK64) ^ fnv1a64(name.encode("utf-8")))
    with np.errstate(over="ignore"):
        i = np.arange(numel, dtype=np.uint64)
        x = _mix(key ^ (i * np.uint64(INDEX_MUL)))
    return (x >> np.uint64(40)).astype(np.float64) * (2.0 ** -24)


def det_values(name: str, shape, seed: int) -> np.ndarray:
    """The tensor `name` of `shape` for `seed`: float32, or int64 zeros for
    num_batches_tracked. Raises ValueError for a name/shape the rule does not cover."""
    shape = tuple(int(s) for s in shape)
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, dtype=np.int64)
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    u = det_uniform(name, numel, seed)
    ndim = len(shape)
    if name.endswith(".running_mean"):
        v = 0.2 * (u - 0.5)
    elif name.endswith(".running_var"):
        v = 0.5 + u
    elif ndim in (2, 4):
        fan_in = numel // shape[0]
        a = math.sqrt(6.0 / fan_in)
        v = (2.0 * u - 1.0) * a
    elif ndim == 1 and name.endswith(".weight"):
        v = 0.5 + u
    elif ndim == 1 and name.endswith(".bias"):
        v = 0.2 * (u - 0.5)
    else:
        raise ValueError(f"detweights: no rule for tensor '{name}' of shape {list(shape)}")
    return v.astype(np.float32).reshape(shape)


def fill_model(model, seed: int):
    """Sets every parameter and buffer of a torch module from det_values, by
    state_dict name. Returns the model."""
    import torch
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            v = det_values(name, tuple(t.shape), seed)
            t.copy_(torch.from_numpy(v).to(t.dtype))
    return model


def build_filled_model(arch, in_channels, classes, seed):
    """torchvision's resnet or densenet `arch` with `classes` outputs, a
    1-channel stem when in_channels is 1 (resnets: conv1), every tensor from
    fill_model(seed), in eval mode: the test models of the attribution goldens."""
    import torch.nn as nn
    import torchvision
    m = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    if in_channels != 3:
        m.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    fill_model(m, seed)
    return m.eval()


# ---- cross-check file for tests/detweights.h ----

# (name, shape) pairs exercising every rule; the seeds include one with the
# top bit set so uint64 handling is tested.
GOLDEN_TENSORS = [
    ("conv1.weight", [64, 3, 7, 7]),
    ("layer1.0.bn1.weight", [64]),
    ("layer1.0.bn1.bias", [64]),
    ("layer1.0.bn1.running_mean", [64]),
    ("layer1.0.bn1.running_var", [64]),
    ("layer2.0.downsample.0.weight", [128, 64, 1, 1]),
    ("fc.weight", [10, 512]),
    ("fc.bias", [10]),
    ("features.denseblock1.denselayer1.conv2.weight", [32, 128, 3, 3]),
    ("classifier.bias", [5]),
]
GOLDEN_SEEDS = [1, 2, 0xDEADBEEFCAFEF00D]
GOLDEN_FIRST = 8


def write_golden(path: str):
    """JSON layout:
      {"spec": "...", "n_first": 8,
       "cases": [{"name": str, "shape": [int...], "seed": str (decimal uint64),
                  "fnv1a64": str (16 hex digits) of the whole float32 tensor's
                             little-endian bytes,
                  "first_bits": [uint32...]  float32 bit patterns of elements 0..7,
                  "first": [float...]        the same values, for reading,
                  "fnv1a64_f16": str  the same hash after rounding every value
                             float32 -> float16 (nearest, ties to even) -> float32,
                             i.e. detweights_round_f16}]}
    The seed is a decimal string because it may exceed 2^53."""
    cases = []
    for seed in GOLDEN_SEEDS:
        for name, shape in GOLDEN_TENSORS:
            v = det_values(name, shape, seed).astype("<f4")
            first = v.reshape(-1)[:GOLDEN_FIRST]
            cases.append({
                "name": name, "shape": shape, "seed": str(seed),
                "fnv1a64": "%016x" % fnv1a64(v.tobytes()),
                "first_bits": [int(b) for b in first.view("<u4")],
                "first": [float(x) for x in first],
                "fnv1a64_f16": "%016x" % fnv1a64(v.astype(np.float16).astype("<f4").tobytes()),
            })
    doc = {"spec": "tools/detweights.py / tests/detweights.h", "n_first": GOLDEN_FIRST,
           "cases": cases}
    with open(path, "w") as f:  # one case per line
        f.write('{"spec": %s, "n_first": %d,\n "cases": [\n' % (json.dumps(doc["spec"]), GOLDEN_FIRST))
        f.write(",\n".join("  " + json.dumps(c) for c in cases))
        f.write("\n ]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--golden", required=True, help="write the C cross-check JSON here")
    args = ap.parse_args()
    write_golden(args.golden)
    print(f"wrote {args.golden}", file=sys.stderr)


if __name__ == "__main__":
    main()
