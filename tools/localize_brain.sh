#!/bin/sh
# localize_brain.sh - where the shipped brain model's maps look, measured.
#
#   tools/localize_brain.sh [OUTDIR]        (default results/localization-brain)
#   MODEL=cand.safetensors ONLY=fast tools/localize_brain.sh OUT   another model; the cheap methods only
#
# Runs `salient evaluate` with Grad-CAM, Grad-CAM++, Score-CAM, XRAI, IG and
# random, at their defaults, on the 248 held-out tumour slices of
# brain-tumor-mri that have a tumour mask (brain-tumor-masks/kaggle_test_map.csv,
# confident matches only). Per image and method: the pointing game and the
# energy inside the tumour mask, the share of the map's mass outside the head
# (outside_mass); no PIC or insertion/deletion (--no-pic --no-insdel).
# Needs the data folder next to the repository (../shared/data); resumable:
# run it again after an interruption and it continues where it stopped.
# Grad-CAM, Grad-CAM++ and random run on every slice first, then IG, then
# Score-CAM and XRAI.
set -e
cd "$(dirname "$0")/.."
DATA=${SALIENT_DATA:-../shared/data}
OUT=${1:-results/localization-brain}
MODEL=${MODEL:-weights/brain_resnet18.safetensors}
SET=${TMPDIR:-/tmp}/salient-localize-brain
CHEAP=gradcam,gradcampp,random     # one pass per image
FAST=$CHEAP,ig                      # IG: 25 passes per image
SLOW=scorecam,xrai                  # 513 and 200 passes per image
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
# the cheap methods first, so their results exist early; then IG; then all six
ALL="$CHEAP $FAST $FAST,$SLOW"
[ "${ONLY:-}" = fast ] && ALL="$CHEAP $FAST"
for methods in $ALL; do
  resume=""
  [ -f "$OUT/results.csv" ] && resume=--resume
  ./salient evaluate -m "$MODEL" -d "$SET" --labels "$SET/labels.txt" \
    -M "$methods" --no-insdel --no-pic $resume -o "$OUT"
done
