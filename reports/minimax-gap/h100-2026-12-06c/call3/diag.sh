source reports/minimax-gap/h100-2026-12-06/common.sh
[ -f .gpu/triton.tar.xz ] && tar -C /tmp -xJf .gpu/triton.tar.xz
NAN_HUNT=1 PYTHONPATH=/tmp/site:$PWD/.gpu/diag timeout 200 hybrid-eval '~experiment' logger=none model=minimax model.size=base suite=minimax_gap_ladder train.micro_batch_tokens=16384 train.lr=3e-4 train.warmup_steps=100 train.max_steps=800 train.max_seconds=300 train.log_every=1 train.n_examples=700 train.n_validation=0 eval.n_test=40 eval.batch_size=16 model.pattern=SSSSSSSF seed=1 hydra.run.dir=/tmp/diag > $OUT/diag.log 2>&1
echo "rc=$? at $(elapsed)s" | tee -a $OUT/diag.log
grep -n "NAN-HUNT\|anomaly\|Error\|returned nan\|diverged\|step 1[0-2]:\|step [0-9]:" $OUT/diag.log | cut -c1-400 | head -40
grep -n -B2 -A30 "Traceback of forward call" $OUT/diag.log | cut -c1-250 | head -60
