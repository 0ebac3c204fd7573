#!/bin/sh
# make demo: the main job on the embedded default - the two shipped models
# (weights/) on the bundled scans (tests/data/samples/):
#   1. predictions for every sample image,
#   2. `explain -M all` (heatmap grids) for one correctly classified image of each
#      class of both models and the first misclassified image,
#   3. `evaluate` with the eight methods the seed paper scored, on the correctly
#      classified examples,
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
# SmoothGrad 3 samples [25]; RISE 100 masks [4000]; occlusion by 32x32 tiles
# that do not overlap, 49 passes at 224 px [a 15x15 window at stride 1].
# They are recorded in every explain.json and summary.json and printed in the
# title band of every figure (grid.png, <method>.png, gallery). For real use run
# the commands without them.
EXPLAIN_OPTS=${EXPLAIN_OPTS:---steps 10 --samples 3 --masks 100 --occ-window 32 --stride 32}
# evaluate: the seed paper's eight methods on the correctly classified
# examples, PIC only [insertion/deletion: RISE's 224 px default, 450 passes per map].
EVAL_METHODS=guidedig,ig,sg-ig,xrai,gradcam,gradcampp,scorecam,random
EVAL_OPTS=${EVAL_OPTS:---steps 10 --samples 3 --no-insdel}
# The two models run side by side, one engine thread each (the results do not
# depend on the thread count).
LANE_THREADS=${LANE_THREADS:-1}
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

# pick_examples PREDICTIONS DATA [right]: the first correctly classified image
# of each class (in the order of DATA/labels.txt), then the first
# misclassified image; with "right", the correctly classified ones only.
# PREDICTIONS is `predict --topk 1` output: a path line, then "  k  label  p".
pick_examples() {
  awk -v labels="$2/labels.txt" -v only="${3:-}" '
    BEGIN { while ((getline l < labels) > 0) order[++n] = l }
    /^[^ ]/ { path = $0; next }
    { n_parts = split(path, part, "/"); truth = part[n_parts - 1]
      if ($2 == truth) { if (!(truth in right)) right[truth] = path }
      else if (wrong == "") wrong = path }
    END { for (i = 1; i <= n; i++) if (order[i] in right) printf "%s ", right[order[i]]
          if (wrong != "" && only != "right") printf "%s", wrong; print "" }' "$1"
}

# predict_and_explain NAME WEIGHTS: predictions for every bundled image
# (SAMPLES/NAME), then explain -M all for the examples pick_examples chooses; their
# paths go to OUT/NAME/examples.txt.
predict_and_explain() {
  name=$1; model=$2; data=$SAMPLES/$1
  step "$name: model"
  $S info -m "$model"
  step "$name: predictions for every bundled image"
  images=$(find "$data" -name '*.png' ! -name '*.mask.png' | sort)
  $S predict -m "$model" --threads "$LANE_THREADS" --json -o "$OUT/$name/predict" $images >/dev/null
  $S predict -m "$model" --threads "$LANE_THREADS" --topk 1 $images >"$OUT/$name/predict/predictions.txt"
  echo "  $OUT/$name/predict/predictions.json"
  step "$name: explain -M all, one correctly classified image per class and one misclassified"
  pick_examples "$OUT/$name/predict/predictions.txt" "$data" >"$OUT/$name/examples.txt"
  $S explain -m "$model" -M all $EXPLAIN_OPTS --threads "$LANE_THREADS" --verbose --map-cache "$MAPS" \
    -o "$OUT/$name/explain" $(cat "$OUT/$name/examples.txt") 2>"$OUT/$name/explain.log" | sed 's/^/  /'
}

# evaluate_examples NAME WEIGHTS: the paper's eight methods on the explained
# images that are correctly classified (their labels are their folders' names).
evaluate_examples() {
  name=$1; model=$2
  step "$name: evaluate $EVAL_METHODS on the correctly classified examples"
  list="$OUT/$name/evaluate-list.csv"
  echo "path,label" >"$list"
  for f in $(pick_examples "$OUT/$name/predict/predictions.txt" "$SAMPLES/$name" right); do
    echo "$(pwd)/$f,$(basename "$(dirname "$f")")" >>"$list"
  done
  $S evaluate -m "$model" -d "$list" -M $EVAL_METHODS $EVAL_OPTS --threads "$LANE_THREADS" --map-cache "$MAPS" \
    -o "$OUT/$name/evaluate" || true
}

# lane NAME WEIGHTS: one model's whole demo, on the samples in SAMPLES/NAME.
lane() {
  predict_and_explain "$1" "$2"
  evaluate_examples "$1" "$2"
}

# Both lanes run in the background, each into its log; the logs are printed
# in order once both are done, and a lane that failed fails the demo.
echo "demo: the two models side by side, one engine thread each, about 9 minutes on two cores"
echo "  (progress: $OUT/brain.log, $OUT/cxr.log)"
lane brain weights/brain_resnet18.safetensors >"$OUT/brain.log" 2>&1 &
brain_pid=$!
lane cxr weights/cxr_densenet121.safetensors >"$OUT/cxr.log" 2>&1 &
cxr_pid=$!
failed=""
wait $brain_pid || failed="$failed brain"
wait $cxr_pid || failed="$failed cxr"
cat "$OUT/brain.log" "$OUT/cxr.log"
[ -z "$failed" ] || { echo "demo: failed:$failed (see $OUT/brain.log, $OUT/cxr.log)"; exit 1; }

end=$(date +%s)
step "done in $((end - start)) s"
echo "  heatmap grids:  $OUT/brain/explain/*/grid.png  $OUT/cxr/explain/*/grid.png"
echo "  reports:        $OUT/brain/evaluate/report.html  $OUT/cxr/evaluate/report.html"
echo "  open one with:  xdg-open $OUT/brain/evaluate/report.html"
