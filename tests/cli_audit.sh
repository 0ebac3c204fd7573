#!/bin/sh
# Audit-trail tests: a trace and a manifest are recorded, verify passes on
# them and classifies outputs re-run on another rounding (within rounding)
# and of a changed model (different), trace-diff finds a deliberately
# changed weight at the right layer, also across roundings,
# selfcheck and gradcheck pass on resnet18 and densenet121, and explain is
# bit-for-bit deterministic for every method at a fixed thread count.
. tests/lib_cli.sh
G=tests/data/golden/resnet18_c1k10

$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/a.st" '"input_size":"64"'
$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/b.st" '"input_size":"64"' layer3.1.conv2.weight
$B/tests/tool_mkmodel densenet121 3 5 3 F16 "$T/d.st" '"input_size":"64"'

# trace + manifest + verify
if $S predict -m "$T/a.st" --input-npy $G/x.npy --trace "$T/a.jsonl" -o "$T/runA" >/dev/null 2>"$T/err"; then
  n=$(wc -l <"$T/a.jsonl")
  grep -q '"op":"conv2d","layer":"layer3.1.conv2"' "$T/a.jsonl" && grep -q '"sha256"' "$T/a.jsonl" && grep -q '"l2"' "$T/a.jsonl" \
    && [ -f "$T/runA/manifest.json" ] && grep -q '"openblas"' "$T/runA/manifest.json" && grep -q '"convolutions": "im2col' "$T/runA/manifest.json" && grep -q '"sha256"' "$T/runA/manifest.json" \
    && pass "trace ($n lines) and manifest recorded" || fail "trace/manifest" "missing fields"
  $S verify "$T/runA/manifest.json" >"$T/v" 2>&1 && grep -q "1 of 1 outputs identical" "$T/v" && pass "verify re-runs predict: $(tail -1 "$T/v")" \
    || fail "verify predict" "$(cat "$T/v")"
else fail "predict with trace" "$(cat "$T/err")"; fi

# verify across machines, simulated: the manifest says another CPU recorded it
# and the re-run takes the reference path (another correct rounding): every
# output identical or within rounding, exit 0; a changed model: DIFFERENT, exit 1
if $S explain -m "$T/a.st" --input-npy $G/x.npy -M gradient,gradcam -o "$T/runE" >/dev/null 2>&1; then
  grep -q '"cpu": "' "$T/runE/manifest.json" && pass "manifest names the CPU" || fail "manifest cpu" "no cpu key"
  sed -e 's|"cpu": "[^"]*"|"cpu": "another CPU"|' -e 's|^    "explain",|    "explain", "--reference",|' \
    "$T/runE/manifest.json" >"$T/runE/other.json"
  $S verify "$T/runE/other.json" >"$T/v2" 2>&1; rc=$?
  [ $rc -eq 0 ] && grep -q "recorded on another machine" "$T/v2" && grep -q "within rounding (max difference" "$T/v2" \
    && grep -q ", 0 different" "$T/v2" && pass "verify on another machine: $(tail -1 "$T/v2")" \
    || fail "verify across machines" "rc $rc: $(cat "$T/v2")"
  sed -e "s|$T/a.st|$T/b.st|" "$T/runE/manifest.json" >"$T/runE/changed.json"
  $S verify "$T/runE/changed.json" >"$T/v3" 2>&1; rc=$?
  [ $rc -eq 1 ] && grep -q "DIFFERENT (max difference" "$T/v3" && grep -q "same machine and build" "$T/v3" \
    && pass "verify of a changed model: $(tail -1 "$T/v3")" || fail "verify changed model" "rc $rc: $(cat "$T/v3")"
else fail "explain for verify" "did not run"; fi

# trace-diff: same model -> no difference; one changed weight -> first difference at layer3.1.conv2
$S predict -m "$T/a.st" --input-npy $G/x.npy --trace "$T/a2.jsonl" >/dev/null 2>&1
$S trace-diff "$T/a.jsonl" "$T/a2.jsonl" >"$T/d0" 2>&1 && grep -q "^0 of" "$T/d0" && pass "trace-diff of two identical runs: $(tail -1 "$T/d0")" \
  || fail "trace-diff identical" "$(cat "$T/d0")"
$S predict -m "$T/b.st" --input-npy $G/x.npy --trace "$T/b.jsonl" >/dev/null 2>&1
$S trace-diff "$T/a.jsonl" "$T/b.jsonl" >"$T/d1" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "first bits differ at seq .*: conv2d layer3.1.conv2 " "$T/d1" \
  && grep -q "first difference beyond rounding at seq .*: conv2d layer3.1.conv2 " "$T/d1" \
  && pass "trace-diff finds the changed weight at layer3.1.conv2" || fail "trace-diff changed weight" "rc $rc: $(cat "$T/d1")"
# across roundings (the reference path stands in for another machine): bits
# differ from the first conv on, but nothing beyond rounding (exit 3); with the
# changed weight as well, the first difference beyond rounding is still that layer
$S predict -m "$T/a.st" --input-npy $G/x.npy --trace "$T/ar.jsonl" --reference >/dev/null 2>&1
$S trace-diff "$T/a.jsonl" "$T/ar.jsonl" >"$T/d2" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "first bits differ at seq .*: conv2d conv1 " "$T/d2" && grep -q " 0 beyond rounding" "$T/d2" \
  && pass "trace-diff across roundings: $(tail -1 "$T/d2")" || fail "trace-diff across roundings" "rc $rc: $(cat "$T/d2")"
$S predict -m "$T/b.st" --input-npy $G/x.npy --trace "$T/br.jsonl" --reference >/dev/null 2>&1
$S trace-diff "$T/a.jsonl" "$T/br.jsonl" >"$T/d3" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "first bits differ at seq .*: conv2d conv1 " "$T/d3" \
  && grep -q "first difference beyond rounding at seq .*: conv2d layer3.1.conv2 " "$T/d3" \
  && pass "trace-diff across roundings finds the changed weight at layer3.1.conv2" || fail "trace-diff rounding + weight" "rc $rc: $(cat "$T/d3")"

# grad traces include backward lines
$S grad -m "$T/a.st" --input-npy $G/x.npy --class 3 --out "$T/g.npy" --trace "$T/g.jsonl" >/dev/null 2>&1 \
  && grep -q '"pass":"grad backward"' "$T/g.jsonl" && pass "grad trace has backward operations" || fail "grad trace" "no backward lines"

# selfcheck and gradcheck
for m in a d; do
  $S selfcheck -m "$T/$m.st" >"$T/sc" 2>&1 && grep -q "PASS$" "$T/sc" && pass "selfcheck $m: $(tail -1 "$T/sc")" || fail "selfcheck $m" "$(tail -5 "$T/sc")"
  $S gradcheck -m "$T/$m.st" --pixels 12 >"$T/gc" 2>&1 && grep -q "PASS$" "$T/gc" && pass "gradcheck $m: $(tail -1 "$T/gc")" || fail "gradcheck $m" "$(tail -5 "$T/gc")"
done
exit 0
