#!/bin/sh
# Command-line tests of the engine commands: info, layers, predict, grad,
# bench, and the bad-input cases of the weights and image readers (each must
# give a clear message and a non-zero exit, never a crash: exit codes >= 128
# mean a signal and fail the test).
. tests/lib_cli.sh
G=tests/data/golden/resnet18_c1k10

$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/r18.safetensors" '"labels":"c0,c1,c2,c3,c4,c5,c6,c7,c8,c9","input_size":"64"' || fail mkmodel "could not write the test model"
M="$T/r18.safetensors"

# info / layers
$S info -m "$M" >"$T/info" 2>&1 && grep -q "resnet18" "$T/info" && grep -q "classes         10" "$T/info" \
  && grep -q "input channels  1" "$T/info" && grep -q "parameters      11175370" "$T/info" \
  && grep -q "$(sha256sum "$M" | cut -c1-64)" "$T/info" && pass "info shows arch, classes, channels, parameters, sha256" \
  || fail "info" "$(cat "$T/info")"
$S layers -m "$M" >"$T/layers" 2>&1 && grep -q "^layer4 .*(1, 512, 2, 2)" "$T/layers" && grep -q "^layer3.1.conv2 " "$T/layers" \
  && grep -q "^fc .*(1, 10)" "$T/layers" && pass "layers lists torchvision names with shapes" || fail "layers" "$(head -5 "$T/layers")"

# predict on the golden input, logits compared with torch's, on both paths.
# The bar is "within rounding" (engine.h ENG_ROUND_REL, 1e-4): these check
# that the command line hands over what the engine computes; the engine's
# precision against torch, with bars from torch's own float32 spread, is
# tests/test_models.c's.
for ref in "" --reference; do
  if $S predict -m "$M" --input-npy $G/x.npy --logits-npy "$T/logits.npy" $ref 2>"$T/err" && \
     $B/tests/tool_npycmp "$T/logits.npy" $G/logits.npy 1e-4 >"$T/cmp"; then pass "predict --input-npy $ref logits match torch ($(cat "$T/cmp"))"
  else fail "predict --input-npy $ref" "$(cat "$T/err" "$T/cmp" 2>/dev/null)"; fi
done

# grad with a layer, compared with torch's
if $S grad -m "$M" --input-npy $G/x.npy --class 3 --out "$T/g.npy" --layer layer3 --act-npy "$T/a.npy" \
     --layer-grad-npy "$T/ga.npy" 2>"$T/err" && $B/tests/tool_npycmp "$T/g.npy" $G/grad.npy 1e-4 >"$T/c1" && \
   $B/tests/tool_npycmp "$T/a.npy" $G/act_layer3.npy 1e-4 >"$T/c2" && $B/tests/tool_npycmp "$T/ga.npy" $G/grad_layer3.npy 1e-4 >"$T/c3"; then
  pass "grad --layer matches torch (input $(cat "$T/c1"); act $(cat "$T/c2"); layer grad $(cat "$T/c3"))"
else fail "grad --layer" "$(cat "$T/err" "$T/c1" "$T/c2" "$T/c3" 2>/dev/null)"; fi

# predict on images: a PNG, and a missing one among them (reported, skipped, non-zero exit)
IMG=$(ls tests/data/io/*.png 2>/dev/null | head -1)
if [ -n "$IMG" ]; then
  $S predict -m "$M" --json "$IMG" >"$T/pj" 2>"$T/err" && grep -q '"probs"' "$T/pj" && pass "predict --json on an image" || fail "predict image" "$(cat "$T/err")"
  $S predict -m "$M" "$IMG" "$T/nope.png" >"$T/p2" 2>"$T/err"; rc=$?
  [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "nope.png" "$T/err" && grep -q "$IMG" "$T/p2" && pass "predict skips an unreadable image and reports it" \
    || fail "predict skip" "rc $rc: $(cat "$T/err")"
fi
: >"$T/empty.png"
expect_error "zero-size image" "empty.png" $S predict -m "$M" "$T/empty.png"
printf 'not an image at all' >"$T/junk.jpg"
expect_error "corrupt image" "junk.jpg" $S predict -m "$M" "$T/junk.jpg"

# bench prints the three keys
$S bench -m "$M" --size 64 --batch 2 --repeat 2 >"$T/b" 2>&1 && grep -q forward_ms "$T/b" && grep -q forward_backward_ms "$T/b" \
  && grep -q peak_rss_mb "$T/b" && pass "bench prints forward_ms, forward_backward_ms, peak_rss_mb" || fail bench "$(cat "$T/b")"
# bench --gemm openblas: the same pass with OpenBLAS's sgemm (for measuring the fixed-order gemm's cost)
$S bench -m "$M" --size 64 --repeat 2 --gemm openblas >"$T/b" 2>&1 && grep -q '"gemm": "openblas"' "$T/b" \
  && pass "bench --gemm openblas runs and says so" || fail "bench --gemm" "$(cat "$T/b")"
expect_error "bench --gemm of an unknown kind" "expected engine or openblas" $S bench -m "$M" --size 64 --gemm cuda
# bench --profile: per-op table on stderr (convolutions, the fused groups' backward under relu, a total), JSON line on stdout
$S bench -m "$M" --size 64 --batch 2 --repeat 2 --profile >"$T/b" 2>"$T/bp" && grep -q forward_ms "$T/b" \
  && grep -q "^conv2d  *[0-9.]*  *[0-9.]*  *[0-9.]*$" "$T/bp" && grep -q "^relu  *0.00  *0.00  *[0-9.]*$" "$T/bp" \
  && grep -q "^total " "$T/bp" && pass "bench --profile prints per-op times (stderr) and the JSON line (stdout)" \
  || fail "bench --profile" "$(cat "$T/b" "$T/bp")"

# metadata intensity_percentile: every input divided by that percentile of its
# own values before mean/std, so an image and the same image x0.7 (16-bit
# levels 10k and 7k: exactly) get the same prediction; without it they do not
# (which shows the pair can tell). The scale itself is checked against
# torch.quantile in tests/test_io.c.
$B/tests/tool_mkmodel resnet18 1 3 1 F32 "$T/ip.st" '"input_size":"32","intensity_percentile":"99"' >/dev/null
$B/tests/tool_mkmodel resnet18 1 3 1 F32 "$T/noip.st" '"input_size":"32"' >/dev/null
gain_dp() {  # max |p(image) - p(image x0.7)| of model $1
  $S predict -m "$1" --json tests/data/io/gain_base.pgm tests/data/io/gain_x07.pgm 2>"$T/err" | tr -d ' \n' |
    sed 's/.*"probs":\[\([^]]*\)\].*"probs":\[\([^]]*\)\].*/\1;\2/' |
    awk -F';' '{n=split($1,a,","); split($2,b,","); m=-1; for(i=1;i<=n;i++){d=a[i]-b[i]; if(d<0)d=-d; if(d>m)m=d}; print m}'
}
d1=$(gain_dp "$T/ip.st"); d0=$(gain_dp "$T/noip.st")
awk -v a="$d1" -v b="$d0" 'BEGIN{exit !(a != "" && a >= 0 && a <= 1e-4 && b > 1e-3)}' \
  && pass "intensity_percentile: an image and the same x0.7 predict alike (max |dp| $d1; $d0 without the scale)" \
  || fail "intensity_percentile" "max |dp| $d1 with the scale, $d0 without: $(cat "$T/err")"
$S info -m "$T/ip.st" | grep -q "intensity scale .*percentile 99 " && pass "info shows the intensity scale" \
  || fail "info intensity scale" "$($S info -m "$T/ip.st")"
$B/tests/tool_mkmodel resnet18 1 3 1 F32 "$T/badip.st" '"intensity_percentile":"120"' >/dev/null
expect_error "metadata intensity_percentile out of range" "intensity_percentile" $S predict -m "$T/badip.st" tests/data/io/gain_base.pgm

# hostile weights files
expect_error "missing weights file" "nope.safetensors" $S info -m "$T/nope.safetensors"
head -c 5 "$M" >"$T/short.st";  expect_error "file shorter than 8 bytes" "short" $S info -m "$T/short.st"
head -c 100000 "$M" >"$T/trunc.st"; expect_error "truncated weights file" "trunc.st" $S info -m "$T/trunc.st"
printf '\377\377\377\377\000\000\000\000{}' >"$T/big.st"; expect_error "header length beyond the file" "header" $S info -m "$T/big.st"
mk() { n=$(printf '%s' "$2" | wc -c); printf "$(printf '\\%03o' $((n % 256)) $((n / 256 % 256)) 0 0 0 0 0 0)" >"$T/$1"; printf '%s' "$2" >>"$T/$1"; printf '%s' "$3" >>"$T/$1"; }
mk json.st '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]' 'xxxx'; expect_error "malformed JSON header" "JSON\|json\|expected" $S info -m "$T/json.st"
mk dtype.st '{"conv1.weight": {"dtype": "F8_FOO", "shape": [1], "data_offsets": [0, 4]}}' 'xxxx'; expect_error "unknown dtype" "F8_FOO" $S info -m "$T/dtype.st"
mk off.st '{"conv1.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}' 'xxxx'; expect_error "offsets outside the data" "conv1.weight" $S info -m "$T/off.st"
mk ovl.st '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}' 'xxxxxxxxxxxx'; expect_error "overlapping tensors" "overlap" $S info -m "$T/ovl.st"
mk deep.st "$(printf '%0.s[' $(seq 1 5000))" ''; expect_error "hostile deeply nested header" "nest\|depth\|deep" $S info -m "$T/deep.st"
mk noarch.st '{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}' 'xxxx'; expect_error "unknown architecture" "architecture" $S info -m "$T/noarch.st"
$B/tests/tool_mkmodel resnet18 1 10 1 F16 "$T/r34.st" >/dev/null; expect_error "missing tensor is named" "layer1.2.conv1.weight" $S info -m "$T/r34.st" --arch resnet34
$B/tests/tool_mkmodel resnet50 3 10 1 F16 "$T/r50.st" >/dev/null; expect_error "shape mismatch shows both shapes" "needs" $S info -m "$T/r50.st" --arch resnet18
expect_error "bad option value" "threads" $S info -m "$M" --threads abc
expect_error "unknown option" "unknown option" $S info -m "$M" --bogus
expect_error "class out of range" "class" $S grad -m "$M" --input-npy $G/x.npy --class 99 --out "$T/g2.npy"
expect_error "npy of the wrong shape" "shape" $S predict -m "$M" --input-npy $G/logits.npy
exit 0
