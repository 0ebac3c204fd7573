#!/bin/sh
# make demo: the main job on the embedded default - the two shipped models
# (weights/) on the bundled scans (tests/data/samples/):
#   1. predictions for every sample image,
#   2. `explain -M all` for one image of each class of both models (heatmap grids),
#   3. `evaluate` with the eight methods the seed paper scored on the bundled samples,
# writing demo/ and printing where to open it. Runs in minutes on two cores;
# the settings below that differ from the methods' defaults keep it so and are
# written into every output (explain.json, summary.json, manifest.json) and
# onto every figure.
set -e
cd "$(dirname "$0")/.."
S=./salient
OUT=${DEMO_OUT:-demo}
SAMPLES=tests/data/samples
# Settings that keep the demo within ~10 minutes on two cores (defaults in brackets):
# path methods with 10 steps [IG 25, Guided IG 200, Blur IG 100, XRAI 100];
# SmoothGrad 3 samples [25]; RISE 200 masks [4000]; occlusion stride 24 [1].
# They are recorded in every explain.json and summary.json and printed in the
# title band of every figure (grid.png, <method>.png, gallery). For real use run
# the commands without them.
EXPLAIN_OPTS=${EXPLAIN_OPTS:---steps 10 --samples 3 --masks 200 --stride 24}
# evaluate: the seed paper's eight methods, on PER_CLASS images of each class,
# insertion/deletion in 8 steps [RISE's 224 px default: 450 passes per map].
EVAL_METHODS=guidedig,ig,sg-ig,xrai,gradcam,gradcampp,scorecam,random
EVAL_OPTS=${EVAL_OPTS:---steps 10 --samples 3 --insdel-steps 8}
PER_CLASS=${PER_CLASS:-1}
PER_CLASS_CXR=${PER_CLASS_CXR:-1}   # DenseNet-121 costs ~3x ResNet-18 per pass
# explain stores its maps here and evaluate reads those it recomputes with the
# same settings, seed-free methods only (Score-CAM, XRAI, IG, Guided IG, the
# CAMs): the evaluated images are the explained ones. The costs evaluate
# reports stay those of the computation that made each map.
MAPS=$OUT/map-cache

step() { printf '\n== %s\n' "$*"; }
for m in brain_resnet18 cxr_densenet121; do
  [ -f weights/$m.safetensors ] || { echo "demo: weights/$m.safetensors is missing"; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)

# pick_examples PREDICTIONS DATA: the first correctly classified image of each
# class (in the order of DATA/labels.txt), then the first misclassified image.
# PREDICTIONS is `predict --topk 1` output: a path line, then "  k  label  p".
pick_examples() {
  awk -v labels="$2/labels.txt" '
    BEGIN { while ((getline l < labels) > 0) order[++n] = l }
    /^[^ ]/ { path = $0; next }
    { n_parts = split(path, part, "/"); truth = part[n_parts - 1]
      if ($2 == truth) { if (!(truth in right)) right[truth] = path }
      else if (wrong == "") wrong = path }
    END { for (i = 1; i <= n; i++) if (order[i] in right) printf "%s ", right[order[i]]
          if (wrong != "") printf "%s", wrong; print "" }' "$1"
}

run_model() { # name weights sample-folder
  name=$1; model=$2; data=$3
  step "$name: model"
  $S info -m "$model"
  step "$name: predictions for every bundled image"
  images=$(find "$data" -name '*.png' ! -name '*.mask.png' | sort)
  $S predict -m "$model" --json -o "$OUT/$name/predict" $images >/dev/null
  $S predict -m "$model" --topk 1 $images >"$OUT/$name/predict/predictions.txt"
  echo "  $OUT/$name/predict/predictions.json"
  step "$name: explain -M all, one correctly classified image per class and one misclassified"
  examples=$(pick_examples "$OUT/$name/predict/predictions.txt" "$data")
  $S explain -m "$model" -M all $EXPLAIN_OPTS --verbose --map-cache "$MAPS" -o "$OUT/$name/explain" $examples 2>"$OUT/$name/explain.log" | sed 's/^/  /'
  step "$name: evaluate $EVAL_METHODS"
  list="$OUT/$name/evaluate-list.csv"
  echo "path,label" >"$list"
  n=$PER_CLASS
  [ "$name" = cxr ] && n=$PER_CLASS_CXR
  for cls in $(cat "$data/labels.txt"); do
    find "$data/$cls" -name '*.png' ! -name '*.mask.png' | sort | head -n "$n" | while read -r f; do echo "$(pwd)/$f,$cls"; done >>"$list"
  done
  $S evaluate -m "$model" -d "$list" -M $EVAL_METHODS $EVAL_OPTS --map-cache "$MAPS" -o "$OUT/$name/evaluate" || true
}

run_model brain "weights/brain_resnet18.safetensors" "$SAMPLES/brain"
run_model cxr "weights/cxr_densenet121.safetensors" "$SAMPLES/cxr"

end=$(date +%s)
step "done in $((end - start)) s"
echo "  heatmap grids:  $OUT/brain/explain/*/grid.png  $OUT/cxr/explain/*/grid.png"
echo "  reports:        $OUT/brain/evaluate/report.html  $OUT/cxr/evaluate/report.html"
echo "  open one with:  xdg-open $OUT/brain/evaluate/report.html"
