"""Training probes: the entry point (probe.py: `train_probe`, once at train.lr or over a grid, reusing a saved
checkpoint), the loop (loop.py), the learning-rate grid (lr_grid.py), the protocol's verdicts (protocol.py).

Nothing is imported here, so that analysis/ and report/ can read protocol.py without loading torch: import
`from hybrid_eval.harness.train.probe import train_probe`."""
