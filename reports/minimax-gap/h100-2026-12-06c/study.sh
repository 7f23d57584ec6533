#!/usr/bin/env bash
# Several job groups of the minimax_gap_ladder study packed on one GPU at once, under one MPS daemon.
# Hydra's basic sweeper expands a cartesian product; the jobs a call needs often are not one (seed 2 of F / LLLF / L
# beside seeds 0-2 of a new pattern, or a step budget per pattern), so each group is its own `hybrid-eval -m` sweep,
# all started together and sharing the GPU: the script starts MPS itself and every launcher's jobs inherit its pipes.
# Usage: SWEEPS="name: overrides; name: overrides" [TS=seconds] [SLOTS=jobs in all] [EXTRA="..."] [LIMIT=550] bash study.sh
#   e.g. SWEEPS="qwen3_next: model=qwen3_next model.pattern=F,LLLF,L seed=2; qwen3_next_ls: model=qwen3_next
#   model.pattern=LS seed=0,1,2" TS=340 bash reports/minimax-gap/h100-2026-12-06c/study.sh
# Group NAME's jobs go to /tmp/study/NAME/<pattern>_seed<seed>; everything small (no checkpoints) comes back in
# $OUT/runs.tar.xz, one line per job in $OUT/summary.txt. SLOTS (default 6) sets each job's share of the GPU's memory
# (0.9 / SLOTS) and CPU threads (cores / SLOTS), as one launcher of SLOTS slots would. LIMIT (default 550) is the
# seconds after this script starts at which the launchers are killed (lower it when the call ran something before).
source reports/minimax-gap/h100-2026-12-06/common.sh
[ -f .gpu/triton.tar.xz ] && tar -C /tmp -xJf .gpu/triton.tar.xz  # a carried Triton cache, if any
du -sh /tmp/triton | tee -a $OUT/gpu.txt
SLOTS=${SLOTS:-6}
rm -rf /tmp/study  # a warm machine keeps the last call's jobs: they would be counted and shipped again
# MPS for every launcher: one daemon, its pipes in the environment the launchers' jobs inherit
M=$(mktemp -d /tmp/mpsXXXX); mkdir $M/p $M/l
export CUDA_MPS_PIPE_DIRECTORY=$M/p CUDA_MPS_LOG_DIRECTORY=$M/l
MPS=false
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d; then
  timeout 60 python3 -c "import torch; x=torch.randn(256,256,device='cuda'); print('mps client ok', float((x@x).sum())>-1e30)" && MPS=true
fi
[ $MPS = true ] || { echo quit | nvidia-cuda-mps-control 2>/dev/null; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY; }
echo "mps=$MPS at $(elapsed)s" | tee -a $OUT/gpu.txt
TS=${TS:-$((560 - $(elapsed) - 215))}
S="~experiment logger=none model.size=base suite=minimax_gap_ladder train.micro_batch_tokens=16384 train.lr=3e-4 train.warmup_steps=100 train.max_steps=800 train.max_seconds=$TS train.log_every=50 train.n_examples=700 train.n_validation=0 eval.n_test=40"
echo "common: $S $EXTRA" | tee $OUT/study.txt
PIDS=(); NAMES=()
IFS=';' read -ra LIST <<< "$SWEEPS"
for g in "${LIST[@]}"; do
  name=$(echo "${g%%:*}" | xargs); overrides=${g#*:}
  [ -n "$name" ] || continue
  echo "group $name: $overrides" | tee -a $OUT/study.txt
  timeout $((${LIMIT:-550} - $(elapsed))) hybrid-eval -m $S $EXTRA $overrides hydra/launcher=pack hydra.launcher.slots=$SLOTS \
    hydra.launcher.mps=false hydra.sweep.dir=/tmp/study/$name 'hydra.sweep.subdir=${model.pattern}_seed${seed}' \
    > /tmp/study_$name.log 2>&1 &
  PIDS+=($!); NAMES+=($name)
  sleep 5  # the first launcher writes the suite's data cache; the others then read it
done
for i in "${!PIDS[@]}"; do
  wait ${PIDS[$i]}; echo "group ${NAMES[$i]} rc=$? at $(elapsed)s" | tee -a $OUT/study.txt
  cp /tmp/study_${NAMES[$i]}.log /tmp/study/${NAMES[$i]}/launcher-$(date +%Y%m%d-%H%M%S).log 2>/dev/null
done
[ $MPS = true ] && echo quit | nvidia-cuda-mps-control
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $OUT/gpu.txt
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/study/*/*_seed* > $OUT/summary.txt 2>&1; cut -c1-300 $OUT/summary.txt
(cd /tmp && find study -path '*checkpoint*' -prune -o -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.log' -o -name '*.md' -o -name '*.txt' -o -name '*.yaml' -o -name '*.png' -o -name '*.svg' -o -name '*.csv' \) -size -20M -print | tar -cf - -T - | xz -T0 -6 > $OUT/runs.tar.xz)
for n in "${NAMES[@]}"; do tail -n 3 /tmp/study_$n.log | cut -c1-300; done; ls -la $OUT; echo "done at $(elapsed)s"
