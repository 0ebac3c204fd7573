#!/bin/sh
# salient study: a protocol with two variants on four bundled brain slices
# and a small deterministic model. Both variants' outputs exist and record
# their settings; the protocol is copied as run; the second variant reuses
# the first's maps (only the CAM maps whose class differs under the paper's
# rule are computed again); a second run resumes without computing; two
# shards merged equal the unsharded run; the MPRT of every method runs on
# two of the images, block by block, is summarised, resumes and merges; a
# round resumed after an interruption summarises its own images; a bad
# protocol names its line.
. tests/lib_cli.sh
$B/tests/tool_mkmodel resnet18 1 4 3 F32 "$T/m.st" '"input_size":"32","labels":"glioma,meningioma,notumor,pituitary"' >/dev/null
mkdir -p "$T/p"
printf 'path,label\nglioma/Te-gl_0017.png,glioma\nglioma/Te-gl_0057.png,glioma\nmeningioma/Te-me_0134.png,meningioma\npituitary/%s,pituitary\n' \
  "$(ls tests/data/samples/brain/pituitary | grep -v mask | head -1)" >"$T/p/list.csv"
cat >"$T/p/t.study" <<EOT
name = test
seed = 3
methods = gradcam, ig:steps=4, random
sanity = 2
[variant paper]
target = paper
info = entropy
min_pred = 0
aggregate = median
[variant ours]
[data brain]
model = $T/m.st
list = list.csv
root = \$DATA/brain
EOT
run() { $S study "$T/p/t.study" -d tests/data/samples --threads 1 "$@"; }
if run -o "$T/o" >"$T/log" 2>&1 && cmp -s "$T/p/t.study" "$T/o/protocol.study"; then
  pass "study: both variants run; the protocol is copied into the outputs byte for byte"
else fail "study run" "$(tail -3 "$T/log")"; fi
rows() { tail -n +2 "$1" | wc -l; }
p=$T/o/brain/paper; r=$T/o/brain/ours
[ "$(rows $p/results.csv)" -eq 12 ] && [ "$(rows $r/results.csv)" -eq 12 ] &&
  grep -q '"info": "entropy"' $p/run.json && grep -q '"info": "webp"' $r/run.json &&
  grep -q 'the seed paper' $p/run.json && grep -q '"target": "the predicted class of each image"' $r/run.json &&
  grep -q '"min_pred": 0,' $p/run.json && grep -q '"min_pred": 0.8' $r/run.json \
  && pass "study: each variant's run.json records its target rule, information and min_pred (12 rows each)" \
  || fail "study variants" "$(rows $p/results.csv) / $(rows $r/results.csv) rows"
# maps: 12 for the first variant, plus one Grad-CAM map per image whose label is not its prediction
wrong=$(tail -n +2 $p/results.csv | awk -F, '$5=="gradcam" && $2!=$3' | wc -l)
maps=$(ls "$T/o/.maps/brain" | wc -l)
[ "$maps" -eq $((12 + wrong)) ] && pass "study: the second variant reuses the maps ($maps maps for 24 rows, $wrong Grad-CAM maps for a label that is not the prediction)" \
  || fail "study map cache" "$maps maps, $wrong misclassified"
# the same maps: the map-only metric (mass outside the head) is equal across variants for ig and random
a=$(tail -n +2 $p/results.csv | awk -F, '$5!="gradcam" {print $1,$5,$12}' | sort)
b=$(tail -n +2 $r/results.csv | awk -F, '$5!="gradcam" {print $1,$5,$12}' | sort)
[ -n "$a" ] && [ "$a" = "$b" ] && pass "study: ig and random score the same maps in both variants (outside_mass equal)" \
  || fail "study same maps" "differ"
# MPRT: list rows 0 and 2 (the first glioma, then the first meningioma), 11 blocks of a resnet18 plus the original model
sd=$T/o/brain/sanity
fin=$sd/sanity_final.csv
[ -f $sd/0-Te-gl_0017/sanity.json ] && [ -f $sd/2-Te-me_0134/sanity.json ] && [ "$(wc -l <$sd/0-Te-gl_0017/sanity.csv)" -eq 13 ] &&
  grep -q '"steps_are": "blocks' $sd/0-Te-gl_0017/sanity.json && [ -f $sd/sanity_steps.png ] &&
  [ "$(head -1 $fin)" = "method,images,final_mean,final_min,final_max,flagged" ] &&
  grep -q '^random,2,1.0000,1.0000,1.0000,2$' $fin && grep -q '^gradcam,' $fin && grep -q '^ig,2,' $fin &&
  [ "$(wc -l <$sd/sanity_steps.csv)" -eq 13 ] \
  && pass "study: MPRT of every method on 2 images, 11 blocks each, summarised (random flagged on both)" \
  || fail "study sanity" "$(cat $fin 2>/dev/null | tr '\n' ' ') $(tail -2 "$T/log")"
cp $p/results.csv "$T/before.csv"
cp $fin "$T/fin_before.csv"
run -o "$T/o" >"$T/log2" 2>&1 && cmp -s $p/results.csv "$T/before.csv" && [ "$(ls "$T/o/.maps/brain" | wc -l)" -eq "$maps" ] &&
  ! grep -q "MPRT 1 of" "$T/log2" && cmp -s $fin "$T/fin_before.csv" \
  && pass "study: run again, it resumes: nothing recomputed (maps nor MPRT), results unchanged" || fail "study resume" "$(tail -2 "$T/log2")"
# two shards, merged, equal the unsharded run (every column but seconds)
run --shard 0/2 -o "$T/s0" >"$T/log3" 2>&1; run --shard 1/2 -o "$T/s1" >>"$T/log3" 2>&1
$S study "$T/p/t.study" -d tests/data/samples --merge "$T/s0" "$T/s1" -o "$T/m" >>"$T/log3" 2>&1
same=1
for v in paper ours; do
  x=$(tail -n +2 "$T/o/brain/$v/results.csv" | cut -d, -f1-13 | sort)
  y=$(tail -n +2 "$T/m/brain/$v/results.csv" 2>/dev/null | cut -d, -f1-13 | sort)
  [ -n "$x" ] && [ "$x" = "$y" ] || same=0
done
[ $same -eq 1 ] && pass "study: two shards merged equal the unsharded run, both variants" || fail "study shards" "$(tail -3 "$T/log3")"
[ -f "$T/s0/brain/sanity/0-Te-gl_0017/sanity.json" ] && [ ! -e "$T/s0/brain/sanity/2-Te-me_0134" ] &&
  [ -f "$T/s1/brain/sanity/2-Te-me_0134/sanity.json" ] && cmp -s "$T/m/brain/sanity/sanity_final.csv" $fin &&
  cmp -s "$T/m/brain/sanity/sanity_steps.csv" $sd/sanity_steps.csv \
  && pass "study: each shard runs its own MPRT images; merged, the summary equals the unsharded one" \
  || fail "study sanity shards" "$(tail -3 "$T/log3")"
# ---- rounds: with 12 images, every variant runs images 1-10, then 11-12
{ echo "path,label"; for c in glioma meningioma notumor pituitary; do
    ls tests/data/samples/brain/$c | grep -v mask | head -3 | sed "s|^|$c/|; s|\$|,$c|"; done; } >"$T/p/list12.csv"
sed 's/^methods = .*/methods = gradcam, random/; s/^sanity = .*/sanity = 0/; s/^list = .*/list = list12.csv/' "$T/p/t.study" >"$T/p/r.study"
$S study "$T/p/r.study" -d tests/data/samples --threads 1 -o "$T/r" >"$T/logr" 2>&1; rc=$?
order=$(grep -o 'variant [a-z]*, images up to [0-9]* of 12' "$T/logr" | tr '\n' ';')
want="variant paper, images up to 10 of 12;variant ours, images up to 10 of 12;variant paper, images up to 12 of 12;variant ours, images up to 12 of 12;"
g1=$(ls "$T/r/brain/paper/gallery" | wc -l); g2=$(ls "$T/r/brain/ours/gallery" | wc -l)
[ $rc -eq 0 ] && [ "$order" = "$want" ] && [ "$(rows "$T/r/brain/paper/results.csv")" -eq 24 ] && [ "$(rows "$T/r/brain/ours/results.csv")" -eq 24 ] \
  && [ "$g1" -eq 6 ] && [ "$g2" -eq 6 ] \
  && pass "study: the variants run in rounds of 10 images (paper 1-10, ours 1-10, paper 11-12, ours 11-12), 24 rows and a gallery of 6 each" \
  || fail "study rounds" "rc $rc, gallery $g1 $g2, order '$order': $(tail -2 "$T/logr")"
# ---- a round summarises its own images: a study stopped after "paper" ran
# images 11-12 but before "ours" did; run again, round 1 (images 1-10) must
# summarise 10 images in both variants although paper's folder holds 12
cp -r "$T/r" "$T/ri"
for f in results.csv curves_images.csv; do
  for l in $(tail -2 "$T/p/list12.csv" | cut -d, -f1); do grep -v "^$l," "$T/ri/brain/ours/$f" >"$T/tmp.csv"; mv "$T/tmp.csv" "$T/ri/brain/ours/$f"; done
done
$S study "$T/p/r.study" -d tests/data/samples --threads 1 -o "$T/ri" >"$T/logi" 2>"$T/logi.err"; rc=$?
counts=$(grep -o 'on [0-9]* images;' "$T/logi" | tr -dc '0-9 \n' | tr -s ' \n' ' ')
[ $rc -eq 0 ] && [ "$counts" = " 10 10 12 12 " ] && [ "$(rows "$T/ri/brain/ours/results.csv")" -eq 24 ] \
  && pass "study: resumed after an interrupted round, round 1 summarises its own 10 images in both variants (10 10 12 12)" \
  || fail "study round summary" "rc $rc, images summarised '$counts': $(tail -2 "$T/logi.err")"
# ---- the MPRT's images: the classes in turn, each class's first image not yet taken
# (list12 is sorted by class, 3 each: rows 0-2 glioma, 3-5 meningioma, 6-8 notumor, 9-11 pituitary)
sed 's/^methods = .*/methods = random/; s/^sanity = .*/sanity = 5/; s/^list = .*/list = list12.csv/' "$T/p/t.study" >"$T/p/k.study"
$S study "$T/p/k.study" -d tests/data/samples --threads 1 -o "$T/k" >"$T/logk" 2>&1; rc=$?
picked=$(ls "$T/k/brain/sanity" 2>/dev/null | grep -o '^[0-9]*-' | tr -d - | sort -n | tr '\n' ' ')
[ $rc -eq 0 ] && [ "$picked" = "0 1 3 6 9 " ] \
  && pass "study: the MPRT's 5 images take the classes in turn (rows 0, 3, 6, 9, then 1) from a list sorted by class" \
  || fail "study MPRT picks" "rc $rc, rows '$picked': $(tail -2 "$T/logk")"

printf 'methods = ig\nsanity_by = layer\n' >"$T/p/bad.study"
expect_error "study: a bad MPRT granularity is refused, naming the line" "line 2: sanity_by = layer: expected module or block" \
  $S study "$T/p/bad.study" -o "$T/bad"
printf 'methods = ig\ncolour = red\n' >"$T/p/bad.study"
expect_error "study: an unknown protocol key is refused, naming the line" "line 2: unknown study key 'colour'" \
  $S study "$T/p/bad.study" -o "$T/bad"
expect_error "study: \$DATA paths need the data folder" "give the data folder" env SALIENT_DATA= $S study "$T/p/t.study" -o "$T/nd"
