#!/bin/sh
# The Slurm recipe (tools/slurm/) on a real Slurm: a private one-node
# cluster on this machine (munged, slurmctld and slurmd, all on localhost,
# configured, keyed and logged inside the scratch folder; /etc/slurm and the
# system's munge key are never read or touched). The test submits a
# 4-image, 2-method study (salient study with a one-variant protocol: the
# bundled brain model, Grad-CAM and random, PIC with the paper's target rule
# and entropy, insertion/deletion) as a 2-task array job with
# tools/slurm/submit.sh, which
# queues the merge behind it with --dependency=afterok; it waits for both,
# then runs the same study unsharded and checks that the merged
# results.csv, curves and summary.json equal the unsharded ones.
# Skipped, with the reason, when Slurm or munge is not installed
# (apt-get install slurm-wlm munge) or the daemons cannot start here (the
# last lines of their logs are printed). The daemons are stopped and the
# folder removed on every exit. Run alone: sh tests/cli_slurm.sh (prints
# the transcript of commands and their output) or make test T=slurm.
. tests/lib_cli.sh
t0=$(date +%s)
PATH=$PATH:/usr/sbin:/sbin
skip() { echo "SKIP slurm: $1"; exit 0; }
say() { echo "$*"; }                 # the transcript (run.sh shows it only on a failure)
run() { echo "\$ $*"; "$@"; }         # a command and its output, in the transcript
WAIT=${SLURM_TEST_TIMEOUT:-300}      # seconds for the jobs; every wait below has a limit

missing=""
for p in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v $p >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] || skip "not installed:$missing (apt-get install slurm-wlm munge)"
MODEL=weights/brain_resnet18.safetensors; SRC=tests/data/samples/brain
[ -s $MODEL ] && [ -s $SRC/labels.txt ] || skip "$MODEL or $SRC missing"

# ---- stopping everything we started, on every exit --------------------------
C=$T/cluster; ctld=""; slurmd_pid=""; munged_pid=""; JOBS=""
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() {  # PID: TERM, up to 15 s, then KILL
  alive "$1" || return 0
  kill "$1" 2>/dev/null; i=0
  while alive "$1" && [ $i -lt 30 ]; do sleep 0.5; i=$((i + 1)); done
  alive "$1" && kill -9 "$1" 2>/dev/null
  return 0
}
cleanup() {
  if alive "$ctld"; then
    [ -n "$JOBS" ] && scancel $JOBS >/dev/null 2>&1
    i=0; while [ -n "$JOBS" ] && [ -n "$(squeue -h 2>/dev/null)" ] && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
    timeout 10 scontrol shutdown >/dev/null 2>&1
  fi
  stop_pid "$slurmd_pid"; stop_pid "$ctld"; stop_pid "$munged_pid"
  # a job step left behind (a failure mid-run): its command line names our folder
  for d in /proc/[0-9]*; do
    case $(tr '\0' ' ' 2>/dev/null <"$d/cmdline") in *"$T/"*) kill -9 "${d#/proc/}" 2>/dev/null ;; esac
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
logtail() { for f in "$@"; do [ -s "$f" ] && { echo "--- $(basename "$f"):"; tail -n 6 "$f"; }; done; }

# ---- munge with a fresh key in the scratch folder ----------------------------
# munged refuses a socket folder that others cannot enter and a key that
# others can read: the scratch folder 0711, the socket's folder 0755, the key 0400.
chmod 711 "$T"; mkdir -p "$C/munge" "$C/sock" "$C/log" "$C/state" "$C/spool"
chmod 700 "$C/munge"; chmod 755 "$C/sock"
dd if=/dev/urandom of="$C/munge/munge.key" bs=1024 count=1 2>/dev/null; chmod 400 "$C/munge/munge.key"
SOCK=$C/sock/munge.socket
say "\$ munged -F --socket=$SOCK --key-file=$C/munge/munge.key ... &"
munged -F --socket="$SOCK" --key-file="$C/munge/munge.key" --pid-file="$C/munge/munged.pid" \
  --seed-file="$C/munge/munged.seed" --log-file="$C/log/munged.log" >"$C/log/munged.out" 2>&1 </dev/null &
munged_pid=$!
i=0; until munge -S "$SOCK" -n 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1; do
  i=$((i + 1)); alive "$munged_pid" && [ $i -lt 20 ] || skip "munged did not start here: $(logtail "$C/log/munged.log" "$C/log/munged.out" | tr '\n' ' ')"
  sleep 0.5
done
say "munge: a credential encodes and decodes"

# ---- slurm.conf: one node, this machine --------------------------------------
H=$(hostname -s); U=$(id -un)
CPUS=$(nproc); MEM=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
PORT=$((20000 + $$ % 20000))   # ports of our own, away from a real slurmctld (6817) and slurmd (6818)
cat >"$C/slurm.conf" <<EOF
ClusterName=salienttest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=$U
SlurmdUser=$U
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
DependencyParameters=kill_invalid_depend
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$C/slurm.conf
say "slurm.conf: node $H, $CPUS CPUs, $MEM MB, ports $PORT/$((PORT + 1)), all state and logs in the scratch folder"
run slurmctld -V
say "\$ slurmctld -D -c -f \$SLURM_CONF &   slurmd -D -f \$SLURM_CONF &"
slurmctld -D -c -f "$C/slurm.conf" >"$C/log/slurmctld.out" 2>&1 </dev/null & ctld=$!
slurmd -D -f "$C/slurm.conf" >"$C/log/slurmd.out" 2>&1 </dev/null & slurmd_pid=$!
i=0; state=""
while [ "$state" != idle ]; do
  if ! alive "$ctld" || ! alive "$slurmd_pid" || [ $i -ge 60 ]; then
    why="node state '${state:-none}' after $((i / 2)) s"
    alive "$ctld" || why="slurmctld exited"; alive "$slurmd_pid" || why="slurmd exited"
    skip "the Slurm daemons did not start here ($why): $(logtail "$C/log/slurmctld.log" "$C/log/slurmctld.out" "$C/log/slurmd.log" "$C/log/slurmd.out" | tr '\n' ' ')"
  fi
  sleep 0.5; i=$((i + 1))
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1)
done
run sinfo
pass "a private Slurm ($(slurmctld -V)) with munge starts on $H; the node is idle after $((i / 2)) s"

# ---- the data: 4 brain slices, one per class ---------------------------------
for c in glioma meningioma notumor pituitary; do
  f=$(ls $SRC/$c | grep -v '\.mask\.png$' | head -1)
  mkdir -p "$T/data/$c"; cp "$SRC/$c/$f" "$T/data/$c/"
done
# the study: one data set, one variant (the paper's target rule and entropy)
cat >"$T/s.study" <<EOT
name = slurm-test
seed = 7
methods = gradcam, random
insdel = on
[variant paper]
target = paper
info = entropy
min_pred = 0
[data brain]
model = $PWD/$MODEL
list = $T/data
EOT
# relative paths: the jobs run in the folder they were submitted from, the repository's root
SAL=$S
ARGS="$T/s.study --labels $SRC/labels.txt --insdel-steps 8"
export SALIENT_CMD=study MERGE_CMD="study $T/s.study --merge"

# ---- submit: the array (2 shards) and the merge after it ---------------------
OUT=$T/runs/brain
say "\$ SALIENT_CMD=study MERGE_CMD=\"study $T/s.study --merge\" SBATCH_OPTS=--cpus-per-task=1 SALIENT=$SAL tools/slurm/submit.sh 2 $OUT -- $ARGS"
SBATCH_OPTS=--cpus-per-task=1 SALIENT=$SAL tools/slurm/submit.sh 2 "$OUT" -- $ARGS >"$T/ids" 2>&1; rc=$?
cat "$T/ids"
A=$(sed -n 's/^array \([0-9]*\)$/\1/p' "$T/ids"); M=$(sed -n 's/^merge \([0-9]*\)$/\1/p' "$T/ids")
JOBS="$A $M"
[ $rc -eq 0 ] && [ -n "$A" ] && [ -n "$M" ] && pass "submit.sh queues the 2-task array (job $A) and the merge after it (job $M)" \
  || { fail "submit" "rc $rc: $(cat "$T/ids")"; exit 1; }
i=0; last=""
while :; do
  q=$(squeue -h -o '%i %j %T %r' 2>&1)
  [ "$q" != "$last" ] && { echo "\$ squeue   (after $i s)"; squeue; last=$q; }
  [ -z "$q" ] && break
  if [ $i -ge "$WAIT" ]; then fail "jobs" "not finished after $WAIT s: $q"; logtail "$OUT"/slurm-*.out; exit 1; fi
  sleep 1; i=$((i + 1))
done
echo "\$ scontrol -o show job $A; scontrol -o show job $M   (the states)"
sa=$(scontrol -o show job "$A" | grep -o 'ArrayTaskId=[0-9]* .*JobState=[A-Z_]*' | sed 's/ .*JobState=/ /' | sort)
sm=$(scontrol -o show job "$M" | grep -o 'JobState=[A-Z_]*')
echo "$sa" | sed 's/^/array /'; echo "merge $sm"
[ "$(echo "$sa" | tr '\n' ' ')" = "ArrayTaskId=0 COMPLETED ArrayTaskId=1 COMPLETED " ] && [ "$sm" = "JobState=COMPLETED" ] \
  && pass "both array tasks and the merge job COMPLETED in $i s" \
  || { fail "job states" "array: $(echo "$sa" | tr '\n' ' ')merge: $sm"; logtail "$OUT"/slurm-*.out; exit 1; }
for f in "$OUT"/slurm-*.out; do echo "--- $(basename "$f")"; cat "$f"; done

# each task ran one shard: 2 of the 4 images (x 2 methods), its shard noted
R0=$OUT/shard-0/brain/paper; R1=$OUT/shard-1/brain/paper
n0=$(tail -n +2 "$R0/results.csv" 2>/dev/null | wc -l); n1=$(tail -n +2 "$R1/results.csv" 2>/dev/null | wc -l)
[ "$n0" -eq 4 ] && [ "$n1" -eq 4 ] && grep -q '"shard": "0/2"' "$R0/run.json" && grep -q '"shard": "1/2"' "$R1/run.json" \
  && pass "the array's tasks wrote shard 0/2 and 1/2, 4 rows each (2 images x 2 methods)" \
  || fail "shards" "rows $n0 and $n1; $(grep '"shard"' "$OUT"/shard-*/brain/paper/run.json)"

# ---- the same run unsharded, the same threads, outside Slurm -----------------
say "\$ $S study $ARGS --threads 1 -o $T/full"
"$S" study $ARGS --threads 1 -o "$T/full" >"$T/full.out" 2>&1; rc=$?
[ $rc -eq 0 ] || { fail "unsharded run" "rc $rc: $(tail -3 "$T/full.out")"; exit 1; }
F=$T/full/brain/paper; G=$OUT/merged/brain/paper
rows() { tail -n +2 "$1" | sed 's/,[^,]*$//' | LC_ALL=C sort; }   # the rows without the seconds column, sorted
rows "$F/results.csv" >"$T/r1"; rows "$G/results.csv" >"$T/r2"
head -1 "$F/results.csv" >"$T/h1"; head -1 "$G/results.csv" >"$T/h2"
[ "$(wc -l <"$T/r1")" -eq 8 ] && cmp -s "$T/h1" "$T/h2" && cmp -s "$T/r1" "$T/r2" \
  && pass "merged results.csv = unsharded: the 8 rows (4 images x 2 methods), every value but the seconds" \
  || fail "results.csv" "$(diff "$T/r1" "$T/r2" | head -6)"
tail -n +2 "$F/curves_images.csv" | LC_ALL=C sort >"$T/c1"; tail -n +2 "$G/curves_images.csv" | LC_ALL=C sort >"$T/c2"
cmp -s "$T/c1" "$T/c2" && cmp -s "$F/curves.csv" "$G/curves.csv" \
  && pass "merged curves_images.csv and curves.csv = unsharded, byte for byte" \
  || fail "curves" "$(diff "$T/c1" "$T/c2" | head -4)"
# summary.json, every field but two kinds, which record how the run was made:
#   merged_from           the merge's sources (each shard's folder, shard I/N, rows); an unsharded run has none
#   methods.*.seconds_mean  the mean seconds per image of each method: wall-clock time, never equal twice
# Trailing commas are dropped so that removing a member leaves no comma difference.
summ() { sed '/^  "merged_from": \[/,/^  \]/d; /"seconds_mean":/d; s/,$//' "$1"; }
summ "$F/summary.json" >"$T/s1"; summ "$G/summary.json" >"$T/s2"
grep -q '"merged_from"' "$G/summary.json" && grep -q '"shard": "1/2"' "$G/summary.json" \
  && [ "$(wc -l <"$T/s1")" -gt 100 ] && cmp -s "$T/s1" "$T/s2" \
  && pass "merged summary.json = unsharded ($(wc -l <"$T/s1") lines: model, accuracy, confusion, every statistic), apart from merged_from and the timings" \
  || fail "summary.json" "$(diff "$T/s1" "$T/s2" | head -6)"
echo "--- the unsharded run:"; sed -n '/^method /,$p' "$T/full.out"
say "the test took $(( $(date +%s) - t0 )) s"
