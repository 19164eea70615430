"""lava-dispatch sends through the realm's queues: each test runs on the local realm and on AWS (moto)."""

from __future__ import annotations

import pytest

from lava_core.backend import Backend


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    return lava_backend
