"""What people read: report.md (markdown.py), PNG figures (plots.py), W&B runs (tracking.py), and the Hydra
callback that writes them when a sweep ends (callback.py). `hybrid-eval-report SWEEP_DIR` rebuilds them."""
