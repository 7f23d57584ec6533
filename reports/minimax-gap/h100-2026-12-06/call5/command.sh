#!/usr/bin/env bash
# Call 5 (issue 23, with kernels.autotune=fast): cold start of LLLF alone (rate alone) beside the KDA-route and
# autotune GPU tests; then the Qwen3-Next study packed (F, LLLF, L x seeds 0, 1; 6 slots) beside issue 22's GPU window tests.
source reports/minimax-gap/h100-2026-12-06/common.sh
(timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/kernels -k "through_kda or detection or autotune" > $OUT/kda_test.log 2>&1; echo "kda tests rc=$? at $(elapsed)s" >> $OUT/kda_test.log) &
J="~experiment logger=none model=qwen3_next model.size=base suite=minimax_gap train.micro_batch_tokens=16384 train.lr=1e-3 train.warmup_steps=30 train.max_steps=5000 train.max_seconds=45 train.log_every=20 train.n_examples=2000 train.n_validation=4 eval.n_test=4"
timeout 170 hybrid-eval $J model.pattern=LLLF hydra.run.dir=/tmp/alone/LLLF > /tmp/alone_LLLF.log 2>&1; echo "alone LLLF rc=$? at $(elapsed)s"
wait; tail -n 4 $OUT/kda_test.log
(timeout 300 python3 -m pytest -q -p no:cacheprovider -m gpu tests/harness/decode/test_static_decode.py tests/benchmarks/test_bench_window.py > $OUT/window_tests.log 2>&1; echo "window tests rc=$? at $(elapsed)s" >> $OUT/window_tests.log) &
S="logger=none model=qwen3_next model.size=base suite=minimax_gap train.micro_batch_tokens=16384 train.lr=1e-3 train.warmup_steps=80 train.max_steps=800 train.max_seconds=200 train.log_every=50 train.n_examples=2000 train.n_validation=50 eval.n_test=80"
timeout $((560 - $(elapsed))) hybrid-eval -m '~experiment' $S hydra/launcher=pack hydra.launcher.slots=6 'model.pattern=F,LLLF,L' seed=0,1 hydra.sweep.dir=/tmp/study/qwen3_next 'hydra.sweep.subdir=${hydra.job.num}' > /tmp/study.log 2>&1; echo "study rc=$? at $(elapsed)s"
wait; tail -n 3 $OUT/window_tests.log
cp /tmp/study.log /tmp/study/qwen3_next/ 2>/dev/null; cp /tmp/alone_LLLF.log /tmp/alone/LLLF/ 2>/dev/null
python3 reports/minimax-gap/h100-2026-12-06/summary.py /tmp/alone/LLLF /tmp/study/qwen3_next/[0-9]* > $OUT/summary.txt 2>&1; cut -c1-330 $OUT/summary.txt
tail -n 25 /tmp/study/qwen3_next/report.md 2>/dev/null
(cd /tmp && find alone study -path '*checkpoint*' -prune -o -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.log' -o -name '*.md' -o -name '*.txt' -o -name '*.yaml' -o -name '*.png' -o -name '*.svg' -o -name '*.csv' \) -size -20M -print | tar -cf - -T - | xz -T0 -6 > $OUT/runs.tar.xz); du -sh /tmp/study /tmp/triton
XZ_OPT="-T0 -6" tar -C /tmp -cJf /tmp/triton.tar.xz triton; split -b 15M -d /tmp/triton.tar.xz $OUT/triton.tar.xz.; ls -la $OUT; echo "done at $(elapsed)s"
