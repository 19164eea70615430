"""lava-cmd's job types are part of the backend contract: each test runs on the local realm and on AWS."""

from __future__ import annotations

import pytest

from lava_core.backend import Backend


@pytest.fixture
def realm(lava_backend: Backend) -> Backend:
    return lava_backend
