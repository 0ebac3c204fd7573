#!/bin/sh
# Runs every test program (build/tests/test_*) and every shell test
# (tests/cli_*.sh). Each prints one line per check: "PASS name" or
# "FAIL name: why". A program that crashes or exits non-zero without
# printing a FAIL counts as one failure. Ends with "N passed, M failed".
BUILD=${BUILD:-build}
T=${T:-}      # a name filter: only the tests whose file name contains it
SALIENT=${SALIENT:-./salient}
export SALIENT BUILD
log=$(mktemp); trap 'rm -f "$log"' EXIT
# the machine first: whatever kernel OpenBLAS picked here, and the CPU
"$SALIENT" --version 2>/dev/null | sed 's/^/# /'
pass=0; fail=0
run_one() {
  name=$1; shift
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP)' 
  p=$(printf '%s\n' "$out" | grep -c '^PASS'); f=$(printf '%s\n' "$out" | grep -c '^FAIL')
  if [ $rc -ne 0 ] && [ $f -eq 0 ]; then
    echo "FAIL $name: exited with status $rc"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
    f=1
  elif [ $f -ne 0 ]; then
    printf '%s\n' "$out" | grep -v -E '^(PASS|SKIP)' | tail -n 15 | sed 's/^/    /'
  fi
  pass=$((pass + p)); fail=$((fail + f))
}
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  case $(basename "$t") in *"$T"*) ;; *) continue ;; esac
  echo "== $(basename "$t")"
  run_one "$(basename "$t")" "$t"
done
for t in tests/cli_*.sh; do
  [ -f "$t" ] || continue
  case $(basename "$t") in *"$T"*) ;; *) continue ;; esac
  echo "== $(basename "$t")"
  run_one "$(basename "$t")" sh "$t"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
