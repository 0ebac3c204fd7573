#!/usr/bin/python3
"""write_model_cards.py - weights/<name>.md from the training and export records.

Run after tools/train_brain.py, tools/train_cxr.py and tools/export_models.py:
    /usr/bin/python3 tools/write_model_cards.py
After tools/localize_brain.sh, only the card's localisation section:
    /usr/bin/python3 tools/write_model_cards.py --localization brain_resnet18
After editing SHORTCUTS below, only the card's "Known shortcuts and limits":
    /usr/bin/python3 tools/write_model_cards.py --shortcuts brain_resnet18
Reads /tmp/salient-models/<name>.json (training: recipe, split, history, held-out
metrics in float32) and <name>_f16.json (export: SHA-256, held-out metrics with the
shipped F16 weights) and writes the model card next to the weights. Every number in
a card comes from those two files.
"""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_common as tc  # noqa: E402
from readme_block import replace_block  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DATA = {
    "brain_resnet18": """- Training: `brain-tumor-mri-train` (Kaggle "Brain Tumor MRI Dataset" by Masoud Nickparvar,
  Training split, 5,708 slices at 224x224 JPEG; licence CC0 1.0 Public Domain).
  The 949 images flagged `near_dup_of_test` in `test_overlap.csv` (same-slice twins or
  adjacent slices of held-out images) were left out before the train/validation split, and
  so were 153 more that are left-right mirrored copies of held-out slices
  (`tools/match_train_masks.py`; the validation split keeps the copies of one figshare
  slice together).
- Held out: `brain-tumor-mri` (the same dataset's Testing split, 400 slices, 100 per class,
  original sizes 150x198 to 722x690; CC0 1.0). Never seen in training.
- The Kaggle set merges older sets: the figshare "brain tumor dataset" of Jun Cheng et al.
  (the 512x512 T1-CE glioma/meningioma/pituitary slices, **CC BY 4.0**), the SARTAJ Kaggle
  set and Br35H (the source of most `notumor` images).
- Credit: Masoud Nickparvar, Brain Tumor MRI Dataset, Kaggle (CC0); Cheng J. et al.,
  "Enhanced Performance of Brain Tumor Classification via Tumor Region Augmentation and
  Partition", PLoS ONE 10(10): e0140870 (2015), figshare data CC BY 4.0.""",
    "cxr_densenet121": """- Training and held-out: `cxr-train` (Kermany, Zhang & Goldbaum, "Labeled Optical Coherence
  Tomography (OCT) and Chest X-Ray Images for Classification", Mendeley Data v2,
  doi:10.17632/rscbjbr9sj.2; licence CC BY 4.0), split by `patient_id_fine` into a training
  part and a patient-disjoint held-out part (split by `patient_id`, which is coarser than
  `patient_id_fine`, so the parts are disjoint in both columns).
- Also reported: `cxr-pneumonia` (63 X-rays from the same source, CC BY 4.0).
- Attribution (CC BY 4.0): Daniel Kermany, Kang Zhang, Michael Goldbaum (2018), Mendeley
  Data, v2. The images were resized; no other change.""",
}

SHORTCUTS = {
    "brain_resnet18": """- **What was tried, and what each attempt measured** (held-out 400 / twin-free 285):
  1. 128 px, 3 epochs, no intensity augmentation: validation 0.90, held-out **0.37**, mostly
     `notumor`. The dataset's brightness shortcut: at 128 px the tumour slices of the
     training split are darker than those of the Testing split (mean gray, training vs
     Testing: glioma 0.13 vs 0.21, meningioma 0.16 vs 0.28, pituitary 0.19 vs 0.29, notumor
     0.25 vs 0.30), and training `notumor` is the brightest class.
  2. 128 px, 8 epochs, per-image intensity augmentation (x -> clamp(c x^g, 0, 1), c in
     [0.6, 1.7], g in [0.7, 1.4]), rotation 10 deg, shift 6%: held-out **0.81** / 0.82;
     x0.7 0.81, x1.3 0.78. Its maps looked at the image's border: on the 248 masked
     tumour slices Grad-CAM's maximum fell inside the tumour in 1 slice (pointing game
     0.004, mask energy 0.017, the same as a uniform random map), and 35% of Grad-CAM's
     mass lay outside the head (an earlier head mask; Grad-CAM++ 34%, random 39%); all nine CAM methods put
     their hottest region in the lower-right corner of a glioma slice, outside the skull.
  3. 224 px (12 epochs at 160 px, then 6 at 224 px: progressive resizing, so the last
     epochs and the BatchNorm statistics are those of the shipped size), the same intensity
     augmentation, stronger geometry (rotation 15 deg, scale 0.85-1.15, shift 10%) and
     border erasing (half of the images lose a random black band of up to 8% on each side,
     so frames and scanner borders stop being cues): held-out **0.885** / 0.926. Shipped
     until attempt 6. Its maps lay on the brain rather than on the border, but did not
     find the tumour: Grad-CAM's pointing game 0.081, and 20.5% of its mass outside the head.
     Its training data held mirrored copies of held-out slices (below): on the 248 held-out
     slices without one it scored 0.839, on the 137 with no copy of either kind 0.891.
  4. The tumour-mask augmentation of `tools/train_brain.py --masks` (from scratch, 8 epochs
     at 160 px then 6 at 224 px; for a quarter of the 3,345 training images with a matched
     figshare tumour outline the tumour is erased, filled with the blurred tissue around it,
     and the target made uniform; for another quarter the image is zoomed around the
     tumour), with the 153 mirrored copies of held-out slices left out and the validation
     split grouped by figshare slice. Validation 0.921, but held-out **0.765** (gliomas called
     `notumor`: 25 of 100; non-enhancing gliomas look like the smooth erased fill), and
     Grad-CAM's pointing game rose only to 0.125 [0.085, 0.169] with 23% of the mass outside
     the head. Training time 5,430 s. Not shipped.
  5. Attempt 4's weights fine-tuned for 6 epochs at 224 px (peak learning rate 5e-4)
     without the erasing (the zoom around the tumour kept, p = 0.25) and with
     `--outside-penalty 1`: the loss adds the share of the true class's CAM mass (the fc
     weights of the class times the last block's output, which is Grad-CAM up to a constant
     for this network) that lies outside the head, the head found in each training image as
     `evaluate`'s outside-mass metric finds it and warped with the image by the
     augmentation. That share fell from 0.25 to 0.007 within two epochs. Validation 0.944,
     held-out 0.843 / 0.849, 0.810 on the 248 slices without a mirrored copy; Grad-CAM
     pointing game 0.125, mask energy 0.079, 0.3% of its mass outside the head.
  6. Attempt 5 trained 6 more epochs at 224 px (peak learning rate 3e-4, the same recipe).
     Validation 0.942 (attempt 5: 0.944, one image apart). The two were tied on
     validation; both were then measured on the held-out set and attempt 6 was shipped, so
     the held-out set took part in that choice. Held-out 0.860 / 0.870, 0.831 on the 248
     slices without a mirrored copy in training, 0.832 on the 137 without a copy of either
     kind. Grad-CAM: pointing game 0.105, mask energy 0.078, 0.2% of its mass outside the
     head; Grad-CAM++ 9.8%, Score-CAM 13.9%, XRAI 11.4%. Training time 1,953 s (attempt 5)
     and 1,824 s (attempt 6). Its held-out errors pointed at sharpness: blurring its
     held-out inputs (Gaussian, sigma 0.8 px at 224 px) raised its accuracy to 0.873 and
     meningioma recall from 76 to 84 of 100, while an unsharp mask (x + (x - blur)) dropped
     it to 0.735 (meningioma 48 of 100). The held-out originals are downsampled from their
     own sizes (150 to 722 px) and many come from other sources than the training copies,
     which a third party resized to 224 px: their sharpness differs, and the network had
     learnt it as a cue.
  7. Attempt 6 trained 6 more epochs at 224 px with the same recipe plus
     a per-image sharpness augmentation (`--sharpness 1`: x + s (x - blur(x)), s uniform
     in [-1, 1], blur a Gaussian of sigma 1 px; s = -1 is the blur, s > 0 an unsharp mask);
     the recipe above shows this stage, initialised from attempt 6. Validation **0.957**
     (attempt 6: 0.942), so validation alone would have chosen it. Shipped until attempt 9.
     Held-out **0.890** / 0.912, **0.843** on the 248 slices without a mirrored copy in training, **0.854** on
     the 137 without a copy of either kind (no held-out slice has a copy in these weights'
     training data). Blurred / sharpened held-out inputs: 0.880 / 0.843. Grad-CAM: pointing
     game 0.137, mask energy 0.082, **0.1% of its mass outside the head** (the bar is 10%);
     Grad-CAM++ 0.149 and 9.2%; IG 0.427. Training time 4,531 s (on 2 cores shared with
     another job for the first 4 epochs: 870-980 s per epoch, 287 s alone); the whole line
     from scratch (attempts 4 to 7) 13,117 s.
  8. Attempt 7's weights rebuilt with output stride 16 (layer4 without stride: a 14x14 CAM grid,
     the same parameters; `--output-stride 16`) and trained 4 more epochs at 224 px
     (peak learning rate 3e-4, the recipe of attempt 7) with a second penalty,
     `--tumour-penalty 1`: the share of the true class's positive CAM mass that lies
     outside the figshare tumour mask, on the 3,345 training images that have one. Before
     any held-out number was seen, the rule was to ship it if validation reached 0.95;
     it reached **0.961** (epoch 3: 0.955), and the penalty fell from 0.62 to 0.008. Held-out
     **0.865** / 0.881, 0.815 on the 248 slices without a mirrored copy. Not shipped: the
     network had lowered the penalty by making the CAM negative everywhere (a share of
     nothing is 0), so the logits came from the biases and the least negative CAM, and
     Grad-CAM's map was empty on 17 of the first 19 held-out tumour slices measured. The
     penalty was rewritten so that this costs the most: 1 - (positive CAM mass inside the
     mask) / (absolute CAM mass). Training time 3,422 s.
  9. Attempt 8's recipe with the rewritten penalty, from attempt 7's
     weights, 3 epochs at 224 px. Shipped until attempt 10. The rule, written
     before any held-out number: ship if validation reaches 0.95 and no more than 1% of the
     last epoch's training images have an empty true-class CAM. Validation **0.959**, empty
     CAMs 0.0% (the penalty fell from 0.84 to 0.61 over the epochs). Held-out **0.868** /
     0.884 (attempt 7: 0.890 / 0.912), 0.815 on the 248 slices without a mirrored copy,
     0.810 on the 137 without a copy of either kind. Grad-CAM: pointing game **0.657**
     (attempt 7: 0.137), mask energy **0.301** (0.082), 0.3% of its mass outside the head;
     Grad-CAM++ 0.645 and 4.4%. The maps now find the tumour; the held-out accuracy fell
     by 0.022. Training time 2,986 s.
  10. **These weights**: attempt 9's weights trained 4 more epochs at 224 px with its
     recipe and two changes; the recipe above shows this stage. (a) The per-image
     intensity scale (`--intensity-percentile 95`): every input, in training and at
     inference, is divided by the 95th percentile of its own gray levels and clamped to
     [0,1] (metadata `intensity_percentile=95`, which salient applies), so a gain such as
     the held-out copies' x1.38 (below) cancels before the network sees it. (b)
     `--repeat-other 4`: the 106 training tumour images that do not come from figshare
     appear 4 times per epoch, each time augmented differently. The rule, written before
     any held-out number: ship if validation reaches 0.95 and no more than 1% of the last
     epoch's training images have an empty true-class CAM. Validation **0.961** (epoch 3:
     0.964), empty CAMs 0.0%. Held-out **0.9125** / 0.919 (attempt 9: 0.868 / 0.884),
     0.879 on the 248 slices without a mirrored copy (0.815), 0.869 on the 137 without a
     copy of either kind (0.810). Dimming (x0.7) or brightening (x1.3) every input leaves
     the accuracy at 0.9125 (attempt 9: +0.030 and -0.020). Grad-CAM: pointing game
     **0.746** (0.657), mask energy 0.446 (0.301), 0.14% of its mass outside the head.
     Training time 1,412 s (328-404 s per epoch, alone on two cores). Both changes came
     from studying the held-out set (its brightness against the training copies, its
     errors by source), so this held-out accuracy is not a clean estimate of what the
     recipe does on new data: a test set that guided the recipe flatters it.
- **Why the CAM methods' pointing game stayed far below 0.7 with torchvision's ResNet-18.**
  Its CAM layer at 224 px is a 7x7 grid; the map is resized to 224x224 with bilinear
  interpolation, whose maximum lies at a grid node, so the map's maximum is one of the few
  pixels next to the 49 nodes. On the 248 masked held-out slices only 157 tumours cover any
  of those pixels (`tools/cam_pointing_ceiling.py`; the median tumour covers 1.2% of the
  image): **no CAM map of this network can score above 0.633** (glioma 0.845, meningioma
  0.644, pituitary 0.402), whatever the training. A 14x14 grid (448 px inputs, or a last stage
  without stride, which salient runs as `resnet18-os16`) raises that ceiling to 0.940; these
  weights have it (attempts 8-10), and their Grad-CAM reaches 0.746, 79% of that ceiling.
- **Leakage found in the earlier weights' training data.** `tools/match_train_masks.py`
  matched every training image to its figshare slice, mirrored or not, and found that
  **152 of the 400 held-out slices have a left-right mirrored copy of the same slice in
  the training split**; `test_overlap.csv` compares unmirrored thumbnails only, so the
  split of attempts 1-3 kept them. Attempts 4-7 leave these 153 training images out, and
  the held-out results above list the subsets with and without a mirrored copy.
- The accuracy target this project set (0.95 on all 400 and on the twin-free slices) is
  not reached (0.9125 and 0.919): gliomas called meningioma (11 of 100) and meningiomas
  called `notumor` (8 of 100) are the main errors. By source (`tools/brain_error_sources.py`,
  `results/brain-error-sources.json`; figshare = confidently matched to a figshare slice):

{error_sources}

  Two groups hold 26 of the 35 errors. The figshare gliomas (0.814; attempt 9: 0.763) are
  the larger, with 1,264 training slices of their kind; most of their errors are calls of
  meningioma. All 8 meningiomas called `notumor` are among the 41 held-out meningiomas
  that do not come from figshare (other sizes and contrast; attempt 9: 16): the
  near-duplicate rule left out 110 of the 160 training meningiomas of that kind (adjacent
  slices of the same scans), so 50 remain to learn them from. On the other 262 held-out
  images the accuracy is 0.966. The errors do not come from how the held-out originals
  look beside the training copies: re-made as the copies were made (224 px by an
  antialiased bicubic resize, then JPEG at quality 75, the training files' own
  quantisation tables; column "as a training copy", `--as-training-copy`), the held-out
  images score 0.910 in all, and the figshare gliomas 0.804. Training on the figshare
  originals instead of the copies would therefore not be expected to close the gap.
- Brightness probe: x0.7 and x1.3 leave the held-out accuracy at 0.9125 (the bar is a change
  of 0.02): the per-image intensity scale divides a gain out, up to the pixels that x1.3
  pushes past 1 and the clamp cuts (attempt 9, without the scale: +0.030 and -0.020).
- **The two splits' copies of the same figshare slices differ in brightness**
  (`tools/brain_split_intensity.py`, `results/brain-split-intensity.json`): each matched
  copy compared with its own figshare slice (RCS-YOLO's 8-bit JPEG, in the copy's
  orientation, both at 224 px) by a least-squares line copy = gain x slice + offset:

{split_intensity}

  The training copies have the figshare JPEGs' gray levels; the held-out (Testing) copies
  are those gray levels times about 1.38. The median of the images' mean gray at 224 px,
  by class and source:

{mean_gray}

  The held-out tumour slices of other sources are brighter too, while the `notumor`
  slices differ less. In training, `notumor` is the brightest class; held out, the
  tumour slices reach its brightness, and attempt 9's errors went that way (31 of its
  53 were tumours called `notumor`). Dimming every held-out input by x0.7, about the
  inverse of that gain, raised attempt 9's accuracy by 0.030: the contrast augmentation
  (x c, c in [0.6, 1.7]) had not made the network indifferent to it. These weights divide
  each image by the 95th percentile of its own gray levels, in training and at inference,
  which removes the gain before the network sees it: 12 of their 35 errors are tumours
  called `notumor`.
- The classes come from different sources (sizes, borders, contrast); the training copies
  are 224x224 JPEGs re-encoded by a third party while the held-out files are originals:
  look at where the maps point before trusting a prediction.
- How the training copies were resized (`tools/brain_resize_fit.py`): 288 of the 300
  figshare 512-px originals in `brain-tumor-masks` were matched to their training copies,
  resized to 224 px by several methods and fitted to the copy's gray levels. Residual RMS
  (median, gray levels of 255): antialiased bicubic 3.02, Lanczos 3.15, antialiased
  bilinear (salient's resize) 3.29, bilinear without antialiasing 3.33, area 3.69,
  nearest 9.36. The copies were made by an ordinary antialiased resize, then JPEG
  re-encoding, which alone leaves about 3 gray levels: salient's resize differs from the
  best fit by 0.3, so the resize method does not explain why the held-out originals look
  sharper to the network than the training copies.
- Training decoded every image to gray: in the training split the JPEG colour mode follows
  the class, another shortcut.""",
    "cxr_densenet121": """- Pneumonia is 3 times as frequent as normal in the data: a model predicting `pneumonia`
  everywhere scores about 0.75 on the held-out split; compare the confusion matrix with that.
- The Kermany images come from one centre (pediatric, Guangzhou); part of `cxr-train` are
  copies the source squashed to 224x224; see the data README for these traps.
- Trained from scratch on two CPU cores (7 epochs: 5 at 144 px, then 2 at 224 px) on one
  centre's pediatric images: a demonstration model, not a clinical one.""",
}


def table(cm, classes):
    head = "| true \\ predicted | " + " | ".join(classes) + " |\n|---|" + "---|" * len(classes) + "\n"
    return head + "".join("| %s | %s |\n" % (c, " | ".join(str(v) for v in row)) for c, row in zip(classes, cm))


LOCALIZATION = {"brain_resnet18": os.path.join(ROOT, "results", "localization-brain", "summary.json")}
LOC_METHODS = ["gradcam", "gradcampp", "scorecam", "xrai", "ig", "random"]
LOC_METRICS = [("pointing", "pointing game"), ("energy", "mask energy"),
               ("outside", "mass outside the head")]


def fmt_stat(st):
    if not st or st.get("n", 0) == 0 or st.get("mean") is None:
        return "-"
    lo, hi = st["ci95"]
    return "%.3f [%.3f, %.3f]" % (st["mean"], lo, hi)


def localization_summaries(name):
    """method -> (its summary entry, results folder): tools/localize_brain.sh's
    OUT (the one-pass methods and IG) and OUT/slow/merged (Score-CAM, XRAI)."""
    path = LOCALIZATION.get(name)
    meth = {}
    for p in (path, path and os.path.join(os.path.dirname(path), "slow", "merged", "summary.json")):
        if p and os.path.exists(p):
            for m, st in json.load(open(p))["methods"].items():
                meth.setdefault(m, (st, os.path.relpath(os.path.dirname(p), ROOT)))
    return meth


ERROR_SOURCES = os.path.join(ROOT, "results", "brain-error-sources.json")
SPLIT_INTENSITY = os.path.join(ROOT, "results", "brain-split-intensity.json")


def error_sources_table():
    """The held-out accuracy by class and source, as tools/brain_error_sources.py
    wrote it to results/brain-error-sources.json (Markdown, indented for a list item)."""
    rows = json.load(open(ERROR_SOURCES))["rows"]
    def acc(v):
        return "%.3f" % v if v is not None else "-"
    out = ["  | class | source | held-out | accuracy | errors as | as a training copy "
           "| training kept | left out as near-dup |",
           "  |---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("  | %s | %s | %d | %s | %s | %s | %d | %d |" % (
            r["class"], r["source"], r["held_out"], acc(r["accuracy"]),
            ", ".join("%s %d" % kv for kv in r["errors_as"].items()) or "-",
            acc(r["accuracy_as_training_copy"]),
            r["train_kept"], r["train_excluded_near_dup"]))
    return "\n".join(out)


def split_intensity_table():
    """The gain of each split's copies over their figshare slices, as
    tools/brain_split_intensity.py wrote it to results/brain-split-intensity.json."""
    rows = json.load(open(SPLIT_INTENSITY))["rows"]
    out = ["  | split | class | copies compared | gain: median [10th, 90th percentile] | offset: median |",
           "  |---|---|---|---|---|"]
    for r in rows:
        out.append("  | %s | %s | %d | %.3f [%.3f, %.3f] | %.3f |" % (
            "held out (Testing)" if r["split"] == "testing" else "training", r["class"], r["n"],
            r["gain_median"], r["gain_p10"], r["gain_p90"], r["offset_median"]))
    return "\n".join(out)


def mean_gray_table():
    """Median mean gray per split, class and source (all images of both splits,
    the near-duplicates of held-out images left out), from the same file."""
    g = {(r["split"], r["class"], r["source"]): r for r in json.load(open(SPLIT_INTENSITY))["mean_gray"]}
    out = ["  | class | source | held out: n | mean gray | training: n | mean gray |",
           "  |---|---|---|---|---|---|"]
    for cls, src in sorted({k[1:] for k in g}):
        te, tr = g.get(("testing", cls, src)), g.get(("training", cls, src))
        out.append("  | %s | %s | %s | %s | %s | %s |" % (
            cls, src, te["n"] if te else 0, "%.3f" % te["mean_gray_median"] if te else "-",
            tr["n"] if tr else 0, "%.3f" % tr["mean_gray_median"] if tr else "-"))
    return "\n".join(out)


def shortcuts(name):
    """The card's "Known shortcuts and limits" text, its tables filled in."""
    text = SHORTCUTS[name]
    for key, table in (("{error_sources}", error_sources_table),
                       ("{split_intensity}", split_intensity_table),
                       ("{mean_gray}", mean_gray_table)):
        if key in text:
            text = text.replace(key, table())
    return text


def by_correctness(meth):
    """Lines: each method's pointing game on the slices the model classifies
    correctly and on those it gets wrong (results.csv of each method's folder;
    a map explains the predicted class, so on a wrong prediction it shows the
    evidence for the wrong class)."""
    hits = {}
    for m in LOC_METHODS:
        if m not in meth:
            continue
        with open(os.path.join(ROOT, meth[m][1], "results.csv")) as f:
            for r in csv.DictReader(f):
                if r["method"] == m and r["pointing_hit"] != "":
                    hits.setdefault((m, r["label"] == r["predicted"]), []).append(float(r["pointing_hit"]))
    if not hits:
        return []
    out = ["", "Pointing game by whether the model classifies the slice correctly (the map explains "
           "the predicted class; on a wrong prediction that is the evidence for the wrong class):", "",
           "| method | correct: n | pointing game | wrong: n | pointing game |", "|---|---|---|---|---|"]
    for m in LOC_METHODS:
        ok, bad = hits.get((m, True), []), hits.get((m, False), [])
        if ok or bad:
            out.append("| %s | %d | %s | %d | %s |" % (
                m, len(ok), "%.3f" % (sum(ok) / len(ok)) if ok else "-",
                len(bad), "%.3f" % (sum(bad) / len(bad)) if bad else "-"))
    return out


def localization_coverage(meth):
    """(the largest n of slices measured, the methods measured on fewer)."""
    n = max(meth[m][0]["pointing"]["n"] for m in LOC_METHODS if m in meth)
    return n, [m for m in LOC_METHODS if m in meth and meth[m][0]["pointing"]["n"] < n]


def localization_table(meth, label, cell, indent=""):
    """Markdown table lines, a row per measured method: label(method), its n,
    and cell(statistic) for each of LOC_METRICS."""
    out = [indent + "| method | n | " + " | ".join(t for _, t in LOC_METRICS) + " |",
           indent + "|---|---|" + "---|" * len(LOC_METRICS)]
    for m in LOC_METHODS:
        if m in meth:
            st = meth[m][0]
            out.append(indent + "| %s | %d | " % (label(m), st["pointing"]["n"])
                       + " | ".join(cell(st.get(k)) for k, _ in LOC_METRICS) + " |")
    return out


def localization_section(name):
    """The localisation table from tools/localize_brain.sh's summary.json files."""
    meth = localization_summaries(name)
    if not meth:
        return []
    n, partial = localization_coverage(meth)
    dirs = sorted({meth[m][1] for m in LOC_METHODS if m in meth})
    out = ["## Where the maps look",
           "`tools/localize_brain.sh` (`salient evaluate`, every method at its defaults, the "
           "predicted class explained) on the %d held-out tumour slices that have a tumour mask. "
           "Pointing game: the map's maximum lies inside the tumour. Mask energy: the share of the "
           "map's positive mass inside the tumour. Mass outside the head: the share of the map's "
           "positive mass outside the head's silhouette (a smoothed intensity threshold of the image "
           "itself). Means with 95%% bootstrap intervals over the n slices measured; results in %s." % (
               n, " and ".join("`%s`" % d for d in dirs)), ""] + localization_table(meth, lambda m: m, fmt_stat)
    if partial:
        out += ["", "%s: measured on the slices of the shards of `tools/localize_brain.sh` done so far "
                "(shard I of N takes every N-th slice from the I-th, so each shard samples every "
                "class); the run resumes where it stopped." % ", ".join(partial)]
    out += by_correctness(meth)
    missing = [m for m in LOC_METHODS if m not in meth]
    if missing:
        out += ["", "Not yet measured: %s (the run is resumable: `tools/localize_brain.sh`)."
                % ", ".join(missing)]
    return out + [""]


def card(name):
    tr = json.load(open(os.path.join(tc.OUT_DIR, name + ".json")))
    ex = json.load(open(os.path.join(tc.OUT_DIR, name + "_f16.json")))
    classes = tr["classes"]
    lines = ["# %s\n" % name,
             "Torchvision `%s`, %d input channel, %d classes (%s), input %dx%d, trained from "
             "scratch on CPU; shipped as F16 safetensors (`weights/%s.safetensors`)." % (
                 tr["model"], tr["in_channels"], len(classes), ", ".join(classes),
                 tr["input_size"], tr["input_size"], name),
             "", "- SHA-256: `%s` (%d bytes)" % (ex["sha256"], ex["bytes"]),
             "- Architecture: %s" % tr["arch"] + (
                 "; layer4 without stride (`layer4.0.conv1` and `layer4.0.downsample.0` at stride "
                 "1, the same parameters): output stride 16, so the CAM layer is a %dx%d grid "
                 "(metadata `output_stride=16`; salient's arch `resnet18-os16`)" % (
                     tr["input_size"] // 16, tr["input_size"] // 16)
                 if tr.get("output_stride", 32) == 16 else ""),
             "- Preprocessing (salient applies it from the file's metadata): gray in [0,1] -> "
             "bilinear antialiased resize to %d x %d (torch `interpolate(antialias=True)`) -> %s"
             "(x - %g) / %g." % (
                 tr["input_size"], tr["input_size"],
                 ("divided by percentile %g of its own gray levels and clamped to [0,1] (metadata "
                  "`intensity_percentile=%g`) -> " % ((tr["recipe"]["intensity_percentile"],) * 2)
                  if tr["recipe"].get("intensity_percentile") else ""),
                 tr["mean"], tr["std"]),
             "", "## Data and licences", DATA[name], "",
             "The weights are released with salient under the Apache License 2.0 (`LICENSE`); the training "
             "data keep their own licences, above, and their authors' credit.", "",
             "## Split", "```", json.dumps(tr["split_sizes"]), "```", "",
             "## Recipe", "Script: `tools/%s`; seed %d; %d epoch(s); %.0f s of training on 2 CPU cores "
             "(the seconds of each epoch are in the history below)." % ("train_brain.py" if "brain" in name else "train_cxr.py",
                                           tr["seed"], tr["epochs"], tr["train_seconds"]),
             "```", json.dumps(tr["recipe"], indent=1), "```", "History:", "```"]
    lines += [json.dumps(h) for h in tr["history"]]
    lines += ["```", "", "## Held-out results (shipped F16 weights)"]
    for key, m in ex.items():
        if not isinstance(m, dict) or "confusion_matrix" not in m:
            continue
        lines += ["", "**%s** (n = %d): accuracy %.4f, balanced accuracy %.4f" % (
            key, m["n"], m["accuracy"], m["balanced_accuracy"]),
            "", "Brightness probe (the same inputs x0.7 and x1.3, clamped to [0,1], before the "
            "network): accuracy %.4f and %.4f." % (m["accuracy_if_intensity_x0.7"],
                                                  m["accuracy_if_intensity_x1.3"]) + (
            " Sharpness probe (blurred with a Gaussian of sigma 1 px at the input size, or "
            "sharpened by the unsharp mask x + (x - blur)): accuracy %.4f and %.4f." % (
                m["accuracy_if_blurred"], m["accuracy_if_sharpened"])
            if "accuracy_if_blurred" in m else ""),
            "", table(m["confusion_matrix"], m["classes"])]
    if "covid_cxr_mhh_called_pneumonia" in tr:
        lines += ["**covid-cxr-mhh** (n = %d COVID-19 X-rays of adults, a class the model never "
                  "saw): %.1f%% called pneumonia (float32 weights, before F16 rounding)." % (tr["covid_cxr_mhh_n"],
                                                      100 * tr["covid_cxr_mhh_called_pneumonia"]), ""]
    lines += localization_section(name)
    lines += ["## Known shortcuts and limits", shortcuts(name), ""]
    with open(os.path.join(ROOT, "weights", name + ".md"), "w") as f:
        f.write("\n".join(lines))
    print("wrote weights/%s.md" % name)


def update_localization(name):
    """Rewrite only the card's "Where the maps look" section, from the
    localisation results in the repository (the training records that the
    rest of the card comes from stay where training wrote them)."""
    path = os.path.join(ROOT, "weights", name + ".md")
    lines = open(path).read().split("\n")
    start = next((i for i, l in enumerate(lines) if l == "## Where the maps look"), None)
    end = next(i for i, l in enumerate(lines) if l == "## Known shortcuts and limits")
    head = lines[:start if start is not None else end]
    with open(path, "w") as f:
        f.write("\n".join(head + localization_section(name) + lines[end:]))
    print("wrote the localisation section of weights/%s.md" % name)


README = os.path.join(ROOT, "README.md")
README_LOC_BEGIN = "<!-- write_model_cards.py localization: begin -->"
README_LOC_END = "<!-- write_model_cards.py localization: end -->"
LOC_NAMES = {"gradcam": "Grad-CAM", "gradcampp": "Grad-CAM++", "scorecam": "Score-CAM",
             "xrai": "XRAI", "ig": "IG", "random": "random"}


def readme_localization(name):
    """The README's short localisation table (means only, indented for the
    model's list item) from the same summaries as the card's section."""
    meth = localization_summaries(name)
    if not meth:
        return []
    mean = lambda st: "%.3f" % st["mean"] if st and st.get("mean") is not None else "-"
    out = localization_table(meth, LOC_NAMES.get, mean, indent="  ")
    partial = localization_coverage(meth)[1]
    if partial:
        out += ["", "  %s are measured on the shards of the run done so far (n), each a fair "
                "sample of the classes; the run resumes where it stopped."
                % " and ".join(LOC_NAMES[m] for m in partial)]
    return out


def update_readme_localization(name):
    """Rewrite the README's table between its markers, so that the README and
    the card cannot disagree."""
    body = "\n".join([""] + readme_localization(name) + ["  "])
    if replace_block(README, README_LOC_BEGIN, README_LOC_END, body, required=False):
        print("wrote the localisation table of README.md")


def update_shortcuts(name):
    """Rewrite only the card's "Known shortcuts and limits" section (the
    last one) from SHORTCUTS."""
    path = os.path.join(ROOT, "weights", name + ".md")
    lines = open(path).read().split("\n")
    start = next(i for i, l in enumerate(lines) if l == "## Known shortcuts and limits")
    with open(path, "w") as f:
        f.write("\n".join(lines[:start] + ["## Known shortcuts and limits", shortcuts(name), ""]))
    print("wrote the shortcuts section of weights/%s.md" % name)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--localization"]:
        for n in args[1:] or ["brain_resnet18"]:
            update_localization(n)
        update_readme_localization("brain_resnet18")
    elif args[:1] == ["--shortcuts"]:
        for n in args[1:] or ["brain_resnet18"]:
            update_shortcuts(n)
    else:
        for n in args or ["brain_resnet18", "cxr_densenet121"]:
            card(n)
