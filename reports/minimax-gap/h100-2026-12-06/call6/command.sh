#!/usr/bin/env bash
# Call 6 (issue 23): packing figures in one lease: F alone, LLLF alone (Triton cache of call 5 restored), 4 and 8 F packed.
source reports/minimax-gap/h100-2026-12-06/common.sh
tar -C /tmp -xJf .gpu/triton.tar.xz && du -sh /tmp/triton  # call 5's triton.tar.xz.00 (its Triton cache), carried in .gpu/; not kept in the repository
J="~experiment logger=none model=qwen3_next model.size=base suite=minimax_gap train.micro_batch_tokens=16384 train.lr=1e-3 train.warmup_steps=30 train.max_steps=5000 train.max_seconds=35 train.log_every=20 train.n_examples=1500 train.n_validation=4 eval.n_test=4"
for P in F LLLF; do timeout 100 hybrid-eval $J model.pattern=$P hydra.run.dir=/tmp/alone/$P > /tmp/alone_$P.log 2>&1; echo "alone $P rc=$? at $(elapsed)s"; cp /tmp/alone_$P.log /tmp/alone/$P/; done
for S in 4 8; do
  [ $(elapsed) -gt 300 ] && { echo "pack $S skipped at $(elapsed)s"; continue; }
  timeout 100 hybrid-eval -m $J hydra/launcher=pack hydra.launcher.slots=$S model.pattern=F seed=$(seq -s, 0 $((S-1))) hydra.sweep.dir=/tmp/pack$S 'hydra.sweep.subdir=${hydra.job.num}' > /tmp/pack$S.log 2>&1; echo "pack $S rc=$? at $(elapsed)s"
done
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/alone/F /tmp/alone/LLLF /tmp/pack4/[0-9]* /tmp/pack8/[0-9]* > $OUT/summary.txt 2>&1; cut -c1-250 $OUT/summary.txt
(cd /tmp && find alone pack4 pack8 -path '*checkpoint*' -prune -o -type f \( -name '*.json' -o -name '*.log' -o -name '*.txt' -o -name '*.yaml' \) -size -5M -print | tar -cf - -T - | xz -T0 -6 > $OUT/runs.tar.xz); echo "done at $(elapsed)s"
