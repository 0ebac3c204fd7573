#!/usr/bin/python3
"""export_models.py - export the two trained demo models and re-check them in F16.

Run after tools/train_brain.py and tools/train_cxr.py:
    nice -n 19 /usr/bin/python3 tools/export_models.py
For each model it
  1. runs tools/convert.py on /tmp/salient-models/<name>.pth ->
     weights/<name>.safetensors (F16, with arch/input_size/mean/std/labels metadata),
  2. reads that .safetensors back with the small reader below (independent of
     convert.py), loads it into the torchvision model (strict, except the int64
     num_batches_tracked counters, which inference does not use) and recomputes
     the held-out metrics with these F16-rounded weights,
  3. checks that the F16 file equals the .pth rounded to F16 tensor by tensor,
  4. writes /tmp/salient-models/<name>_f16.json (metrics + SHA-256 of the file),
     including a shortcut probe: the held-out accuracy when every input is made
     darker (x * 0.7) or brighter (min(1, x * 1.3)) before the network, and a
     sharpness probe: blurred (Gaussian, sigma 1 px at the input size) or
     sharpened (unsharp mask x + (x - blur), clamped).
The input folder is $SALIENT_MODELS_DIR (default /tmp/salient-models).
The model cards weights/<name>.md quote these numbers.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_common as tc  # noqa: E402
import train_brain  # noqa: E402
import train_cxr  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ST_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "I64": np.int64}


def read_safetensors(path):
    """Returns ({name: torch tensor}, metadata dict). Minimal, strict reader."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = ST_DTYPES[h["dtype"]]
        arr = np.frombuffer(data[base + b:base + e], dtype=dt).reshape(h["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


sha256_file = tc.sha256_file   # make_samples.py imports it from here


def load_shipped(make_model, path):
    """torchvision model with the weights of a shipped .safetensors (F16 -> F32)."""
    tensors, meta = read_safetensors(path)
    model = tc.set_output_stride(make_model(), int(meta.get("output_stride", "32")))
    sd = model.state_dict()
    missing = [k for k in sd if k not in tensors and not k.endswith("num_batches_tracked")]
    extra = [k for k in tensors if k not in sd]
    if missing or extra:
        raise SystemExit("%s: missing %s, unexpected %s" % (path, missing[:5], extra[:5]))
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(sd[k].shape):
            raise SystemExit("%s: %s has shape %s, expected %s" % (path, k, list(v.shape),
                                                                  list(sd[k].shape)))
        if sd[k].is_floating_point():
            sd[k] = v.float()
        else:
            sd[k] = v.to(sd[k].dtype)
    model.load_state_dict(sd)
    model.eval()
    return model, meta


def export(name, arch, make_model, classes, eval_sets):
    src = os.path.join(tc.OUT_DIR, name + ".pth")
    info = json.load(open(os.path.join(tc.OUT_DIR, name + ".json")))
    dst = os.path.join(ROOT, "weights", name + ".safetensors")
    cmd = [sys.executable, os.path.join(ROOT, "tools", "convert.py"), src, dst,
           "--dtype", "f16", "--meta", "arch=" + arch,
           "input_size=%d" % info["input_size"], "mean=%g" % info["mean"],
           "std=%g" % info["std"], "labels=" + ",".join(classes), "--check"]
    if info.get("output_stride", 32) != 32:
        cmd[cmd.index("--check"):cmd.index("--check")] = ["output_stride=%d" % info["output_stride"]]
    pct = info.get("recipe", {}).get("intensity_percentile")
    if pct:  # salient scales every input by this percentile of its gray levels, as training did
        cmd[cmd.index("--check"):cmd.index("--check")] = ["intensity_percentile=%g" % pct]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)

    model, meta = load_shipped(make_model, dst)
    # the file must be exactly the trained weights rounded to F16
    ref = torch.load(src)
    worst = 0.0
    for k, v in ref.items():
        if v.is_floating_point():
            d = (model.state_dict()[k] - v.half().float()).abs().max().item()
            worst = max(worst, d)
    print("%s: max |file - f16(pth)| = %g" % (name, worst), flush=True)
    assert worst == 0.0, "shipped weights differ from the F16-rounded .pth"

    S = info["input_size"]
    res = {"file": os.path.relpath(dst, ROOT), "sha256": sha256_file(dst),
           "bytes": os.path.getsize(dst), "metadata": meta}
    fp32 = make_model()
    fp32.load_state_dict(ref)
    for key, (files, labels) in eval_sets.items():
        X = torch.cat([tc.resize_sq(tc.load_gray01(p), S)[None] for p in files])
        y = torch.tensor([classes.index(c) for c in labels])
        p16 = tc.predict(model, X, percentile=pct)
        p32 = tc.predict(fp32, X, percentile=pct)
        m = tc.metrics(p16, y, classes)
        m["max_abs_prob_diff_f16_vs_f32"] = round((p16 - p32).abs().max().item(), 6)
        m["argmax_changes_f16_vs_f32"] = int((p16.argmax(1) != p32.argmax(1)).sum())
        m["accuracy_f32"] = tc.metrics(p32, y, classes)["accuracy"]
        # shortcut probe: the same images made darker / brighter before the network
        m["accuracy_if_intensity_x0.7"] = tc.metrics(tc.predict(model, X * 0.7, percentile=pct), y,
                                                     classes)["accuracy"]
        m["accuracy_if_intensity_x1.3"] = tc.metrics(tc.predict(model, (X * 1.3).clamp(0, 1), percentile=pct),
                                                     y, classes)["accuracy"]
        # sharpness probe: the same images blurred (Gaussian, sigma 1 px) or
        # unsharp-masked (x + (x - blur)) at the input size
        for key_s, amount in (("accuracy_if_blurred", -1.0), ("accuracy_if_sharpened", 1.0)):
            m[key_s] = tc.metrics(tc.predict(model, tc.unsharp(X, amount), percentile=pct), y,
                                  classes)["accuracy"]
        res[key] = m
        print("%s %s: F16 acc %s (F32 %s), cm %s, max |dp| %g" % (
            name, key, m["accuracy"], m["accuracy_f32"], m["confusion_matrix"],
            m["max_abs_prob_diff_f16_vs_f32"]), flush=True)
    tc.write_json(os.path.join(tc.OUT_DIR, name + "_f16.json"), res)
    print(json.dumps({k: res[k] for k in ("file", "sha256", "bytes")}), flush=True)


def brain_sets():
    info = json.load(open(os.path.join(tc.OUT_DIR, "brain_resnet18.json")))
    rows = tc.read_csv(os.path.join(train_brain.TEST_DIR, "labels.csv"))
    dup = set(info["held_out_near_dup_files"])
    all_ = ([os.path.join(train_brain.TEST_DIR, r["file"]) for r in rows],
            [r["label"] for r in rows])
    nd = [r for r in rows if r["file"] not in dup]
    nodup = ([os.path.join(train_brain.TEST_DIR, r["file"]) for r in nd],
             [r["label"] for r in nd])
    sets = {"held_out": all_, "held_out_no_near_dup": nodup}
    # the held-out slices with a mirrored copy in training, found by
    # tools/match_train_masks.py (its --out folder; skipped when absent)
    shared = os.path.join(os.environ.get("SALIENT_BRAIN_MASKS", "/work/salient-train/brain_train_masks"),
                          "train_test_shared_figshare.csv")
    if os.path.exists(shared):
        mirrored = {t for r in tc.read_csv(shared) for t in r["test_images"].split(";") if t}
        flagged = {os.path.basename(f) for f in dup}
        for key, keep in (("held_out_no_mirrored_copy", lambda b: b not in mirrored),
                          ("held_out_no_copy_of_either_kind",
                           lambda b: b not in mirrored and b not in flagged)):
            sel = [r for r in rows if keep(os.path.basename(r["file"]))]
            sets[key] = ([os.path.join(train_brain.TEST_DIR, r["file"]) for r in sel],
                         [r["label"] for r in sel])
    return sets


def cxr_sets():
    info = json.load(open(os.path.join(tc.OUT_DIR, "cxr_densenet121.json")))
    lab = {r["path"]: r["label"] for r in tc.read_csv(os.path.join(train_cxr.TRAIN_DIR,
                                                                   "labels.csv"))}
    ho = info["held_out_files"]
    ex = tc.read_csv(os.path.join(train_cxr.EXTRA_DIR, "labels.csv"))
    return {"held_out": ([os.path.join(train_cxr.TRAIN_DIR, p) for p in ho],
                         [lab[p] for p in ho]),
            "cxr_pneumonia": ([os.path.join(train_cxr.EXTRA_DIR, r["path"]) for r in ex],
                              [r["label"].lower() for r in ex])}


def main():
    tc.seed_everything(0)
    which = sys.argv[1:] or ["brain", "cxr"]
    if "brain" in which:
        os_ = json.load(open(os.path.join(tc.OUT_DIR, "brain_resnet18.json"))).get("output_stride", 32)
        export("brain_resnet18", "resnet18", lambda: train_brain.make_model(os_),
               train_brain.CLASSES,
               brain_sets())
    if "cxr" in which:
        export("cxr_densenet121", "densenet121", train_cxr.make_model, train_cxr.CLASSES,
               cxr_sets())


if __name__ == "__main__":
    main()
