#!/usr/bin/python3
"""make_study_lists.py - the image lists of eval/studies/paper.study.

    /usr/bin/python3 tools/make_study_lists.py [DATA]     (default ../shared/data)

Writes eval/studies/brain_heldout.csv and eval/studies/cxr_heldout.csv
(`path,label`, paths below the data set's folder).

- brain: all 400 slices of brain-tumor-mri (the Kaggle Testing split, 100
  per class), none of which the shipped model was trained on.
- cxr: 300 images of cxr-train's held-out patients, the patients that
  tools/train_cxr.py holds out (split_by_patient, seed 0), one image per
  patient (images of one child are not independent samples), the classes
  in proportion to the held-out images.

Order. A study runs its list in rounds of 10 images and may be stopped
after any round, so every prefix of a list should be a fair sample of the
whole: within each class the images are in a seeded pseudo-random order
(sha256 of "salient-study-SEED:" + path, so the order does not depend on
a random number generator's implementation), and the classes are
interleaved in proportion to their sizes (position after position, the
class whose share taken so far, (taken + 1/2) / size, is smallest goes
next). Equal classes therefore alternate: glioma, meningioma, notumor,
pituitary, glioma, ... The picked image of a patient is the one with the
smallest such hash.

Deterministic: the same data give byte-identical lists.
"""
import csv
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SEED = 0
CXR_N = 300


def key(path):
    return hashlib.sha256(("salient-study-%d:%s" % (SEED, path)).encode()).hexdigest()


def interleave(by_class, classes):
    """One list from per-class lists, every prefix in proportion to the class sizes."""
    size = {c: len(by_class[c]) for c in classes}
    taken = {c: 0 for c in classes}
    out = []
    for _ in range(sum(size.values())):
        c = min((c for c in classes if taken[c] < size[c]),
                key=lambda c: ((taken[c] + 0.5) / size[c], classes.index(c)))
        out.append(by_class[c][taken[c]])
        taken[c] += 1
    return out


def proportional(counts, total):
    """Largest-remainder apportionment of total over counts."""
    whole = sum(counts.values())
    exact = {c: total * n / whole for c, n in counts.items()}
    share = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: share[c] - exact[c])[:total - sum(share.values())]:
        share[c] += 1
    return share


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "label"])
        w.writerows(rows)
    print("%s: %d images" % (os.path.relpath(path), len(rows)))


def brain_list(data):
    classes = ["glioma", "meningioma", "notumor", "pituitary"]
    with open(os.path.join(data, "brain-tumor-mri", "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    label = {r["file"]: r["label"] for r in rows}
    by_class = {c: sorted((p for p in label if label[p] == c), key=key) for c in classes}
    assert sum(map(len, by_class.values())) == len(rows) == 400, "brain-tumor-mri: expected 400 slices"
    return [(p, label[p]) for p in interleave(by_class, classes)]


def cxr_list(data):
    import train_cxr  # the held-out patients are exactly those of the shipped model's training
    classes = train_cxr.CLASSES
    with open(os.path.join(data, "cxr-train", "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    _, held = train_cxr.split_by_patient(rows, train_cxr.HELD_OUT_FRAC, 0)
    counts = {c: sum(r["label"] == c for r in held) for c in classes}
    want = proportional(counts, CXR_N)
    by_class = {}
    for c in classes:
        patients = {}
        for r in held:
            if r["label"] == c:
                patients.setdefault(r["patient_id"], []).append(r["path"])
        by_class[c] = sorted((min(paths, key=key) for paths in patients.values()), key=key)[:want[c]]
        print("cxr %s: %d held-out images of %d patients, %d taken" % (c, counts[c], len(patients), want[c]))
    label = {p: c for c in classes for p in by_class[c]}
    return [(p, label[p]) for p in interleave(by_class, classes)]


def main():
    data = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data"))
    out = os.path.join(HERE, "..", "eval", "studies")
    write(os.path.join(out, "brain_heldout.csv"), brain_list(data))
    write(os.path.join(out, "cxr_heldout.csv"), cxr_list(data))


if __name__ == "__main__":
    main()
