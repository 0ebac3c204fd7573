#!/bin/sh
# Command-line tests of `salient pic` on the golden PIC cases of
# tests/data/pic (tools/make_pic_golden.py): a resnet18 with the seeded
# weights of tests/detweights.h, PAIR's random mask, pic.py's AUCs.
# The library itself is tested against pic.py in tests/test_pic.c; here:
# the command's outputs (text and --json), its options and its errors
# (a clear message and a non-zero exit, never a crash).
. tests/lib_cli.sh
G=tests/data/pic
# json_auc FILE KIND: the "auc" of the "sic" or "aic" object of salient's pretty JSON
json_auc() { awk -v k="\"$2\": {" '$0 ~ k {f=1} f && /"auc":/ {gsub(/[",]/, "", $2); print $2; exit}' "$1"; }
# ref_auc KIND: pic.py's AUC from values.json (indent 1)
ref_auc() { awk -v k="\"$2\": {" '$0 ~ k {f=1} f && /"auc":/ {gsub(/[",]/, "", $2); print $2; exit}' "$1"; }
close_to() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }

$B/tests/tool_mkmodel resnet18 1 4 3 F32 "$T/g.safetensors" '"input_size":"64","mean":"0.2","std":"0.25"' \
  || fail mkmodel "could not write the gray test model"
$B/tests/tool_mkmodel resnet18 3 4 3 F32 "$T/c.safetensors" \
  '"input_size":"64","mean":"0.485,0.456,0.406","std":"0.229,0.224,0.225"' || fail mkmodel "could not write the RGB test model"
M="$T/g.safetensors"

# --json with PAIR's random mask: AUCs within 0.01 of pic.py's (test_pic.c explains the remaining difference)
if $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --random-mask $G/g64/random_mask.npy --json >"$T/j" 2>"$T/err"; then
  s=$(json_auc "$T/j" sic); a=$(json_auc "$T/j" aic)
  rs=$(ref_auc $G/g64/values.json sic); ra=$(ref_auc $G/g64/values.json aic)
  if close_to "$s" "$rs" 0.01 && close_to "$a" "$ra" 0.01; then pass "pic --json: SIC $s AIC $a within 0.01 of pic.py's $rs $ra"
  else fail "pic --json AUCs" "ours $s $a, pic.py $rs $ra"; fi
  n=$(grep -c '"threshold"' "$T/j")
  if [ "$n" = 26 ] && grep -q '"info": "webp"' "$T/j" && grep -q '"seed": null' "$T/j" && grep -q '"skipped": null' "$T/j" \
     && grep -q '"x":' "$T/j" && grep -q '"y":' "$T/j" && grep -q '"pred":' "$T/j"; then
    pass "pic --json: 13 points per curve with threshold/info/pred/x/y, info estimator, seed null for a given mask"
  else fail "pic --json structure" "$(head -c 400 "$T/j")"; fi
else fail "pic --json" "$(cat "$T/err")"; fi

# text output
if $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --random-mask $G/g64/random_mask.npy >"$T/t" 2>"$T/err" \
   && grep -q "^SIC AUC" "$T/t" && grep -q "^AIC AUC" "$T/t" && grep -q "information  webp" "$T/t" \
   && [ "$(grep -c '^0\.[0-9]' "$T/t")" = 13 ]; then pass "pic text: 13 thresholds, both AUCs, the estimator named"
else fail "pic text" "$(cat "$T/t" "$T/err" | head -20)"; fi

# a drawn mask: seeded, saved, and reused gives the same numbers
$S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --seed 9 --save-random-mask "$T/rm.npy" --json >"$T/j1" 2>"$T/err"
$S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --random-mask "$T/rm.npy" --json >"$T/j2" 2>>"$T/err"
$S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --seed 9 --json >"$T/j3" 2>>"$T/err"
if [ -s "$T/rm.npy" ] && [ "$(json_auc "$T/j1" sic)" = "$(json_auc "$T/j2" sic)" ] && \
   [ "$(json_auc "$T/j1" aic)" = "$(json_auc "$T/j2" aic)" ] && cmp -s "$T/j1" "$T/j3" && grep -q '"seed": 9' "$T/j1"; then
  pass "pic --seed draws a reproducible mask; --save-random-mask then --random-mask gives the same AUCs"
else fail "pic seeded mask" "$(json_auc "$T/j1" sic) vs $(json_auc "$T/j2" sic); $(cat "$T/err")"; fi

# estimators
for info in png entropy; do
  if $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --random-mask $G/g64/random_mask.npy --info $info --json >"$T/e" 2>"$T/err" \
     && grep -q "\"info\": \"$info\"" "$T/e"; then pass "pic --info $info runs and says so"
  else fail "pic --info $info" "$(cat "$T/err")"; fi
done

# min_pred: pic.py's default 0.8 skips the RGB case's SIC; an explicit --min-pred 0 keeps it
C3="$T/c.safetensors"
$S pic -m "$C3" $G/rgb64/img.png --map $G/rgb64/map.npy --random-mask $G/rgb64/random_mask.npy --json >"$T/r8" 2>"$T/err"
$S pic -m "$C3" $G/rgb64/img.png --map $G/rgb64/map.npy --random-mask $G/rgb64/random_mask.npy --min-pred 0 --json >"$T/r0" 2>>"$T/err"
if grep -q '"skipped": "min_pred: ' "$T/r8" && [ "$(json_auc "$T/r8" sic)" = null ] && [ "$(json_auc "$T/r0" sic)" != null ] \
   && [ -n "$(json_auc "$T/r0" sic)" ]; then
  pass "pic: default min_pred 0.8 skips (reason given, auc null); --min-pred 0 does not"
else fail "pic --min-pred" "$(grep -A1 skipped "$T/r8" | head -4); $(cat "$T/err")"; fi

# errors
expect_error "pic without --map" "--map" $S pic -m "$M" $G/g64/img.png
expect_error "pic map of the wrong shape" "expected a (64, 64) saliency map" $S pic -m "$M" $G/g64/img.png --map $G/curves/aucs.npy
expect_error "pic float random mask" "uint8 or bool" $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --random-mask $G/g64/map.npy
expect_error "pic bad --info" "expected webp, png or entropy" $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --info jpeg
expect_error "pic missing image" "pic.png" $S pic -m "$M" "$T/pic.png" --map $G/g64/map.npy
expect_error "pic two images" "exactly one image" $S pic -m "$M" $G/g64/img.png $G/g64/img.png --map $G/g64/map.npy
expect_error "pic target out of range" "4 classes" $S pic -m "$M" $G/g64/img.png --map $G/g64/map.npy --target 7
printf 'not a numpy file' >"$T/bad.npy"
expect_error "pic corrupt map" "bad.npy" $S pic -m "$M" $G/g64/img.png --map "$T/bad.npy"
