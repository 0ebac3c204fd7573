#!/usr/bin/python3
"""train_cxr.py - train the shipped chest X-ray classifier (DenseNet-121, 2 classes).

Run (about 35-45 min on 2 shared cores; progress in /tmp/salient-models/train_cxr.log):
    nice -n 19 /usr/bin/python3 tools/train_cxr.py
Writes /tmp/salient-models/cxr_densenet121.pth (state_dict) and cxr_densenet121.json
(metrics). tools/export_models.py then converts it to weights/cxr_densenet121.safetensors.

Model: torchvision.models.densenet121(num_classes=2), classes in this order:
    normal, pneumonia
  with features.conv0 replaced by Conv2d(1, 64, 7, stride 2, padding 3, bias=False)
  (the same shape as torchvision's except 1 input channel; kaiming-normal init as
  torchvision does) so the input is 1-channel gray. Every other layer and
  state_dict name is torchvision's. No pretrained weights.

Data: ../shared/data/cxr-train (Kermany et al. train split, 5,165 images, both
  tiers: 1,551 aspect-kept originals and 3,614 squashed 224x224 copies).
  Split by patient, never by file: 20% of the patients of each class are held
  out. Patients are grouped by `patient_id` (personN), which is coarser than
  `patient_id_fine` (personN_subtype), so the held-out split is disjoint from
  training in both columns (and near-duplicate groups, which never cross
  patients, stay on one side). The model after the last epoch is the shipped
  one: the held-out split is looked at once, at the end.
  Also reported: ../shared/data/cxr-pneumonia (26 normal + 37 pneumonia,
  patient-disjoint from cxr-train; its normals are from Kermany's test split),
  labels NORMAL/PNEUMONIA mapped to normal/pneumonia.

Preprocessing (salient's C code does the same; see tools/train_common.py):
  gray/255 -> torch bilinear antialiased resize to 128x128 (align_corners=False,
  aspect not kept) -> (x - 0.5) / 0.25.

Why 128x128 and 6 epochs: measured on this 2-core machine (torch 1.13, nice 19,
2 threads) a DenseNet-121 training step of batch 32 costs ~2.1 s at 128 px
(~15 img/s; 112 px gave ~18 img/s, 224 px would be ~3x slower than 128), so an
epoch of ~4,100 images takes ~5 min and 6 epochs fit the ~45 min left of the
~70 min budget for both models after the ResNet-18.

Recipe: AdamW (lr 2e-3 peak, weight decay 0.01), one-cycle schedule (20% warm-up,
cosine down), batch 32, cross-entropy with label smoothing 0.1 and class weights
n/(2 n_c) from the training split (pneumonia is ~74% of the images).
Augmentation per batch, seeded: rotation +-7 deg, scale 0.9-1.1, shift +-5%, no
flip (chest anatomy is not left-right symmetric), per-image intensity
x -> c * x**g with contrast c and gamma g in 0.8-1.25 (log-uniform), clamped
to [0,1] (exposure differs between films). Seed 0.
torch.set_num_threads(2), torch.use_deterministic_algorithms(True).
"""
import argparse
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_common as tc  # noqa: E402

CLASSES = ["normal", "pneumonia"]
DATA = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "shared", "data"))
TRAIN_DIR = os.path.join(DATA, "cxr-train")
EXTRA_DIR = os.path.join(DATA, "cxr-pneumonia")
COVID_DIR = os.path.join(DATA, "covid-cxr-mhh")
HELD_OUT_FRAC = 0.20


def make_model():
    m = torchvision.models.densenet121(num_classes=len(CLASSES))
    m.features.conv0 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    torch.nn.init.kaiming_normal_(m.features.conv0.weight)
    return m


def split_by_patient(rows, frac, seed):
    """Per class, a seeded random `frac` of the patient_id groups is held out."""
    g = torch.Generator().manual_seed(seed + 2)
    train, held = [], []
    for c in CLASSES:
        groups = {}
        for r in rows:
            if r["label"] == c:
                groups.setdefault(r["patient_id"], []).append(r)
        keys = sorted(groups)
        order = torch.randperm(len(keys), generator=g).tolist()
        n_held = round(frac * len(keys))
        for j, i in enumerate(order):
            (held if j < n_held else train).extend(groups[keys[i]])
    return train, held


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="144:5,224:2",
                    help="SIZE:EPOCHS stages; the last size is the shipped input size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=tc.OUT_DIR)
    ap.add_argument("--limit", type=int, default=0, help="smoke test: train on N images")
    args = ap.parse_args()

    tc.seed_everything(args.seed)
    log = tc.Log(os.path.join(args.out, "train_cxr.log"))
    log("train_cxr.py", vars(args), tc.env_info())

    rows = tc.read_csv(os.path.join(TRAIN_DIR, "labels.csv"))
    tr_rows, ho_rows = split_by_patient(rows, HELD_OUT_FRAC, args.seed)
    for col in ("patient_id", "patient_id_fine"):
        a, b = {r[col] for r in tr_rows}, {r[col] for r in ho_rows}
        assert not a & b, "patient leak in " + col
    ex_rows = tc.read_csv(os.path.join(EXTRA_DIR, "labels.csv"))

    def paths(rs, base):
        return [os.path.join(base, r["path"]) for r in rs]

    def labels(rs):
        return torch.tensor([CLASSES.index(r["label"].lower()) for r in rs])

    stages = [[int(v) for v in part.split(":")] for part in args.sizes.split(",")]
    S = stages[-1][0]
    Xtr = {sz: tc.build_cache(paths(tr_rows, TRAIN_DIR), sz, "cxr_train", log)
           for sz, _ in stages}
    Xho = tc.build_cache(paths(ho_rows, TRAIN_DIR), S, "cxr_heldout", log)
    Xex = tc.build_cache(paths(ex_rows, EXTRA_DIR), S, "cxr_pneumonia", log)
    covid_rows = tc.read_csv(os.path.join(COVID_DIR, "labels.csv"))
    Xcv = tc.build_cache([os.path.join(COVID_DIR, r["file"]) for r in covid_rows], S,
                         "covid_cxr_mhh", log)
    ytr, yho, yex = labels(tr_rows), labels(ho_rows), labels(ex_rows)
    if args.limit:
        sel = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(9))[:args.limit]
        Xtr, ytr = {k: v[sel] for k, v in Xtr.items()}, ytr[sel]
    counts = torch.bincount(ytr, minlength=len(CLASSES)).tolist()
    weights = [round(len(ytr) / (len(CLASSES) * n), 4) for n in counts]
    log("split sizes: train %d %s (%d patients), held-out %d %s (%d patients), cxr-pneumonia %d"
        % (len(ytr), counts, len({r["patient_id"] for r in tr_rows}), len(yho),
           torch.bincount(yho).tolist(), len({r["patient_id"] for r in ho_rows}), len(yex)))

    cfg = {"epochs": sum(n for _, n in stages), "sizes": stages, "batch": 32, "lr": 2e-3, "wd": 0.01,
           "smoothing": 0.1, "seed": args.seed, "class_weights": weights,
           "classes": CLASSES,
           "aug": {"max_rot_deg": 7.0, "max_shift": 0.05, "scale_range": (0.9, 1.1),
                   "hflip": False, "contrast_range": (0.8, 1.25), "gamma_range": (0.8, 1.25)}}
    torch.manual_seed(args.seed)
    model = make_model()
    os.makedirs(args.out, exist_ok=True)
    hist = tc.train(model, Xtr, ytr, cfg, log,
                    ckpt=os.path.join(args.out, "cxr_densenet121.ckpt"))
    train_s = sum(h["seconds"] for h in hist)

    torch.save(model.state_dict(), os.path.join(args.out, "cxr_densenet121.pth"))
    p_ho = tc.predict(model, Xho)
    tier = [r["tier"] for r in ho_rows]
    res = {
        "model": "densenet121", "arch": "torchvision.models.densenet121(num_classes=2), "
                 "features.conv0 = Conv2d(1,64,7,2,3,bias=False)",
        "classes": CLASSES, "input_size": S, "in_channels": 1,
        "mean": tc.MEAN, "std": tc.STD, "seed": args.seed, "epochs": cfg["epochs"],
        "train_seconds": round(train_s, 1),
        "recipe": {k: v for k, v in cfg.items() if k != "classes"},
        "split": "by patient_id (implies disjoint patient_id_fine), %.0f%% of patients "
                 "per class held out" % (100 * HELD_OUT_FRAC),
        "split_sizes": {"train": len(ytr), "train_per_class": counts,
                        "train_patients": len({r["patient_id"] for r in tr_rows}),
                        "held_out": len(yho), "held_out_per_class": torch.bincount(yho).tolist(),
                        "held_out_patients": len({r["patient_id"] for r in ho_rows}),
                        "cxr_pneumonia": len(yex)},
        "history": hist,
        "held_out": tc.metrics(p_ho, yho, CLASSES),
        "held_out_by_tier": {t: tc.metrics(p_ho[torch.tensor([x == t for x in tier])],
                                           yho[torch.tensor([x == t for x in tier])], CLASSES)
                             for t in ("orig", "sq224")},
        "cxr_pneumonia": tc.metrics(tc.predict(model, Xex), yex, CLASSES),
        "covid_cxr_mhh_called_pneumonia": round(
            (tc.predict(model, Xcv).argmax(1) == CLASSES.index("pneumonia")).float().mean().item(), 4),
        "covid_cxr_mhh_n": len(covid_rows),
        "held_out_files": [r["path"] for r in ho_rows],
        "held_out_dir": TRAIN_DIR, "cxr_pneumonia_dir": EXTRA_DIR,
        "env": tc.env_info(),
    }
    tc.write_json(os.path.join(args.out, "cxr_densenet121.json"), res)
    for k in ("held_out", "cxr_pneumonia"):
        log("%s (%d): acc %s balanced %s cm %s" % (k, res[k]["n"], res[k]["accuracy"],
            res[k]["balanced_accuracy"], res[k]["confusion_matrix"]))
    log("done in %.1fs" % (time.time() - log.t0))


if __name__ == "__main__":
    main()
