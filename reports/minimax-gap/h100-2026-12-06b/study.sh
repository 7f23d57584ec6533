#!/usr/bin/env bash
# One family's study on minimax_gap_ladder, packed six to the GPU (F / hybrid / linear x two seeds), under MPS when the
# machine allows it (the command of reports/minimax-gap/{qwen3_next,kimi_linear,minimax}). 
# Usage: FAMILY=qwen3_next PATTERNS=F,LLLF,L SEEDS=0,1 [TS=seconds] [EXTRA="..."] bash reports/minimax-gap/h100-2026-12-06b/study.sh
# SWEEP=reports/minimax-gap/qwen3_next (a sweep in the carried working tree) grows that sweep in place (new seeds); the
# default, a fresh /tmp/study/$FAMILY, is what the calls of 2026-12-06 ran.
source reports/minimax-gap/h100-2026-12-06/common.sh
if [ -z "$SWEEP" ]; then SWEEP=/tmp/study/$FAMILY; rm -rf $SWEEP; fi
[ -f .gpu/triton.tar.xz ] && tar -C /tmp -xJf .gpu/triton.tar.xz;  # a carried Triton cache (call 5 of 2026-12-06), if any
 du -sh /tmp/triton | tee -a $OUT/gpu.txt
# MPS: start the daemon, run one CUDA client through it, stop it; use it for the study only if all of that worked
MPS=false
if command -v nvidia-cuda-mps-control >/dev/null; then
  M=$(mktemp -d /tmp/mpsXXXX); mkdir $M/p $M/l
  if CUDA_MPS_PIPE_DIRECTORY=$M/p CUDA_MPS_LOG_DIRECTORY=$M/l nvidia-cuda-mps-control -d; then
    CUDA_MPS_PIPE_DIRECTORY=$M/p CUDA_MPS_LOG_DIRECTORY=$M/l timeout 60 python3 -c "import torch; x=torch.randn(256,256,device='cuda'); print('mps client ok', float((x@x).sum())>-1e30)" && MPS=true
    echo quit | CUDA_MPS_PIPE_DIRECTORY=$M/p nvidia-cuda-mps-control
  fi
fi
echo "mps=$MPS at $(elapsed)s" | tee -a $OUT/gpu.txt
[ -n "$FORCE_MPS" ] && MPS=$FORCE_MPS
TS=${TS:-$((560 - $(elapsed) - 215))}
S="~experiment logger=none model=$FAMILY model.size=base suite=minimax_gap_ladder train.micro_batch_tokens=16384 train.lr=3e-4 train.warmup_steps=100 train.max_steps=${MAX_STEPS:-800} train.max_seconds=$TS train.log_every=50 train.n_examples=700 train.n_validation=0 eval.n_test=40 $EXTRA"
echo "study: $S model.pattern=$PATTERNS seed=$SEEDS mps=$MPS (train.max_seconds=$TS) at $(elapsed)s" | tee $OUT/study.txt
timeout $((550 - $(elapsed))) hybrid-eval -m $S hydra/launcher=pack hydra.launcher.slots=6 hydra.launcher.mps=$MPS \
  "model.pattern=$PATTERNS" seed=$SEEDS hydra.sweep.dir=$SWEEP 'hydra.sweep.subdir=${model.pattern}_seed${seed}' \
  > /tmp/study_$FAMILY.log 2>&1
echo "study rc=$? at $(elapsed)s" | tee -a $OUT/study.txt
cp /tmp/study_$FAMILY.log $SWEEP/launcher-$(date +%Y%m%d-%H%M%S).log 2>/dev/null
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> $OUT/gpu.txt
python3 reports/minimax-gap/h100-2026-12-06/summary.py $SWEEP/*_seed* > $OUT/summary.txt 2>&1; cut -c1-300 $OUT/summary.txt
(cd $(dirname $SWEEP) && find $(basename $SWEEP) -path '*checkpoint*' -prune -o -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.log' -o -name '*.md' -o -name '*.txt' -o -name '*.yaml' -o -name '*.png' -o -name '*.svg' -o -name '*.csv' \) -size -20M -print | tar -cf - -T - | xz -T0 -6 > $OUT/runs.tar.xz)
tail -n 5 /tmp/study_$FAMILY.log | cut -c1-300; ls -la $OUT; echo "done at $(elapsed)s"
