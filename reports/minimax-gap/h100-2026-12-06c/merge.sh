#!/usr/bin/env bash
# Move the jobs one call of study.sh brought back (its runs.tar.xz) into the study's sweeps and re-make their reports.
# Usage: bash reports/minimax-gap/h100-2026-12-06c/merge.sh RUNS.tar.xz GROUP=SWEEP [GROUP=SWEEP ...]
#   e.g. merge.sh /path/runs.tar.xz qwen3_next=reports/minimax-gap/qwen3_next qwen3_next_ls=reports/minimax-gap/qwen3_next
# A job directory that already exists in the sweep is not overwritten (the script stops); each group's launcher log
# goes beside the sweep's others as launcher-<group>-<date>.log.
set -euo pipefail
runs=$1; shift
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
tar -C $tmp -xJf "$runs"
declare -A sweeps
for pair in "$@"; do
  group=${pair%%=*}; sweep=${pair#*=}; sweeps[$sweep]=1; mkdir -p $sweep
  [ -d $tmp/study/$group ] || { echo "merge.sh: no group $group in $runs" >&2; exit 2; }
  for job in $tmp/study/$group/*_seed*/; do
    name=$(basename $job)
    [ -e $sweep/$name ] && { echo "merge.sh: $sweep/$name exists; not overwritten" >&2; exit 2; }
    mv $job $sweep/$name
  done
  for log in $tmp/study/$group/launcher-*.log; do
    [ -f $log ] && mv $log $sweep/launcher-$group-$(basename $log | sed 's/^launcher-//')
  done
done
for sweep in "${!sweeps[@]}"; do hybrid-eval-report $sweep; done
