#!/bin/sh
# The shipped models (weights/) on the bundled samples: `salient predict`
# gives the probabilities PyTorch gave when the models were exported, to 1e-4
# (engine.h ENG_ROUND_REL, "within rounding": an identity check of the shipped
# files; the precision of the engine against PyTorch is tests/test_models.c's).
. tests/lib_cli.sh
G=tests/data/samples/golden_probs.json
for pair in brain_resnet18:brain cxr_densenet121:cxr; do
  m=${pair%%:*}; d=${pair#*:}
  if [ ! -f weights/$m.safetensors ] || [ ! -f $G ]; then echo "FAIL shipped $m: weights or golden missing"; continue; fi
  $S predict -m weights/$m.safetensors --json $(find tests/data/samples/$d -name '*.png' ! -name '*.mask.png' | sort) >"$T/$m.json" 2>"$T/err"
  if $B/tests/tool_probcheck "$T/$m.json" $G $m 1e-4 >"$T/out"; then echo "PASS shipped $m predict matches torch: $(cat "$T/out")"
  else echo "FAIL shipped $m predict vs torch: $(cat "$T/out" "$T/err")"; fi
done
exit 0
