"""Which leases each top-level function holds while it runs (see :mod:`sysdata.leases`).

* every ``run_*`` process (:func:`sysproduction.run_process.run_process`) holds
  ``process/<name>``: a second copy of the same process exits non-zero naming the first;
* every function that writes a family of time series holds ``series/<library>`` for each
  library it writes (:data:`SERIES_WRITERS`): ArcticDB has no isolation between writers, and
  this is how "one writer per symbol family" is enforced, across processes and machines.

:func:`sysproduction.process_helpers.blob_for` takes the leases of the function named by its
``process_name``, so every top-level function holds them whether it was called from the
command line, from ``run.py``, from ``run_process`` or from a process launched under process
control (:mod:`sysproduction.process_launcher`, whose own start claim already stops two copies
of one launched process). Hosts are named as process control names them (``SYSTRADE_HOST``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from syscontrol.host import host_name
from sysdata.capital import CapitalData
from sysdata.data_blob import DataBlob
from sysdata.leases import DEFAULT_SECONDS, LeaseData, hold_lease
from sysdata.optimal_positions import OptimalPositionData, SpreadData
from sysdata.prices import (
    AdjustedPricesData,
    FuturesContractPriceData,
    FxPricesData,
    MultiplePricesData,
    RollCalendarData,
)

# the libraries, as the typed data classes name them
CONTRACT_PRICES = FuturesContractPriceData.library
MULTIPLE = MultiplePricesData.library
ADJUSTED = AdjustedPricesData.library
FX = FxPricesData.library
ROLL_CALENDARS = RollCalendarData.library
CAPITAL = CapitalData.library
OPTIMAL_POSITIONS = OptimalPositionData.library
SPREADS = SpreadData.library

#: top-level function (its ``process_name``) -> the time-series libraries it writes
SERIES_WRITERS: dict[str, tuple[str, ...]] = {
    "update_fx_prices": (FX,),
    "init_spot_fx": (FX,),
    "interactive_manual_check_fx_prices": (FX,),
    "update_historical_prices": (CONTRACT_PRICES,),
    "init_history_from_broker": (CONTRACT_PRICES,),
    "interactive_manual_check_historical_prices": (CONTRACT_PRICES,),
    "update_multiple_adjusted_prices": (MULTIPLE, ADJUSTED),
    "roll_adjusted_prices": (MULTIPLE, ADJUSTED),
    "overwrite_historical_bar": (CONTRACT_PRICES, MULTIPLE, ADJUSTED),
    "build_roll_calendars": (ROLL_CALENDARS,),
    "build_multiple_prices": (MULTIPLE,),
    "build_adjusted_prices": (ADJUSTED,),
    "import_pysystemtrade_csv": (MULTIPLE, ADJUSTED, FX, ROLL_CALENDARS),
    "update_total_capital": (CAPITAL,),
    "update_strategy_capital": (CAPITAL,),
    "interactive_update_capital_manual": (CAPITAL,),
    "update_system_backtests": (OPTIMAL_POSITIONS,),
    "run_stack_handler": (SPREADS,),  # bid/ask spread samples
    # a restore wipes and rewrites every family: no writer may run meanwhile
    "restore_db_from_csv": (CONTRACT_PRICES, MULTIPLE, ADJUSTED, FX, ROLL_CALENDARS, CAPITAL,
                            OPTIMAL_POSITIONS),
    # wipes and rewrites the state store (instruments, roll parameters, contracts) that every
    # writer reads as it writes: the same leases as restore_db_from_csv
    "restore_state_store": (CONTRACT_PRICES, MULTIPLE, ADJUSTED, FX, ROLL_CALENDARS, CAPITAL,
                            OPTIMAL_POSITIONS),
}


def series_lease(library: str) -> str:
    return f"series/{library}"


def process_lease(process_name: str) -> str:
    return f"process/{process_name}"


def lease_seconds(data: DataBlob) -> float:
    return float(getattr(data.config, "lease_expiry_seconds", DEFAULT_SECONDS))


def _leases(data: DataBlob) -> LeaseData:
    """Leases for this process under the host name process control uses (``SYSTRADE_HOST``
    or the machine's name)."""
    return LeaseData(data.state, host=host_name())


@contextlib.contextmanager
def writer_leases(data: DataBlob, function_name: str) -> Iterator[None]:
    """Hold ``series/<library>`` for every library ``function_name`` writes (in a fixed
    order); :class:`LeaseHeld` naming the holder if another process writes one of them."""
    libraries = sorted(SERIES_WRITERS.get(function_name, ()))
    with contextlib.ExitStack() as stack:
        for library in libraries:
            stack.enter_context(hold_lease(data.state, series_lease(library), function_name,
                                           lease_seconds(data), leases=_leases(data)))
        yield


@contextlib.contextmanager
def process_leases(data: DataBlob, process_name: str) -> Iterator[None]:
    """Hold ``process/<process_name>`` (a ``run_*`` process) while the block runs."""
    with hold_lease(data.state, process_lease(process_name), process_name, lease_seconds(data),
                    leases=_leases(data)):
        yield
