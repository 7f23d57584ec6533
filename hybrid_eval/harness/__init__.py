"""One run of hybrid-eval, folder by folder in the order a job goes through them:

    run.py      the job: config -> data (tasks) -> model (models) -> train -> evaluate -> results.json, W&B
    train/      the probe training loop, the learning-rate grid, the protocol's verdicts (did it train?)
    decode/     greedy decoding: batched, static cache + CUDA graph, multi-turn conversations with cache reuse
    evaluate/   scoring every scored turn (teacher-forced or interactive), lm-eval export, bridge and in-run lm-eval
    analysis/   statistics, gaps to the baseline, the MiniMax check, difficulty curves, budgets, pass^k
    report/     report.md, plots, W&B tracking, the Hydra callback that writes a sweep's report
"""
