"""Every writer of a symbol family holds its family's lease: while another process holds it,
the writer is refused naming the holder and writes nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from syscore.exceptions import LeaseHeld
from sysdata.leases import LEASES, LeaseData
from sysinit.build_adjusted_prices import build_adjusted_prices
from sysinit.build_multiple_prices import build_multiple_prices
from sysinit.build_roll_calendars import build_roll_calendars
from sysproduction.leases import SERIES_WRITERS, series_lease
from sysproduction.update_fx_prices import update_fx_prices
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from tests.blob_helpers import make_blob

REPO = Path(__file__).resolve().parents[2]

WRITERS = [
    (update_fx_prices, "fx_prices"),
    (update_historical_prices, "futures_contract_prices"),
    (update_multiple_adjusted_prices, "multiple_prices"),
    (update_multiple_adjusted_prices, "adjusted_prices"),
    (build_multiple_prices, "multiple_prices"),
    (build_adjusted_prices, "adjusted_prices"),
    (build_roll_calendars, "roll_calendars"),
]


@pytest.mark.parametrize("function, library", WRITERS,
                         ids=[f"{f.__name__}-{lib}" for f, lib in WRITERS])
def test_writer_is_refused_while_another_process_writes_its_family(tmp_path, function, library):
    data = make_blob(tmp_path / "home")
    try:
        LeaseData(data.state, host="other-host", pid=4321).take(
            series_lease(library), "import_pysystemtrade_csv", 600)
        with pytest.raises(LeaseHeld, match="import_pysystemtrade_csv is running: pid 4321 on "
                                            "host other-host since"):
            function(data=data)
        assert data.timeseries.libraries() == []
        assert data.state.get(LEASES, series_lease(library))["pid"] == 4321
    finally:
        data.close()


def test_every_listed_writer_names_a_real_top_level_function():
    """The table is keyed by the process name each function passes to blob_for."""
    sources = "\n".join(p.read_text() for d in ("sysproduction", "sysinit")
                        for p in (REPO / d).glob("*.py"))
    for name in SERIES_WRITERS:
        assert re.search(rf'(PROCESS = "{name}"|blob_for\(data, "{name}"[,)])', sources), name
