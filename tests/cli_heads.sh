#!/bin/sh
# Output heads: a single-logit model and a 3-output multi-label model with
# head=sigmoid in their metadata (and --head on the command line): predict's
# probabilities are sigma(logit) for each output (not a softmax); explain
# (RISE says it uses the sigmoid probability), pic and evaluate run end to
# end and record the head; with a single logit the PIC prediction is no
# longer the constant softmax 1.
. tests/lib_cli.sh
img=tests/data/samples/brain/glioma/Te-gl_0017.png
$B/tests/tool_mkmodel resnet18 1 1 1 F32 "$T/one.st" '"input_size":"32","head":"sigmoid","labels":"positive"' >/dev/null
$B/tests/tool_mkmodel resnet18 1 3 2 F32 "$T/multi.st" '"input_size":"32","head":"sigmoid","labels":"a,b,c"' >/dev/null
$B/tests/tool_mkmodel resnet18 1 3 2 F32 "$T/plain.st" '"input_size":"32","labels":"a,b,c"' >/dev/null
# sigma(logit) for every output of predict --json, within float rounding
check_sigmoid() {  # $1: json file; prints the worst relative error
  tr -d ' \n' <"$1" | sed 's/},{/}\n{/g' | grep -o '"prob":[^,]*,"logit":[-0-9.e+]*' |
    awk -F'[:,]' '{p=$2; l=$4; s=1/(1+exp(-l)); e=(p>s?p-s:s-p)/s; if (e>m) m=e} END {printf "%.3g\n", m+0}'
}
$S predict -m "$T/one.st" --json $img >"$T/one.json" 2>"$T/err"
e1=$(check_sigmoid "$T/one.json")
$S predict -m "$T/multi.st" --json --topk 3 $img >"$T/multi.json" 2>>"$T/err"
e3=$(check_sigmoid "$T/multi.json")
n3=$(grep -c '"logit"' "$T/multi.json")
awk -v a="$e1" -v b="$e3" 'BEGIN { exit !(a < 1e-6 && b < 1e-6) }' && [ "$n3" -eq 3 ] \
  && pass "predict with head=sigmoid: each probability is sigma(logit) (single logit $e1, multi-label $e3)" \
  || fail "predict sigmoid" "errors $e1 $e3, $n3 outputs: $(tail -2 "$T/err")"
# the same model file read with --head softmax: probabilities sum to 1 again
$S predict -m "$T/multi.st" --head softmax --json --topk 3 $img >"$T/soft.json" 2>/dev/null
sum=$(tr -d ' \n' <"$T/soft.json" | grep -o '"probs":\[[^]]*\]' | tr -d '"probs:[]' | tr ',' '\n' | awk '{s+=$1} END {printf "%.6f", s}')
[ "$sum" = "1.000000" ] && pass "--head softmax overrides the metadata (probabilities sum to $sum)" || fail "--head softmax" "sum $sum"
expect_error "--head with another value is refused" "expected softmax or sigmoid" $S predict -m "$T/one.st" --head relu $img
# explain: RISE uses the sigmoid probability; explain.json records the head
if $S explain -m "$T/one.st" -M gradcam,rise,ig --masks 32 --steps 4 --no-png -o "$T/ex" $img >/dev/null 2>"$T/err" &&
   grep -q '"head": "sigmoid"' "$T/ex/Te-gl_0017/explain.json" && grep -q 'F = sigmoid probability' "$T/ex/Te-gl_0017/explain.json"; then
  pass "explain on a single-logit sigmoid model: gradcam, rise (sigmoid probability), ig; head recorded"
else fail "explain sigmoid" "$(tail -2 "$T/err")"; fi
# pic on the single-logit model: the original prediction is sigma(F), not the constant softmax 1
$S explain -m "$T/one.st" -M gradient --no-png -o "$T/ex1" $img >/dev/null 2>&1
$S pic -m "$T/one.st" $img --map "$T/ex1/Te-gl_0017/gradient.npy" --min-pred 0 --json >"$T/pic.json" 2>"$T/err"
po=$(tr -d ' \n' <"$T/pic.json" | grep -o '"original":{"info":[0-9.e+]*,"pred":[-0-9.e+]*' | head -1 | sed 's/.*"pred"://')
awk -v p="$po" 'BEGIN { exit !(p != "" && p + 0 < 0.999999) }' \
  && pass "pic on a single-logit sigmoid model measures sigma(F) (original prediction $po, not 1)" \
  || fail "pic sigmoid" "pred_orig '$po': $(tail -2 "$T/err")"
# evaluate end to end on two images, head recorded in run.json
mkdir -p "$T/data/positive"
cp $img tests/data/samples/brain/glioma/Te-gl_0025.png "$T/data/positive/" 2>/dev/null || cp $img "$T/data/positive/b.png"
if $S evaluate -m "$T/one.st" -M gradcam,random --min-pred 0 --insdel-steps 4 -d "$T/data" -o "$T/ev" >/dev/null 2>"$T/err" &&
   grep -q '"head": "sigmoid"' "$T/ev/run.json" && [ -s "$T/ev/report.html" ]; then
  pass "evaluate on a single-logit sigmoid model runs and records the head"
else fail "evaluate sigmoid" "$(tail -3 "$T/err")"; fi
# several targets in one run (multi-label): one folder per target, each explaining its class
if $S explain -m "$T/multi.st" -M gradcam,eigencam,layercam,rise --masks 16 --no-png --target a,c,1 -o "$T/mt" $img >/dev/null 2>"$T/err" &&
   grep -q '"label": "a"' "$T/mt/Te-gl_0017/a/explain.json" && grep -q '"label": "c"' "$T/mt/Te-gl_0017/c/explain.json" &&
   grep -q '"label": "b"' "$T/mt/Te-gl_0017/1/explain.json" &&
   ! cmp -s "$T/mt/Te-gl_0017/a/rise.npy" "$T/mt/Te-gl_0017/c/rise.npy"; then
  pass "explain --target a,c,1 on a multi-label model: one folder per target, each its own class and map"
else fail "multi-target explain" "$(tail -2 "$T/err")"; fi
# the shared passes change nothing: every map equals the one of a run with that target alone
same=0 differ=""
for t in a c 1; do
  $S explain -m "$T/multi.st" -M gradcam,eigencam,layercam,rise --masks 16 --no-png --target $t -o "$T/st$t" $img >/dev/null 2>>"$T/err"
  for m in gradcam eigencam layercam rise; do
    if cmp -s "$T/mt/Te-gl_0017/$t/$m.npy" "$T/st$t/Te-gl_0017/$m.npy"; then same=$((same + 1)); else differ="$differ $t/$m"; fi
  done
done
[ "$same" -eq 12 ] && pass "explain --target a,c,1: all 12 maps (3 targets x 4 methods) identical to single-target runs, bit for bit" \
  || fail "multi-target maps vs single-target runs" "differ:$differ $(tail -2 "$T/err")"
# explain.json says which passes were shared: the prediction and the CAM forward (counted once, in the first target)
j=$(tr -d ' \n' <"$T/mt/Te-gl_0017/c/explain.json")
j1=$(tr -d ' \n' <"$T/mt/Te-gl_0017/a/explain.json")
js=$(tr -d ' \n' <"$T/sta/Te-gl_0017/explain.json")
if echo "$j" | grep -q '"prob":[0-9.e-]*,"shared_forward":true' &&
   echo "$j" | grep -q '"name":"gradcam",.*"forward_images":0,"backward_images":1,"batches":1,"shared_forward":true' &&
   echo "$j1" | grep -q '"name":"gradcam",.*"forward_images":1,"backward_images":1,"batches":1,"shared_forward":true' &&
   echo "$j" | grep -q '"name":"rise",.*"forward_images":16,"backward_images":0,"batches":[0-9]*,"shared_forward":false' &&
   echo "$js" | grep -q '"name":"gradcam",.*"forward_images":1,"backward_images":1,"batches":1,"shared_forward":false'; then
  pass "explain.json records the shared passes (prediction, gradcam's forward counted once; rise per target; none alone)"
else fail "shared_forward in explain.json" "$(echo "$j" | grep -o '"name":"gradcam"[^}]*}' | head -1)"; fi
# evaluate on the multi-label model: the data set's classes are its outputs
mkdir -p "$T/mdata/a" "$T/mdata/c"
cp $img "$T/mdata/a/x.png"; cp $img "$T/mdata/c/y.png"
if $S evaluate -m "$T/multi.st" -M gradient,random --min-pred 0 --insdel-steps 4 -d "$T/mdata" -o "$T/mev" >/dev/null 2>"$T/err" &&
   grep -q '"head": "sigmoid"' "$T/mev/run.json" && [ "$(grep -c . "$T/mev/results.csv")" -eq 5 ]; then
  pass "evaluate on a multi-label sigmoid model: 2 images x 2 methods scored, head recorded"
else fail "evaluate multi-label" "$(tail -3 "$T/err")"; fi
