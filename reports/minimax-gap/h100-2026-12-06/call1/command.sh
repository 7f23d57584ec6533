#!/usr/bin/env bash
# Call 1 (issue 23): gated delta through fla's KDA kernels on Hopper (tests + op benchmark), scored-token loss memory,
# and one job alone per qwen3_next pattern at base on minimax_gap (speed, peak GPU memory).
source reports/minimax-gap/h100-2026-12-06/common.sh
timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/kernels -x > $OUT/gpu_tests.log 2>&1; echo "pytest rc=$? at $(elapsed)s" | tee -a $OUT/gpu_tests.log
tail -3 $OUT/gpu_tests.log
timeout 120 python3 benchmarks/bench_kernels.py --ops gated_delta,kda --lengths 2048,8192 --batch 8 --heads 8 --head-dim 64 --model-lengths "" --out $OUT/bench_gdn.json > $OUT/bench_gdn.log 2>&1; echo "bench rc=$? at $(elapsed)s"
cat $OUT/bench_gdn.log | head -30
J="~experiment logger=none model=qwen3_next model.size=base suite=minimax_gap train.batch_size=32 train.lr=1e-3 train.warmup_steps=30 train.max_steps=150 train.log_every=25 train.n_examples=400 train.n_validation=10 eval.n_test=10"
for pat in F LLLF L; do
  timeout 170 hybrid-eval $J model.pattern=$pat hydra.run.dir=/tmp/alone_$pat > $OUT/alone_$pat.log 2>&1; echo "alone $pat rc=$? at $(elapsed)s"
  [ $(elapsed) -gt 520 ] && break
done
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/alone_* | tee $OUT/summary.txt
