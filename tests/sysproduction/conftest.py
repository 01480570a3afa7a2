"""Fixtures shared by the sysproduction tests: a blob on each state backend."""
from __future__ import annotations

import pytest

from tests.blob_helpers import make_blob


@pytest.fixture(params=["sqlite", "mongodb"])
def backend(request):
    """``(state backend, MongoDB URL or None)``; the MongoDB case uses the session server."""
    url = request.getfixturevalue("mongo_url") if request.param == "mongodb" else None
    return request.param, url


@pytest.fixture
def backend_blob(backend, tmp_path):
    """A blob under ``tmp_path / "home"`` on each state backend, closed afterwards."""
    data = make_blob(tmp_path / "home", *backend)
    yield data
    data.close()
