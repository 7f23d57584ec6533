"""One run of hybrid-eval, folder by folder in the order a job goes through them:

    run.py      the job: config -> data (tasks) -> model (models) -> train -> evaluate -> results.json, W&B
    train/      the probe training entry point, loop, learning-rate grid, the protocol's verdicts (did it train?)
    decode/     greedy decoding: batched, static cache + CUDA graph, multi-turn conversations with cache reuse
    evaluate/   scoring every scored turn (teacher-forced or interactive), lm-eval export, bridge and in-run lm-eval
    analysis/   statistics, a sweep's jobs, gaps to the baseline, the MiniMax check, difficulty curves, budgets, pass^k
    report/     report.md, plots, W&B tracking, the Hydra callback that writes a sweep's report
    launch/     how a sweep's jobs reach the hardware: pack.py, several jobs at once in their own processes
    cli.py      the Hydra entry point; store.py a job's files on disk and their integrity checks; errors.py user
                errors; progress.py bars
    config_check.py the run config's schema, checked before any work; fingerprint.py what decides a job's weights
                and results; lock.py a directory lock; guard.py the Hydra callback that checks, and locks a sweep,
                before job 0

Imports run one way, from the top of this list down; nothing imports a package above it:

    cli.py    -> run.py, launch/ (registered with Hydra), progress.py, errors.py
    launch/   -> run.py (suite data, lazily), store.py, errors.py, threads.py
    guard.py  -> config_check.py, lock.py, analysis/ (sweep_jobs), errors.py
    run.py    -> train/, evaluate/, analysis/ (stats), config_check.py, fingerprint.py, lock.py, store.py, errors.py,
                 progress.py
    config_check.py -> train/, evaluate/ (each group's own checks), errors.py
    report/   -> analysis/, train/ (protocol: convergence), store.py, errors.py
    evaluate/ -> decode/, analysis/ (stats, pass_k), store.py, errors.py
    analysis/ -> train/ (protocol: convergence, in budgets.py), store.py
    decode/   -> errors.py
    train/    -> store.py, errors.py
    store.py, errors.py, progress.py -> nothing in harness/
"""
