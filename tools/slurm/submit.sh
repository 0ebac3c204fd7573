#!/bin/sh
# submit.sh - queue a sharded salient run on Slurm: an array of N shard
# tasks (evaluate_array.sbatch) and a merge (merge.sbatch) that starts only
# after every task has succeeded (--dependency=afterok).
#
#   tools/slurm/submit.sh N OUTBASE -- SALIENT-ARGS...
#   tools/slurm/submit.sh 8 runs/brain -- -m model.safetensors -d data/test -M gradcam,ig,random
#
# Prints the two job ids ("array JOBID", "merge JOBID"). Logs go to
# OUTBASE/slurm-*.out, shards to OUTBASE/shard-I, the result to
# OUTBASE/merged. Extra sbatch options (account, partition, QOS) go in
# SBATCH_OPTS, e.g. SBATCH_OPTS="--account=radiology --partition=gpu";
# SALIENT, THREADS and SALIENT_CMD/MERGE_CMD reach the jobs from your
# environment (see the two .sbatch files). Relative paths are relative to
# the folder you submit from, which is where the jobs run.
set -eu
if [ $# -lt 3 ] || [ "$3" != "--" ]; then
  echo "usage: $0 N OUTBASE -- SALIENT-ARGS..." >&2; exit 2
fi
N=$1; OUTBASE=$2; shift 3
case $N in ''|*[!0-9]*) echo "$0: N must be a positive number, not '$N'" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "$0: N must be at least 1" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUTBASE"
# shellcheck disable=SC2086
J=$(sbatch --parsable ${SBATCH_OPTS:-} --array=0-$((N - 1)) --export=ALL,SHARDS="$N" \
      --output="$OUTBASE/slurm-%A_%a.out" "$HERE/evaluate_array.sbatch" "$OUTBASE" "$@")
J=${J%%;*}   # --parsable prints JOBID or JOBID;CLUSTER
echo "array $J"
# shellcheck disable=SC2086
M=$(sbatch --parsable ${SBATCH_OPTS:-} --dependency=afterok:"$J" --export=ALL,SHARDS="$N" \
      --output="$OUTBASE/slurm-%j.out" "$HERE/merge.sbatch" "$OUTBASE")
M=${M%%;*}
echo "merge $M"
