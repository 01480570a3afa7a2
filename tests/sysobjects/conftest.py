"""Fixtures for sysobjects tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.sysobjects.support import ReferenceData


@pytest.fixture(scope="session")
def reference(pysystemtrade_reference: Path) -> ReferenceData:
    return ReferenceData(pysystemtrade_reference)
