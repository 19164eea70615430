"""lava-dag's job types run end to end on both backends: each test runs on the local realm and on AWS (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lava_core.backend import Backend


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    return lava_backend


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """The marker file children append to; parents pass its path down as ``globals.marks``."""
    return tmp_path / "marks"

