#!/usr/bin/env bash
source reports/minimax-gap/h100-2026-12-06/common.sh
timeout 120 python3 reports/minimax-gap/h100-2026-12-06/diag_compile.py > $OUT/diag.log 2>&1; echo "diag rc=$? at $(elapsed)s"; cat $OUT/diag.log | tail -12
J="logger=none model=qwen3_next model.size=base suite=minimax_gap train.batch_size=32 train.lr=1e-3 train.warmup_steps=30 train.max_steps=400 train.max_seconds=30 train.log_every=20 train.n_examples=1000 train.n_validation=10 eval.n_test=10 train.micro_batch_tokens=16384"
timeout 90 hybrid-eval '~experiment' $J model.pattern=F hydra.run.dir=/tmp/alone/F > $OUT/alone_F.log 2>&1; echo "alone F rc=$? at $(elapsed)s"
timeout 130 hybrid-eval -m '~experiment' hydra/launcher=pack hydra.launcher.slots=4 $J model.pattern=F seed=0,1,2,3 hydra.sweep.dir=/tmp/pack4 'hydra.sweep.subdir=${hydra.job.num}' > $OUT/pack4.log 2>&1; echo "pack4 rc=$? at $(elapsed)s"
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/alone/F /tmp/pack4/[0-9]* | tee $OUT/summary.txt
for d in /tmp/pack4/[0-9]*; do cp $d/console.log $OUT/pack4_console_$(basename $d).log 2>/dev/null; done
