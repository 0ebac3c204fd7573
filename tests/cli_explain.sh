#!/bin/sh
# explain's command-line behaviour: the input size comes from --input-npy's
# array, same-named images are refused before anything is written, and a
# failed image gives one message, not a second one about the manifest.
. tests/lib_cli.sh
G=tests/data/golden/resnet18_c1k10
$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/m.st" '"input_size":"32"' >/dev/null
# x.npy holds two 64x64 images; the model's metadata says 32
if $S explain -m "$T/m.st" --input-npy $G/x.npy -M gradcam --no-png -o "$T/npy" >/dev/null 2>"$T/err" &&
   grep -q '"size": 64' "$T/npy/x_0/explain.json"; then
  pass "explain --input-npy takes the input size from the array (64, metadata 32)"
else fail "explain --input-npy size" "$(tail -2 "$T/err")"; fi
# a model whose metadata scales each input by a percentile: explain.json says so
$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/ip.st" '"input_size":"32","intensity_percentile":"99.5"' >/dev/null
if $S explain -m "$T/ip.st" -M gradcam --no-png tests/data/io/gain_base.pgm -o "$T/ip" >/dev/null 2>"$T/err" &&
   grep -q '"intensity_percentile": 99.5' "$T/ip/gain_base/explain.json" &&
   grep -q '"preprocessed": "[^"]*divided by the intensity_percentile-th percentile' "$T/ip/gain_base/explain.json"; then
  pass "explain.json records the model's intensity scale"
else fail "explain.json intensity scale" "$(tail -2 "$T/err"; grep -A3 '"input"' "$T/ip/gain_base/explain.json" 2>/dev/null)"; fi
mkdir -p "$T/a" "$T/b"
img=tests/data/samples/brain/glioma/Te-gl_0017.png
cp $img "$T/a/s.png"; cp $img "$T/b/s.png"
expect_error "explain refuses two images that would write to the same folder" "would both write to" \
  $S explain -m "$T/m.st" -M gradcam "$T/a/s.png" "$T/b/s.png" -o "$T/same"
[ ! -e "$T/same" ] && pass "explain wrote nothing for the refused pair" || fail "refused pair" "$T/same exists"
expect_error "explain names a missing image" "nonexistent.png" \
  $S explain -m "$T/m.st" -M gradcam "$T/a/nonexistent.png" -o "$T/miss"
n=$(grep -c . "$T/err")
[ "$n" -eq 1 ] && ! grep -q manifest "$T/err" && pass "a failed image gives one message and no manifest error" \
  || fail "one message" "$n lines: $(cat "$T/err")"
# a NIfTI volume: the slice and window chosen on the command line are used and recorded
if $S explain -m "$T/m.st" -M gradcam --no-png tests/data/nifti/anatomical.nii --slice coronal --window 500,1000 \
     -o "$T/nii" >/dev/null 2>"$T/err" &&
   grep -q '"slice": "coronal:' "$T/nii/anatomical/explain.json" &&
   grep -q '"window_center": 500' "$T/nii/anatomical/explain.json" &&
   grep -q '"window_width": 1000' "$T/nii/anatomical/explain.json" &&
   grep -q '"decoded": "nifti1, window center-width (centre 500, width 1000' "$T/nii/manifest.json"; then
  pass "explain on a NIfTI volume records the slice and window it used in explain.json and the manifest (--slice coronal --window 500,1000)"
else fail "NIfTI explain" "$(tail -2 "$T/err")"; fi
expect_error "--window with one number is refused and points to --occ-window" "occ-window" \
  $S explain -m "$T/m.st" -M occlusion --window 15 "$T/a/s.png" -o "$T/w15"
