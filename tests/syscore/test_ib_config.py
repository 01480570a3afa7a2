"""The ``ib`` section: connection, reconnect, disconnect policy and pacing keys."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from syscore.config_models import IBConfig, SystradeConfig


def test_defaults_follow_ib_pacing_rules():
    ib = SystradeConfig().ib
    assert (ib.history_requests_per_window, ib.history_window_seconds,
            ib.history_identical_gap_seconds) == (60, 600.0, 15.0)
    assert ib.disconnect_halt_seconds == 300.0


def test_client_id_range_must_not_be_empty():
    with pytest.raises(ValidationError, match="client_id_max"):
        IBConfig(client_id_min=100, client_id_max=99)


def test_disconnect_policy_must_be_positive():
    with pytest.raises(ValidationError):
        IBConfig(disconnect_halt_seconds=0)
