"""`python -m hybrid_eval.harness.report SWEEP_DIR` = `hybrid-eval-report SWEEP_DIR`."""
from hybrid_eval.harness.report.markdown import main

if __name__ == "__main__":
    raise SystemExit(main())
