"""Shared setup for the kernel tests: the ``gpu`` marker, subnormals flushed."""

import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device (and fla for the fla backend); skipped otherwise")


@pytest.fixture(autouse=True)
def flush_subnormals():
    """Flush subnormal floats to zero while a kernel test runs (restored after).

    The reference loops decay their state token after token, and subnormal arithmetic is ~100x slower on x86;
    flushing changes only values below 1e-38, far under every tolerance here.
    """
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
