#!/bin/sh
# study_pic_skips.sh - which images each variant of the study will score,
# known in minutes instead of hours.
#
#   tools/study_pic_skips.sh [OUT]      (default results/study-pic-skips; needs ../shared/data
#                                        or SALIENT_DATA)
#
# PIC's skip rules (prediction below min_pred; the fully blurred image holds
# no less information than the original; it keeps no less of the
# prediction) depend on the image, its seeded random mask and the model,
# never on the map. So the bundled protocol (eval/studies/paper.study) run
# with `random` alone, every image, no MPRT, skips exactly the images the
# full study skips: its rows are the full study's `random` rows (the same
# seed, masks and random maps). About 0.6 s per image and variant on one
# thread (both lists, both variants: about 40 minutes); run it again after
# an interruption and it resumes. Writes OUT/<data>/<variant>/ as
# `salient study` does and prints, per data set and variant, the images
# left on SIC and AIC.
set -e
cd "$(dirname "$0")/.."
DATA=${SALIENT_DATA:-../shared/data}
OUT=${1:-results/study-pic-skips}
[ -d "$DATA" ] || { echo "study_pic_skips: $DATA not found (set SALIENT_DATA)"; exit 1; }
mkdir -p "$OUT"
# the protocol with random as its only method and no MPRT; its lists and
# models relative to the copy (which lives in OUT, not in eval/studies), so
# the results record no path of this machine
studies=$(realpath --relative-to="$OUT" eval/studies)
sed -e 's/^methods = .*/methods = random/' -e 's/^sanity = .*/sanity = 0/' \
    -e "s|^list = |list = $studies/|" -e "s|^model = |model = $studies/|" \
    eval/studies/paper.study >"$OUT/pic-skips.study"
./salient study "$OUT/pic-skips.study" -d "$DATA" -o "$OUT" --threads 1   # resumes by itself
for s in "$OUT"/*/*/summary.json; do
  [ -f "$s" ] || continue
  /usr/bin/python3 - "$s" <<'PY' || echo "$s"
import sys
sys.path.insert(0, "tools")
from study_findings import load, images_left
sm = load(sys.argv[1])
k = sm["skipped"]
print("%-40s %3d images: SIC %3d left %s, AIC %3d left %s" % (
    sys.argv[1].rsplit("/", 1)[0], sm["n_images"], images_left(sm, "sic"), k["sic"], images_left(sm, "aic"), k["aic"]))
PY
done
