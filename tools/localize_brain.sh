#!/bin/sh
# localize_brain.sh - where the shipped brain model's maps look, measured.
#
#   tools/localize_brain.sh [OUTDIR]        (default results/localization-brain)
#   MODEL=cand.safetensors ONLY=fast tools/localize_brain.sh OUT   another model; the cheap methods only
#   MAP_CACHE=results/study/.maps/brain tools/localize_brain.sh    keep the maps in (or take them from)
#                                           the brain study's map cache, so neither computes a map twice
#
# Runs `salient evaluate` with Grad-CAM, Grad-CAM++, Score-CAM, XRAI, IG and
# random, at their defaults, on the 248 held-out tumour slices of
# brain-tumor-mri that have a tumour mask (brain-tumor-masks/kaggle_test_map.csv,
# confident matches only). Per image and method: the pointing game and the
# energy inside the tumour mask, the share of the map's mass outside the head
# (outside_mass); no PIC or insertion/deletion (--no-pic --no-insdel).
# Needs the data folder next to the repository (../shared/data); resumable:
# run it again after an interruption and it continues where it stopped.
# Grad-CAM, Grad-CAM++ and random run on every slice first, then IG (OUT),
# then Score-CAM and XRAI in shards (OUT/slow/shard-I, merged into
# OUT/slow/merged). tools/write_model_cards.py --localization reads OUT and
# OUT/slow/merged.
set -e
cd "$(dirname "$0")/.."
DATA=${SALIENT_DATA:-../shared/data}
OUT=${1:-results/localization-brain}
MODEL=${MODEL:-weights/brain_resnet18.safetensors}
SET=${TMPDIR:-/tmp}/salient-localize-brain
CHEAP=gradcam,gradcampp,random     # one pass per image
FAST=$CHEAP,ig                      # IG: 25 passes per image
SLOW=scorecam,xrai                  # 513 forwards and 200 gradient passes per image
[ -f "$DATA/brain-tumor-masks/kaggle_test_map.csv" ] || { echo "localize_brain: $DATA/brain-tumor-masks is missing"; exit 1; }
rm -rf "$SET"
mkdir -p "$SET"
# kaggle_image,figshare_index,flip_lr,match_corr,second_best_corr,confident,mask
tail -n +2 "$DATA/brain-tumor-masks/kaggle_test_map.csv" | tr -d '\r' | while IFS=, read -r img _ _ _ _ conf mask; do
  [ "$conf" = 1 ] && [ -n "$mask" ] || continue
  cls=$(basename "$(dirname "$img")")
  stem=$(basename "$img" .jpg)
  mkdir -p "$SET/$cls"
  ln -s "$(realpath "$DATA/$img")" "$SET/$cls/$stem.jpg"
  ln -s "$(realpath "$DATA/brain-tumor-masks/$mask")" "$SET/$cls/$stem.mask.png"
done
broken=$(find "$SET" -xtype l | wc -l)
[ "$broken" -eq 0 ] || { echo "localize_brain: $broken images or masks not found under $DATA"; exit 1; }
printf 'glioma\nmeningioma\nnotumor\npituitary\n' >"$SET/labels.txt"
echo "localize_brain: $(find "$SET" -name '*.jpg' | wc -l) slices with masks"
# the cheap methods first, so their results exist early; then IG (into OUT)
cache=""
[ -n "${MAP_CACHE:-}" ] && cache="--map-cache $MAP_CACHE"
for methods in $CHEAP $FAST; do
  resume=""
  [ -f "$OUT/results.csv" ] && resume=--resume
  ./salient evaluate -m "$MODEL" -d "$SET" --labels "$SET/labels.txt" \
    -M "$methods" --no-insdel --no-pic $resume $cache -o "$OUT"
done
[ "${ONLY:-}" = fast ] && exit 0
# Score-CAM and XRAI: SHARDS shards (shard I takes every SHARDS-th slice from
# the I-th, so every shard samples every class and the shards done so far are
# a fair sample), LANES of them at a time with one engine thread each, into
# OUT/slow/shard-I; then the shards that have results are merged into
# OUT/slow/merged (the results do not depend on the thread count).
SHARDS=${SHARDS:-8}
LANES=${LANES:-2}
slow_shard() {
  dir="$OUT/slow/shard-$1"
  resume=""
  [ -f "$dir/results.csv" ] && resume=--resume
  ./salient evaluate -m "$MODEL" -d "$SET" --labels "$SET/labels.txt" -M "$SLOW" --no-insdel --no-pic \
    --shard "$1/$SHARDS" --threads 1 $resume $cache -o "$dir" >"$OUT/slow/shard-$1.log" 2>&1
}
mkdir -p "$OUT/slow"
i=0
while [ "$i" -lt "$SHARDS" ]; do
  pids=""
  j=0
  while [ "$j" -lt "$LANES" ] && [ "$i" -lt "$SHARDS" ]; do
    slow_shard "$i" &
    pids="$pids $!"
    i=$((i + 1)); j=$((j + 1))
  done
  for p in $pids; do wait "$p"; done
done
# shard-*[0-9]: the shards' folders, not their logs (shard-I.log)
./salient merge "$OUT"/slow/shard-*[0-9] -o "$OUT/slow/merged"
