"""`python -m hybrid_eval` = `hybrid-eval`: the Hydra entry point (default experiment: `quick`)."""
from hybrid_eval.harness.cli import main

if __name__ == "__main__":
    main()
