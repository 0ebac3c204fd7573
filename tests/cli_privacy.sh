#!/bin/sh
# Privacy: a DICOM file whose patient-identifying attributes (name, ID,
# birth date, accession number, institution and address, referring
# physician, patient address, other IDs, study ID) hold marker strings
# (tests/data/dicom/privacy_canary.dcm, tools/make_privacy_canary.py) goes
# through predict, explain (with a trace and --verbose), pic, evaluate and
# sanity; no output file, no figure and nothing printed contains any marker.
# Files are identified by path and SHA-256 only.
. tests/lib_cli.sh
C=tests/data/dicom/privacy_canary.dcm
[ -f $C ] || { fail "privacy canary" "$C missing"; exit 0; }
MARK='CANARY\|19010203'
mkdir -p "$T/data/glioma" "$T/data/notumor"
cp $C "$T/data/glioma/scan1.dcm"
cp $C "$T/data/notumor/scan2.dcm"
$B/tests/tool_mkmodel resnet18 1 2 1 F32 "$T/m.st" '"input_size":"32","labels":"glioma,notumor"' >/dev/null
out="$T/out"; mkdir -p "$out"
{
  $S predict -m "$T/m.st" --json $C
  $S explain -m "$T/m.st" -M gradcam,gradient,random --verbose --trace "$T/out/trace.jsonl" -o "$out/explain" $C
  $S explain -m "$T/m.st" -M gradcam -o "$out/explain_label" --label glioma --window 600,1600 $C
  $S explain -m "$T/m.st" -M random --no-png --input-npy tests/data/golden/resnet18_c1k10/x.npy -o "$out/npy"
  $S evaluate -m "$T/m.st" -M gradcam,random --min-pred 0 --insdel-steps 4 -d "$T/data" -o "$out/eval"
  $S sanity -m "$T/m.st" -M gradient,random -o "$out/sanity" $C
} >"$T/stdout" 2>"$T/stderr"
[ -s "$out/explain/privacy_canary/explain.json" ] && [ -s "$out/eval/report.html" ] && [ -s "$out/sanity/sanity.json" ] \
  && pass "privacy: explain, evaluate and sanity ran on the marked DICOM file" \
  || fail "privacy: runs" "$(tail -5 "$T/stderr")"
n=$(find "$out" -type f | wc -l)
hits=$(grep -rla "$MARK" "$out" "$T/stdout" "$T/stderr" 2>/dev/null)
[ -z "$hits" ] && [ "$n" -gt 20 ] && pass "privacy: none of $n output files, stdout or stderr holds a patient attribute" \
  || fail "privacy: leaked" "$hits"
# deflated PNG text is not greppable: the figures' title text comes from explain.json's figure fields, checked above
grep -q '"sha256"' "$out/explain/privacy_canary/explain.json" && ! grep -q 'Patient' "$out/explain/privacy_canary/explain.json" \
  && pass "privacy: the input is identified by path and SHA-256" || fail "privacy: identification" "no sha256 or a Patient key"
