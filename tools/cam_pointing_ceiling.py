#!/usr/bin/python3
"""cam_pointing_ceiling.py - the best pointing game a CAM map of a given grid
can reach on a set of lesion masks, whatever the network.

A CAM method (Grad-CAM, Grad-CAM++, Score-CAM, ...) computes its map on the
layer's h x w grid and resizes it to the input's S x S with bilinear
interpolation on half-pixel centres (cv2.resize INTER_LINEAR, as
attrib/cam.c does). A bilinear interpolant takes its maximum at a grid node,
so the resized map's first maximum (numpy.argmax, the pointing game of
eval/localize.h) is the pixel nearest the hottest node: on each axis, for
node k, the pixels floor(c) and ceil(c) around c = (k + 0.5) S / h - 0.5,
and, for the first and last node, where the edge clamp makes a flat run,
that run's first pixel (0, or the first pixel whose source coordinate
reaches h - 1). The map can point into a lesion only if the lesion covers
one of these few pixels. The share of masks that do is therefore an upper
bound on the pointing game of every CAM map at that grid (ties between
nodes aside).

Usage (the masks of a set built by tools/localize_brain.sh):
    /usr/bin/python3 tools/cam_pointing_ceiling.py /tmp/salient-localize-brain 224 7 10 14
Prints, per grid, the number of masks and the share with a lesion pixel
under a node's candidate pixels.

Masks are read as eval/localize.h reads them: nonzero = lesion, resized to
S x S by nearest neighbour, source index floor(i * in / out).
"""
import glob
import math
import os
import sys

import numpy as np
from PIL import Image


def node_pixels(h, S):
    """Per axis: the pixels where the resized map's maximum can lie."""
    out = set()
    first_last = [i for i in range(S) if (i + 0.5) * h / S - 0.5 >= h - 1][0]
    for k in range(h):
        if k == 0:
            out.add(0)
        elif k == h - 1:
            out.add(first_last)
        else:
            c = (k + 0.5) * S / h - 0.5
            out.update({math.floor(c), math.ceil(c)})
    return sorted(out)


def load_mask(path, S):
    m = np.asarray(Image.open(path).convert("L")) > 0
    h, w = m.shape
    yi = (np.arange(S) * h) // S
    xi = (np.arange(S) * w) // S
    return m[yi][:, xi]


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: cam_pointing_ceiling.py SET_DIR SIZE GRID [GRID...]")
    root, S = sys.argv[1], int(sys.argv[2])
    paths = sorted(glob.glob(os.path.join(root, "*", "*.mask.png")))
    if not paths:
        sys.exit("no *.mask.png under %s/*/" % root)
    masks = [load_mask(p, S) for p in paths]
    area = np.median([m.mean() for m in masks])
    print("%d masks at %dx%d, median lesion area %.4f of the image" % (len(masks), S, S, area))
    for h in (int(a) for a in sys.argv[3:]):
        px = node_pixels(h, S)
        hit = [m[np.ix_(px, px)].any() for m in masks]
        print("grid %2dx%-2d: pointing game at most %.3f (%d of %d masks)" % (
            h, h, np.mean(hit), sum(hit), len(hit)))


if __name__ == "__main__":
    main()
