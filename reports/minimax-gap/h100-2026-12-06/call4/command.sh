#!/usr/bin/env bash
# Call 4 (issues 22 + 23): warm Triton for every family's linear layers at base (KDA-route test beside it), the
# sliding-window prefill benchmark and GPU window tests, then packing: LLLF alone vs 9 packed, same lease.
# The Triton cache (compiled kernels + fla's autotune results) goes back as triton.tar.xz for the next leases.
source reports/minimax-gap/h100-2026-12-06/common.sh
mkdir -p /tmp/warm
W="~experiment logger=none model.size=base suite=minimax_gap train.micro_batch_tokens=16384 train.max_steps=30 train.warmup_steps=5 train.log_every=10 train.n_examples=400 train.n_validation=4 eval.n_test=4"
(timeout 420 python3 -m pytest -q -p no:cacheprovider -m gpu tests/kernels -k "through_kda or detection" > $OUT/kda_test.log 2>&1; echo "kda test rc=$? at $(elapsed)s" >> $OUT/kda_test.log) &
for fam in qwen3_next kimi_linear minimax; do
  (timeout 400 hybrid-eval $W model=$fam model.pattern=L hydra.run.dir=/tmp/warm/$fam > /tmp/warm/$fam.log 2>&1; echo "warm $fam rc=$? at $(elapsed)s" >> /tmp/warm/$fam.log) &
done
timeout 200 python3 benchmarks/bench_window.py --out /tmp/window > $OUT/window.log 2>&1; echo "bench_window rc=$? at $(elapsed)s" | tee -a $OUT/window.log
cp /tmp/window/* $OUT/ 2>/dev/null
timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu tests/harness/decode/test_static_decode.py tests/benchmarks/test_bench_window.py > $OUT/window_tests.log 2>&1; echo "window tests rc=$? at $(elapsed)s" | tee -a $OUT/window_tests.log
wait
tail -3 $OUT/kda_test.log; tail -n 2 /tmp/warm/*.log
J="~experiment logger=none model=qwen3_next model.size=base suite=minimax_gap train.micro_batch_tokens=16384 train.lr=1e-3 train.warmup_steps=30 train.max_steps=5000 train.max_seconds=40 train.log_every=20 train.n_examples=2000 train.n_validation=4 eval.n_test=4"
for S in 1 9; do
  [ $(elapsed) -gt 440 ] && { echo "pack $S skipped at $(elapsed)s"; continue; }
  timeout 100 hybrid-eval -m $J hydra/launcher=pack hydra.launcher.slots=$S model.pattern=LLLF seed=$(seq -s, 0 $((S-1))) hydra.sweep.dir=/tmp/pack$S 'hydra.sweep.subdir=${hydra.job.num}' > /tmp/pack$S.log 2>&1; echo "pack $S rc=$? at $(elapsed)s"
done
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/warm/* /tmp/pack1/[0-9]* /tmp/pack9/[0-9]* 2>&1 | grep -v "\.log" > $OUT/summary.txt; cat $OUT/summary.txt | cut -c1-260
tar -C /tmp -cf - warm pack1 pack9 --exclude=checkpoint --exclude='*.safetensors' --exclude='*.pt' 2>/dev/null | xz -T0 -6 > $OUT/runs.tar.xz
XZ_OPT="-T0 -6" tar -C /tmp -cJf $OUT/triton.tar.xz triton; ls -la $OUT; echo "done at $(elapsed)s"
