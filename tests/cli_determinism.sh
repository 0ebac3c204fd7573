#!/bin/sh
# Determinism: the same binary, machine and thread count give every output of
# every method identical to the bit (explain -M all twice, byte comparison of
# every .npy); 1 thread vs 2 threads: the largest difference per method is
# measured and printed (documented in the README, not asserted).
. tests/lib_cli.sh
G=tests/data/golden/resnet18_c1k10
$B/tests/tool_mkmodel resnet18 1 10 1 F32 "$T/m.st" '"input_size":"64"'
P="--steps 4 --samples 2 --masks 64 --stride 8 --seed 7 --no-png"
for run in a b; do
  $S explain -m "$T/m.st" --input-npy $G/x.npy -M all $P --threads 2 -o "$T/$run" >/dev/null 2>"$T/err.$run" || fail "explain all run $run" "$(tail -3 "$T/err.$run")"
done
$S explain -m "$T/m.st" --input-npy $G/x.npy -M all $P --threads 1 -o "$T/one" >/dev/null 2>&1
n=0; bad=""
for f in "$T"/a/x_0/*.npy "$T"/a/x_1/*.npy; do
  rel=${f#"$T"/a/}
  n=$((n + 1))
  cmp -s "$f" "$T/b/$rel" || bad="$bad $rel"
done
[ $n -gt 40 ] && [ -z "$bad" ] && pass "explain -M all twice at 2 threads: all $n arrays identical to the bit" \
  || fail "same-thread determinism" "$n arrays, differing:$bad"
for f in "$T"/a/x_0/*.npy; do
  m=$(basename "$f" .npy)
  printf '    threads 1 vs 2, %-22s %s\n' "$m" "$($B/tests/tool_npycmp "$f" "$T/one/x_0/$m.npy" 1 2>&1)"
done
# seeds are recorded, and another seed changes the seeded methods
grep -q '"seed": 7' "$T/a/x_0/explain.json" && pass "explain.json records the seed" || fail "seed recorded" "no seed 7"
$S explain -m "$T/m.st" --input-npy $G/x.npy -M random,rise $P --seed 8 -o "$T/s8" >/dev/null 2>&1
cmp -s "$T/a/x_0/random.npy" "$T/s8/x_0/random.npy" && fail "another seed" "random map unchanged" || pass "another seed gives another random map"
exit 0
