"""``systrade exo check`` and ``systrade exo backfill``: EXO settings and resumable backfill.

    systrade exo check                          # validates private/exo_settings.yaml
    systrade exo backfill [--product P] [--start YYYY-MM-DD] [--end YYYY-MM-DD]

Backfill runs over the product's trading days (exchange holidays skipped) up to ``end``
(default: the clock's today), each EXO from its last stored day; continuous-future EXOs first
(SmartEXOs read them). See :mod:`sysexo.backfill` for resumability.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from syscore.home import private_dir
from sysdata.data_blob import DataBlob
from sysexo.backfill import BackfillResult, ExoStore, backfill_exo, smart_regimes_for
from sysexo.ichimoku import IchimokuSettings
from sysexo.settings import SETTINGS_FILE, ExoSettings, load_exo_settings
from sysproduction.process_helpers import blob_for

DEFAULT_START = dt.date(2020, 1, 2)


def exo_settings(data: DataBlob) -> ExoSettings:
    return load_exo_settings(private_dir(data.home) / SETTINGS_FILE)


def exo_market(data: DataBlob, settings: ExoSettings):
    from sysbrokers.sim.market import default_market
    from sysbrokers.sim.options import SimOptionChains
    from sysexo.sim_market import SimExoMarket

    return SimExoMarket(SimOptionChains(default_market()), settings.products)


@dataclass
class ExoBackfillReport:
    results: list[BackfillResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [f"exo backfill: {len(self.results)} EXOs, "
                 f"{sum(r.computed for r in self.results)} days computed, "
                 f"{len(self.failures)} failed"]
        for r in self.results:
            span = f"{r.first_day} .. {r.last_day}" if r.computed else "up to date"
            repaired = f", {r.repaired_rows} rows written outside the backfill replaced" \
                if r.repaired_rows else ""
            lines.append(f"  {r.name}: {r.computed} days ({span}){repaired}")
        lines += [f"  {name}: FAILED {why}" for name, why in self.failures.items()]
        return "\n".join(lines)


def exo_backfill(product: str | None = None, start: str | None = None, end: str | None = None,
                 chunk: int = 20, data: DataBlob | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> ExoBackfillReport:
    """Backfill every EXO (or those of ``product``); see module docstring."""
    with blob_for(data, "exo_backfill") as blob:
        settings = exo_settings(blob)
        market = exo_market(blob, settings)
        store = ExoStore(blob.timeseries, blob.state)
        first = dt.date.fromisoformat(start) if start else DEFAULT_START
        last = dt.date.fromisoformat(end) if end else blob.now().date()
        report = ExoBackfillReport()
        for definition in settings.ordered_exos(product):
            try:
                days = market.trading_days(definition.product, first, last)
                regimes = None
                if definition.kind == "smart":
                    base = settings.ordered_exos(definition.product)[0].name
                    regimes = smart_regimes_for(store, base,
                                                IchimokuSettings(**definition.ichimoku))
                report.results.append(backfill_exo(
                    definition, market, settings.roll_regimes.for_product(definition.product),
                    days, store, chunk=chunk, smart_regimes=regimes, progress=progress))
            except Exception as exc:  # one EXO failing never stops the others
                report.failures[definition.name] = f"{type(exc).__name__}: {exc}"
                blob.log.exception("EXO backfill failed for %s", definition.name)
        return report


def exo_viewer(data: DataBlob | None = None) -> str:
    """Write the EXO viewer page to ``$SYSTRADE_HOME/reports/exo_viewer.html``; returns the
    path."""
    from sysexo.viewer import write_viewer

    with blob_for(data, "exo_viewer") as blob:
        path = write_viewer(ExoStore(blob.timeseries, blob.state), exo_settings(blob),
                            blob.now().date(), blob.home / "reports" / "exo_viewer.html")
        return str(path)
