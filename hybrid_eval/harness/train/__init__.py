"""Training probes: the loop (loop.py), the learning-rate grid (lr_grid.py), the protocol's verdicts (protocol.py)."""
