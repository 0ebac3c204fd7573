#!/usr/bin/python3
"""make_foreground_golden.py - synthetic scans, their foreground (head/body)
masks and the outside mass of maps on them, computed with numpy/scipy, for
tests/test_localize.c.

Run from the repository root with Debian's Python (scipy 1.10, numpy 1.24):
    /usr/bin/python3 tools/make_foreground_golden.py
Writes tests/data/localize/foreground.json.

The reference, written from the definition in eval/localize.h and not from
its C code:
  1. s = scipy.ndimage.gaussian_filter(g, sigma, mode='nearest', truncate=3.0)
     on the float64 gray image, sigma = max(1, max(H, W) / 112). scipy's
     kernel radius is int(truncate * sigma + 0.5) (gaussian_filter1d), the
     radius eval/localize.h defines, and mode 'nearest' repeats the edge
     pixel: the clamped edges. The C weights may differ from scipy's in the
     last bit (exp and the order of the normalising sum), so the smoothed
     values agree to about 1e-16, not bit for bit.
  2. t = 0.1 * numpy.percentile(s, 99, method='lower'), checked equal to
     sorted(s)[floor(0.99 * (n - 1))]; fg = s > t.
  3. scipy.ndimage.label (4-connectivity, its default structure), the
     largest component by size; on a tie the one holding the first
     foreground pixel in raster order (chosen explicitly here, not left to
     label's numbering).
  4. scipy.ndimage.binary_fill_holes (4-connectivity).
Because the smoothed values differ from C's by rounding, every image is
drawn so that no smoothed value lies within 1e-6 of the threshold (the
script asserts it and records the margin); the C test checks its own
smoothed values and threshold within 1e-12 of scipy's, so the masks must
then agree bit for bit.

Outside mass of a map m: sum(max(m, 0) outside fg) / sum(max(m, 0)) with
math.fsum (exact sums). The maps are multiples of 1/32 (bytes k stored,
m = (k - 128) / 32), exact in float32, so C's double sums are exact too.

JSON, per case: name, h, w, sigma, gray (per row a hex string of bytes k,
g = float32(k) / float32(255)), threshold, margin (min |s - t|), samples
([index, s] at 64 pixels), smooth_sum (math.fsum of s), count, fg (per row
a string of 0/1), maps [{map (per row hex bytes), outside}].
"""
import json
import math
import os

import numpy as np
from scipy import ndimage

OUT = "tests/data/localize"


def gray_from_bytes(k):
    return (k.astype(np.float32) / np.float32(255)).astype(np.float64)


def foreground(g):
    h, w = g.shape
    sigma = max(1.0, max(h, w) / 112.0)
    s = ndimage.gaussian_filter(g, sigma, mode="nearest", truncate=3.0)
    n = s.size
    t_np = np.percentile(s, 99, method="lower")
    srt = np.sort(s.ravel())
    assert t_np == srt[int(math.floor(0.99 * (n - 1)))]
    t = 0.1 * t_np
    fg = s > t
    margin = float(np.min(np.abs(s - t)))
    lab, nl = ndimage.label(fg)
    keep = np.zeros_like(fg)
    if nl:
        sizes = np.bincount(lab.ravel())[1:]
        best = [l + 1 for l in range(nl) if sizes[l] == sizes.max()]
        first = {l: int(np.flatnonzero(lab.ravel() == l)[0]) for l in best}
        keep = lab == min(best, key=lambda l: first[l])
    filled = ndimage.binary_fill_holes(keep)
    return sigma, s, t, margin, filled


def outside(m, fg):
    pos = np.maximum(m.astype(np.float64), 0)
    total = math.fsum(pos.ravel())
    return None if total == 0 else math.fsum(pos[~fg].ravel()) / total


def disk(h, w, cy, cx, r):
    y, x = np.mgrid[0:h, 0:w]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def scan_with_hole_and_label(rng, h, w):
    """A bright head with a dark ventricle, a bright label in a corner, noise."""
    g = rng.uniform(0.0, 0.06, (h, w))
    head = disk(h, w, h * 0.52, w * 0.5, min(h, w) * 0.36)
    g[head] = rng.uniform(0.55, 0.85, head.sum())
    hole = disk(h, w, h * 0.5, w * 0.47, min(h, w) * 0.1)
    g[hole] = rng.uniform(0.0, 0.04, hole.sum())
    g[1:4, 1:7] = 0.95  # a text label in the top-left corner
    return g


def two_equal_squares(h, w):
    """Two identical bright squares: a tie, the first in raster order wins."""
    g = np.zeros((h, w))
    g[6:14, 4:12] = 0.8
    g[6:14, w - 12:w - 4] = 0.8
    return g


def open_ring(rng, h, w):
    """A ring whose gap joins its inside to the background: nothing to fill."""
    g = rng.uniform(0.0, 0.05, (h, w))
    ring = disk(h, w, h / 2, w / 2, 13) & ~disk(h, w, h / 2, w / 2, 8)
    ring[: h // 2, w // 2 - 2:w // 2 + 3] = False  # the gap at the top
    g[ring] = 0.7
    return g


def body_on_border(rng, h, w):
    """A large body touching the bottom border (sigma 1.25, radius 4), a lung, a marker."""
    g = rng.uniform(0.0, 0.05, (h, w))
    y, x = np.mgrid[0:h, 0:w]
    body = ((y - h * 0.75) / (h * 0.45)) ** 2 + ((x - w / 2) / (w * 0.4)) ** 2 <= 1
    g[body] = rng.uniform(0.4, 0.9, body.sum())
    lung = ((y - h * 0.7) / (h * 0.2)) ** 2 + ((x - w * 0.35) / (w * 0.1)) ** 2 <= 1
    g[lung] = rng.uniform(0.0, 0.03, lung.sum())
    g[3:7, w - 9:w - 3] = 1.0  # an orientation marker
    return g


def line_1d(rng, n, vertical):
    g = rng.uniform(0.0, 0.05, n)
    g[n // 3:n // 3 + 5] = 0.8
    g[n - 2:] = 0.9  # a short bright bit at the end: the smaller component
    return g.reshape((n, 1) if vertical else (1, n))


def maps_for(rng, h, w, fg, n_maps):
    """A random map, one positive inside the foreground only, one on the background only."""
    a = rng.integers(0, 256, (h, w))
    inside = np.where(fg, rng.integers(129, 256, (h, w)), rng.integers(0, 129, (h, w)))
    outside_only = np.where(fg, 128, rng.integers(100, 256, (h, w)))
    return [a, inside, outside_only][:n_maps]


def hexrows(k):
    return ["".join(f"{int(v):02x}" for v in row) for row in k]


def case(rng, name, g_float, expect=None, n_maps=3):
    k = np.clip(np.rint(g_float * 255), 0, 255).astype(np.uint8)
    g = gray_from_bytes(k)
    h, w = g.shape
    sigma, s, t, margin, fg = foreground(g)
    assert margin > 1e-6, f"{name}: a smoothed value within {margin:g} of the threshold"
    if expect:
        expect(fg)
    idx = rng.choice(s.size, size=min(64, s.size), replace=False)
    maps = []
    for m in maps_for(rng, h, w, fg, n_maps):
        mv = (m.astype(np.float32) - np.float32(128)) / np.float32(32)
        maps.append({"map": hexrows(m), "outside": outside(mv, fg)})
    return {"name": name, "h": h, "w": w, "sigma": sigma, "gray": hexrows(k), "threshold": t, "margin": margin,
            "samples": [[int(i), float(s.ravel()[i])] for i in sorted(idx)], "smooth_sum": math.fsum(s.ravel()),
            "count": int(fg.sum()), "fg": ["".join("1" if v else "0" for v in row) for row in fg], "maps": maps}


def main():
    rng = np.random.default_rng(20261203)
    def head_expect(fg):  # the ventricle filled, the label dropped
        assert fg[disk(40, 48, 40 * 0.5, 48 * 0.47, 40 * 0.1)].all() and not fg[1:4, 1:7].any()

    def tie_expect(fg):  # the left square kept
        assert fg[6:14, 4:12].all() and not fg[:, 15:].any()

    def ring_expect(fg):  # the inside of an open ring stays background
        assert not fg[17, 18]

    def body_expect(fg):  # the lung filled, the marker dropped, the body reaches the border
        assert fg[int(140 * 0.7), int(72 * 0.35)] and not fg[3:7, 72 - 9:72 - 3].any() and fg[-1].any()

    def line_expect(fg):  # the middle segment kept, the end dropped
        v = fg.ravel()
        assert v[23 // 3:23 // 3 + 5].all() and not v[-2:].any()

    cases = [
        case(rng, "head with a ventricle and a corner label, 40x48", scan_with_hole_and_label(rng, 40, 48), head_expect),
        case(rng, "two equal squares (tie), 20x30", two_equal_squares(20, 30), tie_expect),
        case(rng, "open ring (no hole), 34x36", open_ring(rng, 34, 36), ring_expect),
        case(rng, "body on the border, marker, 140x72 (sigma 1.25)", body_on_border(rng, 140, 72), body_expect, 1),
        case(rng, "a row, 1x23", line_1d(rng, 23, False), line_expect),
        case(rng, "a column, 23x1", line_1d(rng, 23, True), line_expect),
    ]
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/foreground.json", "w") as f:
        json.dump({"cases": cases}, f, indent=0)
        f.write("\n")
    for c in cases:
        print(f"{c['name']}: sigma {c['sigma']:.4g}, {c['count']} foreground pixels of {c['h'] * c['w']}, "
              f"margin {c['margin']:.3g}, outside {[m['outside'] for m in c['maps']]}")


if __name__ == "__main__":
    main()
