#!/usr/bin/env bash
# Call 2 (issue 23): gated delta through KDA vs torch (GPU test), memory with micro-batches, packing 4 jobs vs 1 alone.
source reports/minimax-gap/h100-2026-12-06/common.sh
timeout 110 python3 -m pytest -q -p no:cacheprovider -m gpu tests/kernels/test_gated_delta.py -k "through_kda or detection" -rA > $OUT/gpu_tests.log 2>&1; echo "pytest rc=$? at $(elapsed)s" | tee -a $OUT/gpu_tests.log
grep -E "PASSED|FAILED|SKIPPED|passed|failed" $OUT/gpu_tests.log | tail -8
J="logger=none model=qwen3_next model.size=base suite=minimax_gap train.batch_size=32 train.lr=1e-3 train.warmup_steps=30 train.max_steps=400 train.max_seconds=40 train.log_every=20 train.n_examples=1000 train.n_validation=10 eval.n_test=10 train.micro_batch_tokens=16384"
for pat in LLLF F; do
  timeout 120 hybrid-eval '~experiment' $J model.pattern=$pat hydra.run.dir=/tmp/alone/$pat > $OUT/alone_$pat.log 2>&1; echo "alone $pat rc=$? at $(elapsed)s"
done
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/alone/* | tee $OUT/summary.txt
timeout 200 hybrid-eval -m '~experiment' hydra/launcher=pack hydra.launcher.slots=4 $J model.pattern=LLLF seed=0,1,2,3 hydra.sweep.dir=/tmp/pack4 'hydra.sweep.subdir=${hydra.job.num}' > $OUT/pack4.log 2>&1; echo "pack4 rc=$? at $(elapsed)s"
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/pack4/[0-9]* | tee -a $OUT/summary.txt
python3 - <<'PY' | tee -a $OUT/summary.txt
import re, statistics, pathlib
rows = [l for l in pathlib.Path("/tmp/pack4_summary").read_text().splitlines()] if False else open(__import__("os").environ["OUT"] + "/summary.txt").read().splitlines()
alone = [float(re.search(r"steady_tok/s=(\d+)", l)[1]) for l in rows if "LLLF" in l and "dir=LLLF" in l]
packed = [float(re.search(r"steady_tok/s=(\d+)", l)[1]) for l in rows if "LLLF" in l and re.search(r"dir=\d ", l)]
if alone and packed:
    print(f"LLLF alone {alone[0]:.0f} tok/s; 4 packed: {len(packed)} jobs, sum {sum(packed):.0f} tok/s = {sum(packed)/alone[0]:.2f}x")
PY
