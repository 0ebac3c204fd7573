# lib_cli.sh - sourced by every tests/cli_*.sh (run from the repository root
# by tests/run.sh): the program under test, a scratch folder removed on exit,
# and the PASS/FAIL line helpers that run.sh counts.
S=${SALIENT:-./salient}
B=${BUILD:-build}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
# expect_error NAME PATTERN CMD...: non-zero exit, no crash, stderr matches PATTERN
expect_error() {
  name=$1; pat=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  if [ $rc -eq 0 ]; then fail "$name" "exit 0"; return; fi
  if [ $rc -ge 128 ]; then fail "$name" "crashed (status $rc): $(tail -3 "$T/err")"; return; fi
  if grep -q -- "$pat" "$T/err"; then pass "$name"; else fail "$name" "message '$(cat "$T/err")' lacks '$pat'"; fi
}
