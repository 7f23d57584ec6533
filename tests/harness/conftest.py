"""Fixtures shared by the harness tests: a trained tiny probe checkpoint (built once per session)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def probe_checkpoint(tmp_path_factory):
    from tests.harness.serving import train_probe

    return train_probe(tmp_path_factory.mktemp("probe") / "job")
