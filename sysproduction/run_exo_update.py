"""The online daily EXO update: one product's EXOs for today, under process control.

    python run.py sysproduction.run_exo_update.update_exo_product --product GOLD

Each EXO of the product is brought up to today (by the clock), continuous futures first:

- an EXO that is **not backfilled** (fewer than ``min_rows`` rows, default 200, or its last row
  more than ``max_age_days`` old, default 7) is refused with an "EXO backfill required" alert;
- before the product's **decision time** today, nothing is computed (the day's prices are not
  in yet); the run says so and exits cleanly;
- the day is computed exactly as the backfill computes it (the same code), so backfill-then-
  online and backfill alone give identical rows.

``systrade exo install`` writes one ``run_exo_update_<PRODUCT>`` process per product into the
private control config (and can generate its supervisor/systemd files with ``systrade
schedule``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sysdata.data_blob import DataBlob
from sysexo.backfill import (
    MAX_AGE_DAYS,
    MIN_ROWS,
    ExoStore,
    backfill_exo,
    backfill_problem,
    smart_regimes_for,
)
from sysexo.ichimoku import IchimokuSettings
from syslogdiag.alerts import alert
from sysproduction.exo_backfill import exo_market, exo_settings
from sysproduction.process_helpers import blob_for


@dataclass
class ExoUpdateReport:
    product: str
    updated: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    waiting: str = ""

    @property
    def ok(self) -> bool:
        return not self.refused

    def __str__(self) -> str:
        if self.waiting:
            return f"update_exo_product {self.product}: {self.waiting}"
        text = (f"update_exo_product {self.product}: {len(self.updated)} updated, "
                f"{len(self.refused)} refused")
        return "\n".join([text] + [f"  {n}: {why}" for n, why in self.refused.items()])


def update_exo_product(product: str, data: DataBlob | None = None, min_rows: int = MIN_ROWS,
                       max_age_days: int = MAX_AGE_DAYS) -> ExoUpdateReport:
    """See module docstring."""
    with blob_for(data, f"run_exo_update_{product}") as blob:
        settings = exo_settings(blob)
        market = exo_market(blob, settings)
        store = ExoStore(blob.timeseries, blob.state)
        now = blob.now()
        today = now.date()
        report = ExoUpdateReport(product)
        if now < market.decision_time(product, today):
            report.waiting = (f"before today's decision time "
                              f"{market.decision_time(product, today):%H:%M} UTC")
            return report
        days = market.trading_days(product, today, today)
        definitions = settings.ordered_exos(product)
        for definition in definitions:
            problem = backfill_problem(store.series(definition.name), today, min_rows,
                                       max_age_days)
            if problem:
                report.refused[definition.name] = f"EXO backfill required: {problem}"
                alert(blob, f"EXO backfill required: {definition.name}",
                      f"{problem}; run 'systrade exo backfill --product {product}'")
                continue
            _, last_day = store.load(definition.name)
            todo = [d for d in market.trading_days(product, last_day, today)
                    if last_day is None or d > last_day] if last_day else days
            regimes = None
            if definition.kind == "smart":
                regimes = smart_regimes_for(store, definitions[0].name,
                                            IchimokuSettings(**definition.ichimoku))
            backfill_exo(definition, market, settings.roll_regimes.for_product(product), todo,
                         store, smart_regimes=regimes)
            report.updated.append(definition.name)
        return report
