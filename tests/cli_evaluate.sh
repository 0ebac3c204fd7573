#!/bin/sh
# salient evaluate / merge / sanity on a tiny data set: two class folders of
# the bundled brain MRI samples, a lesion mask next to one image and a
# corrupt image, a seeded resnet18 (1 channel, 2 classes) at 32 px. Checks:
# every output with its required keys; the corrupt image logged, skipped and
# reported by the exit code while the run goes on; --resume recomputes
# nothing and finishes an interrupted run (a cut last line) to the same rows;
# --shard 0/2 + 1/2 then merge give the rows and curves of the unsharded run;
# --maps scored leaves the images PIC skips on both curves without maps;
# a CSV list gives the same rows as the folders; bad CSV lines are errors
# naming the line; the report makes no network request; MPRT flags the
# random map and not the gradient.
. tests/lib_cli.sh
SRC=tests/data/samples/brain
if [ ! -d $SRC/glioma ] || [ ! -d $SRC/notumor ]; then echo "SKIP cli_evaluate: $SRC samples missing"; exit 0; fi

mkdir -p "$T/data/glioma" "$T/data/notumor"
g1=$(ls $SRC/glioma | grep -v '\.mask\.png$' | head -1); g2=$(ls $SRC/glioma | grep -v '\.mask\.png$' | sed -n 2p)
n1=$(ls $SRC/notumor | head -1)
cp "$SRC/glioma/$g1" "$SRC/glioma/$g2" "$T/data/glioma/"
cp "$SRC/notumor/$n1" "$T/data/notumor/"
cp tests/data/eval/lesion.mask.png "$T/data/glioma/${g1%.png}.mask.png"
cp tests/data/eval/empty.mask.png "$T/data/glioma/${g2%.png}.mask.png"   # a mask without lesion pixels
printf 'this is not a png' >"$T/data/notumor/corrupt.png"
echo "readme" >"$T/data/notumor/notes.txt"
$B/tests/tool_mkmodel resnet18 1 2 1 F32 "$T/m.st" '"input_size":"64"'
# fast settings: 32 px, 8 insertion/deletion steps; min_pred 0 (the seeded model is not trained)
ARGS="-m $T/m.st --size 32 -M gradient,gradcam,random --min-pred 0 --insdel-steps 8 --seed 7"
strip() { sed 's/,[^,]*$//' "$1"; }   # a results.csv without the seconds column
stats() { sed -n '/^  "methods": {/,/^  "statistics"/p' "$1" | grep -v seconds_mean; }  # summary statistics without timings
printf 'glioma\nnotumor\n' >"$T/labels.txt"

# ---- full run: the corrupt image is logged and skipped, the exit code says so
$S evaluate $ARGS -d "$T/data" -o "$T/full" >"$T/out" 2>"$T/err"; rc=$?
O=$T/full
[ $rc -eq 1 ] && grep -q "skipping.*corrupt.png" "$T/err" && grep -q "could not be read" "$T/err" \
  && pass "a corrupt image is logged on stderr and the exit code is 1 (rc $rc)" || fail "corrupt image" "rc $rc: $(tail -3 "$T/err")"
missing=""
for f in results.csv curves.csv curves_images.csv summary.json report.html aic_sic.png manifest.json run.json; do
  [ -s "$O/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ls "$O"/gallery/*.jpg >/dev/null 2>&1 && pass "every output written (results, curves, summary, report, aic_sic.png, manifest, gallery)" \
  || fail "outputs" "missing:$missing"
head -1 "$O/results.csv" | grep -qx "image,label,predicted,confidence,method,sic_auc,aic_auc,insertion_auc,deletion_auc,pointing_hit,mask_energy,outside_mass,skipped,seconds" \
  && [ "$(tail -n +2 "$O/results.csv" | wc -l)" -eq 12 ] && pass "results.csv: the header and 4 images x 3 methods" \
  || fail "results.csv" "$(head -3 "$O/results.csv")"
[ "$(grep -c '^notumor/corrupt.png,1,,,.*unreadable' "$O/results.csv")" -eq 3 ] && pass "the corrupt image has a row per method with skipped = unreadable: ..." \
  || fail "unreadable rows" "$(grep corrupt "$O/results.csv")"
grep "^glioma/${g1}," "$O/results.csv" | grep gradient | awk -F, '$10 != "" && $11 != "" {ok=1} END {exit !ok}' \
  && ! grep "^glioma/${g2}," "$O/results.csv" | awk -F, '$10 != "" {bad=1} END {exit !bad}' \
  && pass "pointing_hit and mask_energy filled for the image with a mask only" || fail "localisation" "$(grep gradient "$O/results.csv")"
# outside_mass: a share in [0,1] for the maps with positive mass (gradient, random) of every readable
# image, no mask needed; empty for the unreadable image (the untrained model's Grad-CAM is all zero: empty too)
tail -n +2 "$O/results.csv" | grep -v '^notumor/corrupt.png,' | awk -F, '$5 != "gradcam" {n++; if ($12 == "" || $12 < 0 || $12 > 1) bad++}
  $5 == "gradcam" && $12 != "" && ($12 < 0 || $12 > 1) {bad++} END {exit bad || n != 6}' \
  && grep '^notumor/corrupt.png,' "$O/results.csv" | awk -F, '$12 != "" {bad++} END {exit bad}' \
  && pass "outside_mass in [0,1] for gradient and random on the 3 readable images (no mask needed), empty for the unreadable one" \
  || fail "outside_mass" "$(cut -d, -f1,5,12 "$O/results.csv" | head -6)"
keys='"methods" "sic" "aic" "insertion" "deletion" "pointing" "energy" "outside" "mean" "median" "ci95" "pairwise" "wilcoxon_statistic" "p_holm" "friedman" "mean_ranks" "model" "arch" "sha256" "accuracy" "confusion" "labels" "info" "seed" "n_images" "skipped" "min_pred" "shard"'
absent=""
for k in $keys; do grep -q "$k:" "$O/summary.json" || absent="$absent $k"; done
[ -z "$absent" ] && grep -q '"info": "webp"' "$O/summary.json" && grep -q '"seed": 7' "$O/summary.json" \
  && grep -q '"unreadable": 1' "$O/summary.json" && pass "summary.json has every required key (info webp, seed 7, 1 unreadable)" \
  || fail "summary.json keys" "absent:$absent"
[ "$(head -1 "$O/curves.csv" | tr ',' '\n' | wc -l)" -eq 1006 ] && [ "$(grep -c '^gradcam,\(sic\|aic\),\(mean\|median\),' "$O/curves.csv")" -eq 4 ] \
  && pass "curves.csv: method,kind,stat,n,auc + 1001 points; mean and median SIC and AIC per method" || fail "curves.csv" "$(head -c 200 "$O/curves.csv")"
# report: one offline file
R=$O/report.html
if grep -qi '<script\|<link\|@import\|url(\|src="http\|href="http\|<iframe' "$R"; then fail "report offline" "has a script, link or remote reference"
elif ! grep -q 'Content-Security-Policy' "$R" || ! grep -q 'data:image/jpeg;base64,' "$R" || ! grep -q '<svg' "$R"; then fail "report content" "no CSP, embedded gallery or SVG"
elif ! grep -q 'Confusion matrix' "$R" || ! grep -q 'Pairwise comparisons' "$R" || ! grep -q 'Friedman' "$R" || ! grep -q 'Localisation' "$R" || ! grep -q 'Mass outside the head/body' "$R" || ! grep -q 'unreadable' "$R"; then
  fail "report sections" "missing a section"
else pass "report.html: inline SVG and images, CSP, no script or remote reference; model, pairwise, Friedman, localisation (outside mass), skips"; fi

# headless Chromium (Debian's chromium package): the report renders with no
# console message and requests nothing; a control page with an external image
# and a console.error (CSP removed) shows that both detectors work.
CHR=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHR" ]; then echo "SKIP report in headless Chromium: chromium is not installed (apt-get install chromium)"
else
  chrome() {  # page netlog consolelog
    timeout 120 "$CHR" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
      --disable-component-update --disable-sync --disable-default-apps --user-data-dir="$T/chrome" \
      --enable-logging=stderr --v=0 --log-net-log="$2" --dump-dom "file://$1" >"$T/dom" 2>"$3"
  }
  page_urls() { grep -o '"url":"[^"]*"' "$1" | grep -v 'google\.com\|googleapis\.com\|gvt1\.com' | sort -u; }
  sed 's|<meta http-equiv="Content-Security-Policy"[^>]*>||; s|</body>|<img src="http://example.invalid/x.png"><script>console.error("control")</script></body>|' \
    "$R" >"$T/control.html"
  chrome "$T/control.html" "$T/nl0.json" "$T/log0"
  chrome "$R" "$T/nl1.json" "$T/log1"
  grep -q 'Saliency evaluation' "$T/dom" && [ -z "$(page_urls "$T/nl1.json")" ] && ! grep -q ':CONSOLE' "$T/log1" \
    && page_urls "$T/nl0.json" | grep -q example.invalid && grep -q ':CONSOLE.*control' "$T/log0" \
    && pass "report.html in headless Chromium: rendered, no console message, no network request (the control page shows both)" \
    || fail "report in Chromium" "urls: $(page_urls "$T/nl1.json" | head -3) console: $(grep ':CONSOLE' "$T/log1" | head -2) control: $(page_urls "$T/nl0.json" | head -2)"
fi

# ---- a run resumed with a larger --limit goes further down the list (a study's rounds)
$S evaluate $ARGS -d "$T/data" -o "$T/lim" --limit 2 >/dev/null 2>&1
$S evaluate $ARGS -d "$T/data" -o "$T/lim" --limit 3 --resume >/dev/null 2>"$T/err"
n_lim=$(tail -n +2 "$T/lim/results.csv" | cut -d, -f1 | sort -u | wc -l)
grep -q "resume: 2 of 3 images already in results.csv, 1 computed" "$T/err" && [ "$n_lim" -eq 3 ] \
  && pass "--resume with a larger --limit keeps the first images' rows and adds the next (3 images)" \
  || fail "resume with a larger limit" "$n_lim images: $(grep -i "resume\|differs" "$T/err")"
# ---- resume on a finished run: nothing recomputed, rows unchanged
cp "$O/results.csv" "$T/before.csv"
inputs() { sed -n '/^  "inputs": \[/,/^  \]/p' "$1" | grep '"path"' | sort; }   # manifest.json's input paths
inputs "$O/manifest.json" >"$T/inputs_fresh"
galleries() { grep '"path": ".*/gallery/' "$1" | sort; }   # manifest.json's gallery figures
galleries "$O/manifest.json" >"$T/gallery_fresh"
$S evaluate $ARGS -d "$T/data" -o "$O" --resume >/dev/null 2>"$T/err"
grep -q "resume: 4 of 4 images already in results.csv, 0 computed" "$T/err" && cmp -s "$O/results.csv" "$T/before.csv" \
  && pass "--resume on a finished run computes nothing and leaves results.csv identical" || fail "resume finished" "$(grep resume "$T/err")"
# its progress lines give no rate for images skipped as done (not "0.00/s" or a rate from milliseconds)
grep -q "images (100%), ?/s, .* spent, ? left" "$T/err" && ! grep -q "[0-9]/s" "$T/err" \
  && pass "progress of a resume with nothing to compute: rate and time left unknown (?)" || fail "resume progress" "$(grep images "$T/err" | tail -2)"
# its manifest still names every image behind results.csv (with its hash), none computed now
n_img=$(find "$T/data" -name '*.png' ! -name '*.mask.png' | wc -l)
n_man=$(grep -c '"path": "'"$T"'/data/.*[^k]\.png"' "$O/manifest.json")
[ "$n_img" -eq 4 ] && [ "$n_man" -eq "$n_img" ] \
  && pass "--resume with nothing to compute: manifest.json still lists the $n_img input images" \
  || fail "resume manifest" "$n_man of $n_img images in manifest.json"
# the gallery figures an earlier run wrote stay listed (with their hashes) when a resume writes none
galleries "$O/manifest.json" >"$T/gallery_resumed"
n_gal=$(ls "$O"/gallery/*.jpg | wc -l)
[ "$n_gal" -ge 1 ] && [ "$(wc -l <"$T/gallery_fresh")" -eq "$n_gal" ] && cmp -s "$T/gallery_fresh" "$T/gallery_resumed" \
  && pass "--resume with nothing to compute: manifest.json still lists the $n_gal gallery figures" \
  || fail "resume manifest gallery" "$n_gal figures; fresh $(wc -l <"$T/gallery_fresh"), resumed $(wc -l <"$T/gallery_resumed") listed"
# both masks are inputs, the empty one too, in the fresh run and on resume alike
inputs "$O/manifest.json" >"$T/inputs_resumed"
[ "$(grep -c '\.mask\.png"' "$T/inputs_fresh")" -eq 2 ] && cmp -s "$T/inputs_fresh" "$T/inputs_resumed" \
  && pass "manifest.json lists the same inputs (both masks, the empty one too) in the fresh run and on --resume" \
  || fail "manifest inputs" "$(diff "$T/inputs_fresh" "$T/inputs_resumed" | head -5; grep -c mask "$T/inputs_fresh")"
# without --resume an existing run is refused
$S evaluate $ARGS -d "$T/data" -o "$O" >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "add --resume" "$T/err" && pass "an existing results.csv is not overwritten without --resume" || fail "overwrite guard" "rc $rc"
# a resume with another seed is refused
$S evaluate $ARGS -d "$T/data" -o "$O" --resume --seed 8 >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "setting 'seed' differs" "$T/err" && pass "--resume with another seed is refused" || fail "resume seed" "rc $rc: $(cat "$T/err")"

# ---- a results.csv from before outside_mass (13 columns): resumed, rewritten with the empty column
mkdir -p "$T/old"
cp "$O/run.json" "$O/curves_images.csv" "$T/old/"
cut -d, -f12 --complement "$O/results.csv" >"$T/old/results.csv"
$S evaluate $ARGS -d "$T/data" -o "$T/old" --resume >/dev/null 2>"$T/err"
cut -d, -f12 --complement "$T/old/results.csv" | strip /dev/stdin >"$T/o1"; cut -d, -f12 --complement "$O/results.csv" | strip /dev/stdin >"$T/o2"
head -1 "$T/old/results.csv" | grep -q ',mask_energy,outside_mass,skipped,' && grep -q "no outside_mass column" "$T/err" \
  && grep -q "resume: 4 of 4 images already in results.csv, 0 computed" "$T/err" \
  && [ -z "$(tail -n +2 "$T/old/results.csv" | cut -d, -f12 | tr -d '\n')" ] && cmp -s "$T/o1" "$T/o2" \
  && pass "--resume on a results.csv without outside_mass: read, rewritten with the column (empty), nothing recomputed" \
  || fail "resume legacy results.csv" "$(cat "$T/err" | tail -3); $(head -2 "$T/old/results.csv")"

# ---- interrupted run: the first 4 rows and a cut line; resume completes it
mkdir -p "$T/int"
cp "$O/run.json" "$T/int/"
head -5 "$O/results.csv" >"$T/int/results.csv"
printf 'glioma/cut.png,0,1,0.5,gradi' >>"$T/int/results.csv"
head -9 "$O/curves_images.csv" >"$T/int/curves_images.csv"
$S evaluate $ARGS -d "$T/data" -o "$T/int" --resume >/dev/null 2>"$T/err"
strip "$O/results.csv" >"$T/a"; strip "$T/int/results.csv" >"$T/b"
grep -q "resume: 1 of 4 images already in results.csv, 3 computed" "$T/err" && grep -q "dropping 1 incomplete record" "$T/err" \
  && cmp -s "$T/a" "$T/b" && cmp -s "$O/curves.csv" "$T/int/curves.csv" \
  && pass "an interrupted run (cut last line) resumes: 1 image kept, 3 computed, the same rows and curves" \
  || fail "resume interrupted" "$(grep -i 'resume\|drop' "$T/err"); $(diff "$T/a" "$T/b" | head -5)"

# ---- shards + merge = the unsharded run
$S evaluate $ARGS -d "$T/data" -o "$T/s0" --shard 0/2 >/dev/null 2>&1
$S evaluate $ARGS -d "$T/data" -o "$T/s1" --shard 1/2 >/dev/null 2>&1
grep -q '"shard": "1/2"' "$T/s1/summary.json" && pass "summary.json of a shard notes the shard" || fail "shard in summary" "no shard 1/2"
$S merge "$T/s1" "$T/s0" -o "$T/merged" >/dev/null 2>"$T/err"; rc=$?
strip "$T/merged/results.csv" >"$T/m"
[ $rc -eq 0 ] && cmp -s "$T/a" "$T/m" && cmp -s "$O/curves.csv" "$T/merged/curves.csv" && [ -s "$T/merged/report.html" ] \
  && stats "$O/summary.json" >"$T/st1" && stats "$T/merged/summary.json" >"$T/st2" && [ "$(wc -l <"$T/st1")" -gt 100 ] && cmp -s "$T/st1" "$T/st2" \
  && pass "--shard 0/2 + 1/2, merged: the rows, curves and statistics of the unsharded run" \
  || fail "shard merge" "rc $rc: $(diff "$T/a" "$T/m" | head -5) $(tail -2 "$T/err")"
$S merge "$T/s0" "$T/s0" -o "$T/m2" >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "both shard 0/2" "$T/err" && pass "merging the same shard twice is refused" || fail "merge duplicate" "rc $rc"
$S evaluate $ARGS -d "$T/data" -o "$T/bad" --shard 2/2 >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "expected I/N" "$T/err" && pass "--shard 2/2 is refused" || fail "bad shard" "rc $rc"

# ---- a CSV list: the same rows; bad lines named
{ echo "path,label"; echo "data/glioma/$g1,glioma"; echo "data/glioma/$g2,0"; echo "data/notumor/$n1,notumor"; echo "\"data/notumor/corrupt.png\",notumor"; } >"$T/list.csv"
$S evaluate $ARGS -d "$T/list.csv" -o "$T/csv" --labels "$T/labels.txt" >/dev/null 2>&1
sed 's|^data/||' "$T/csv/results.csv" | strip /dev/stdin | sed 's|/.*/data/|/|' >"$T/c"
sed 's|/.*/data/|/|' "$T/a" >"$T/a2"
cmp -s "$T/a2" "$T/c" && pass "a CSV path,label list (names and an index) gives the same rows as the class folders" \
  || fail "csv list" "$(diff "$T/a2" "$T/c" | head -4)"
printf 'path,label\ndata/glioma/%s,glioma\ndata/glioma/%s\n' "$g1" "$g2" >"$T/bad1.csv"
$S evaluate $ARGS -d "$T/bad1.csv" -o "$T/b1" >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "bad1.csv line 3: expected 2 fields path,label, found 1" "$T/err" && pass "a CSV line with one field: error naming line 3" \
  || fail "bad csv line" "rc $rc: $(cat "$T/err")"
printf 'data/glioma/%s,tumour\n' "$g1" >"$T/bad2.csv"
$S evaluate $ARGS -d "$T/bad2.csv" -o "$T/b3" --labels "$T/labels.txt" >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "bad2.csv line 1: label 'tumour' is neither a class name nor an index" "$T/err" && pass "an unknown label: error naming the line and the label" \
  || fail "unknown label" "rc $rc: $(cat "$T/err")"

# ---- --no-pic: localisation only; SIC/AIC empty, no failure, recorded in run.json; resume keeps it
printf 'path,label\ndata/glioma/%s,glioma\ndata/glioma/%s,glioma\n' "$g1" "$g2" >"$T/np.csv"
$S evaluate $ARGS --no-insdel --no-pic -d "$T/np.csv" --labels "$T/labels.txt" -o "$T/np" >/dev/null 2>"$T/err"; rc=$?
cells=$(tail -n +2 "$T/np/results.csv" | awk -F, '$6 != "" || $7 != "" || $13 != "" || ($5 != "gradcam" && $12 == "") {bad++} END {print NR, bad + 0}')
[ $rc -eq 0 ] && [ "$cells" = "6 0" ] && tr -d ' \n' <"$T/np/run.json" | grep -q '"pic":false' \
  && pass "--no-pic: 6 rows without SIC/AIC, nothing failed, outside_mass for gradient and random (the untrained model's Grad-CAM has no positive mass), run.json says pic false" \
  || fail "--no-pic" "rc $rc, rows/bad: $cells: $(tail -2 "$T/err")"
R=$T/np/report.html
! grep -q '<h3>SIC AUC' "$R" && ! grep -q '<h3>Deletion AUC' "$R" && grep -q 'No values, so no table: sic, aic, insertion, deletion' "$R" &&
  grep -q '<h3>Mass outside the head/body' "$R" && ! grep -q '<tr><td>sic</td>' "$R" && grep -q '<tr><td>outside</td>' "$R" \
  && pass "--no-pic report: no empty tables for SIC, AIC, insertion, deletion, one line naming them; outside's table and Friedman row kept" \
  || fail "--no-pic report" "$(grep -o 'No values[^<]*' "$R")"
$S evaluate $ARGS --no-insdel -d "$T/np.csv" --labels "$T/labels.txt" -o "$T/np" --resume >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "setting 'pic' differs" "$T/err" && pass "--resume of a --no-pic run with PIC on: refused, naming the setting" \
  || fail "--no-pic resume" "rc $rc: $(tail -2 "$T/err")"

# ---- --maps scored: no map for an image whose SIC and AIC PIC both skip; its rows say why, every other
# cell empty; the other rows are --maps all's, seconds aside
$S evaluate $ARGS --no-insdel -d "$T/data" -o "$T/ma" >/dev/null 2>"$T/err"
$S evaluate $ARGS --no-insdel --maps scored -d "$T/data" -o "$T/ms" >/dev/null 2>>"$T/err"; rc=$?
# per row: "both" (the all-run skipped SIC and AIC and the scored run has the same reasons and no cell but the
# first five), "same" (identical rows, seconds aside) or "bad"
verdict=$(awk -F, 'NR == FNR { if (FNR > 1) { k = $1 FS $5; all[k] = $0; sk[k] = $13 } next }
  FNR > 1 { k = $1 FS $5; a = all[k]; sub(/,[^,]*$/, "", a); s = $0; sub(/,[^,]*$/, "", s)
    if (sk[k] ~ /^sic:[a-z_]+;aic:[a-z_]+$/) { e = $1 FS $2 FS $3 FS $4 FS $5 FS FS FS FS FS FS FS FS sk[k] FS
      print ($0 == e ? "both" : "bad") } else print (s == a ? "same" : "bad") }' "$T/ma/results.csv" "$T/ms/results.csv" | sort | uniq -c | tr '\n' ' ')
nm=$(grep -c '^[^,]*,[^,]*,[^,]*,[^,]*,gradient,' "$T/ms/results.csv")
[ $rc -eq 1 ] && ! echo "$verdict" | grep -q bad && echo "$verdict" | grep -q both && echo "$verdict" | grep -q same && [ "$nm" -eq 4 ] \
  && tr -d '\n' <"$T/ms/run.json" | grep -q '"maps": *"only for the images PIC scores' \
  && pass "--maps scored: rows of the images PIC skips on both curves say why and hold no map cells, the others equal --maps all's ($verdict)" \
  || fail "--maps scored" "rc $rc, rows: $verdict, $nm gradient rows: $(tail -2 "$T/err")"
# an image without any map: the report's localisation says so instead of a table of empty cells
printf 'path,label\ndata/glioma/%s,glioma\n' "$g2" >"$T/ms1.csv"
$S evaluate $ARGS --no-insdel --maps scored -d "$T/ms1.csv" --labels "$T/labels.txt" -o "$T/ms1" >/dev/null 2>"$T/err"; rc=$?
R=$T/ms1/report.html
[ $rc -eq 0 ] && grep -q 'No values, so no table: outside' "$R" && ! grep -q '<h3>Mass outside' "$R" \
  && pass "--maps scored on an image PIC skips: no map, and the report's localisation says there are no values" \
  || fail "--maps scored report" "rc $rc: $(grep -o 'No values[^<]*' "$R")"
$S evaluate $ARGS --no-insdel -d "$T/data" -o "$T/ms" --resume >/dev/null 2>"$T/err"; rc=$?
$S evaluate $ARGS --no-insdel --maps some -d "$T/data" -o "$T/mx" >/dev/null 2>>"$T/err"; rc2=$?
[ $rc -ne 0 ] && grep -q "setting 'maps' differs" "$T/err" && [ $rc2 -ne 0 ] && grep -q "maps some: expected all" "$T/err" \
  && pass "--maps: resuming a scored run with every map is refused, naming the setting; an unknown value is refused" \
  || fail "--maps refusals" "rc $rc $rc2: $(cat "$T/err")"

# ---- explain --map-cache stores its maps; evaluate --map-cache reads them (names differ, keys match)
MC="-m $T/m.st --size 32 --seed 7 -M gradient,gradcam,random"
$S explain $MC --no-png --map-cache "$T/mc" -o "$T/mcx" "$T/data/glioma/$g1" >/dev/null 2>"$T/err"; rc1=$?
n1=$(ls "$T/mc" | wc -l)
printf 'path,label\ndata/glioma/%s,glioma\n' "$g1" >"$T/mc.csv"
$S evaluate $ARGS -d "$T/mc.csv" --labels "$T/labels.txt" --map-cache "$T/mc" -o "$T/mce" >/dev/null 2>>"$T/err"; rc2=$?
$S evaluate $ARGS -d "$T/mc.csv" --labels "$T/labels.txt" -o "$T/mcn" >/dev/null 2>>"$T/err"; rc3=$?
n2=$(ls "$T/mc" | wc -l)
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && [ "$n1" -eq 3 ] && [ "$n2" -eq 4 ] \
  && [ "$(strip "$T/mce/results.csv")" = "$(strip "$T/mcn/results.csv")" ] \
  && pass "explain --map-cache stores 3 maps; evaluate reads gradient's and Grad-CAM's (adds only random's, whose seed differs) and its rows equal an uncached run's" \
  || fail "explain --map-cache" "rc $rc1 $rc2 $rc3, files $n1 then $n2: $(tail -3 "$T/err")"

# ---- sanity (MPRT): random does not depend on the model, the gradient does
$S sanity -m "$T/m.st" --size 32 -M gradient,random --seed 3 -o "$T/san" "$T/data/glioma/$g1" >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ -s "$T/san/sanity.csv" ] && [ -s "$T/san/sanity.png" ] && [ -s "$T/san/sanity.json" ]; then
  rows=$(tail -n +2 "$T/san/sanity.csv" | wc -l)
  last=$(tail -1 "$T/san/sanity.csv")
  flagged=$(tr -d '\n ' <"$T/san/sanity.json" | sed 's/.*"flagged":\[\([^]]*\)\].*/\1/')
  [ "$rows" -eq 42 ] && [ "$(echo "$last" | cut -d, -f2)" = conv1 ] && [ "$(sed -n 3p "$T/san/sanity.csv" | cut -d, -f2)" = fc ] \
    && pass "sanity.csv: the original + 41 cascading steps of resnet18, fc first, conv1 last" || fail "sanity steps" "$rows rows, last: $last"
  [ "$flagged" = '"random"' ] && echo "$last" | awk -F, '$3 < 0.9 && $4 == 1 {ok=1} END {exit !ok}' \
    && pass "MPRT flags random (Spearman 1 after all layers) and not gradient ($(echo "$last" | cut -d, -f3))" \
    || fail "sanity flags" "flagged [$flagged], last row $last"
else fail "sanity" "rc $rc: $(tail -3 "$T/err")"; fi
# sanity.png is drawn from sanity.json: --replot redraws the same bytes; a folder without one is an error
cp "$T/san/sanity.png" "$T/san.png"; rm "$T/san/sanity.png"
$S sanity --replot "$T/san" 2>"$T/err" && cmp -s "$T/san/sanity.png" "$T/san.png" \
  && pass "sanity --replot redraws sanity.png from sanity.json, byte for byte" || fail "sanity replot" "$(cat "$T/err")"
mkdir -p "$T/nosan"
$S sanity --replot "$T/nosan" 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "nosan/sanity.json" "$T/err" && pass "sanity --replot on a folder without sanity.json: error naming it (rc $rc)" \
  || fail "sanity replot missing" "rc $rc: $(cat "$T/err")"
exit 0
