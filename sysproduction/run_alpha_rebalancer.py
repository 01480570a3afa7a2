"""The weekly alpha rebalancer over every EXO (``run_alpha_rebalancer``).

    python run.py sysproduction.run_alpha_rebalancer.rebalance_alphas

For every EXO of the settings with fresh data (at least ``min_rows`` rows, default 200, and a
last row within ``max_age_days``, default 4; else an alert and the EXO is skipped), runs the
parameter grid of alpha rules (:mod:`sysexo.alphas`), picks and weights members by
out-of-sample performance and stores the result in the state store (collection
``alpha_picks``, keyed by EXO: date, members with weights and Sharpe ratios, combined exposure).
One EXO failing never stops the others; the run exits non-zero when any failed or was stale.

The EXO strategy's target in real contracts is the EXO's current position times the combined
exposure; :func:`exo_target_contracts` computes it for every leg. The futures targets are
traded through :mod:`sysproduction.update_exo_optimal_positions` (optimal positions, then the
order generator and stack handler like any strategy); option legs are not traded yet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syscore.dates import iso_utc
from sysdata.alpha_picks import ALPHA_PICKS  # noqa: F401 (re-exported: the collection name)
from sysdata.data_blob import DataBlob
from sysexo.alphas import pick_members
from sysexo.backfill import ExoStore, backfill_problem
from syslogdiag.alerts import alert
from sysproduction.exo_backfill import exo_settings
from sysproduction.process_helpers import blob_for


@dataclass
class RebalanceReport:
    rebalanced: dict[str, float] = field(default_factory=dict)  #: EXO -> combined exposure
    stale: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.stale and not self.failures

    def __str__(self) -> str:
        lines = [f"rebalance_alphas: {len(self.rebalanced)} rebalanced, {len(self.stale)} "
                 f"stale, {len(self.failures)} failed"]
        lines += [f"  {n}: exposure {e:+.3f}" for n, e in self.rebalanced.items()]
        lines += [f"  {n}: STALE {why}" for n, why in self.stale.items()]
        lines += [f"  {n}: FAILED {why}" for n, why in self.failures.items()]
        return "\n".join(lines)


def rebalance_alphas(min_rows: int = 200, max_age_days: int = 4, oos_days: int = 126,
                     max_members: int = 5, data: DataBlob | None = None) -> RebalanceReport:
    """See module docstring."""
    with blob_for(data, "run_alpha_rebalancer") as blob:
        settings = exo_settings(blob)
        store = ExoStore(blob.timeseries, blob.state)
        today = blob.now().date()
        report = RebalanceReport()
        for definition in settings.ordered_exos():
            name = definition.name
            try:
                frame = store.series(name)
                problem = backfill_problem(frame, today, min_rows, max_age_days)
                if problem:
                    report.stale[name] = problem
                    alert(blob, f"Alpha rebalancer: stale EXO {name}", problem)
                    continue
                result = pick_members(frame["exo"], oos_days=oos_days, max_members=max_members)
                blob.alpha_picks.put(name, {
                    "date": iso_utc(blob.now()), "exposure": result.exposure,
                    "candidates": result.candidates,
                    "members": [{"member": p.member.label, "weight": p.weight,
                                 "in_sample_sharpe": p.in_sample_sharpe,
                                 "out_of_sample_sharpe": p.out_of_sample_sharpe,
                                 "exposure": p.exposure} for p in result.picks]})
                report.rebalanced[name] = result.exposure
            except Exception as exc:  # one EXO failing never stops the others
                report.failures[name] = f"{type(exc).__name__}: {exc}"
                blob.log.exception("alpha rebalance failed for %s", name)
        return report


def exo_target_contracts(data: DataBlob, exo_name: str) -> dict[str, float]:
    """The EXO strategy's target per leg (leg description → contracts): the EXO's current
    position times the stored combined exposure (empty when not rebalanced or flat). Computing
    it places no order (see :mod:`sysproduction.update_exo_optimal_positions`)."""
    picks: dict[str, Any] | None = data.alpha_picks.get(exo_name)
    if picks is None:
        return {}
    state, _ = ExoStore(data.timeseries, data.state).load(exo_name)
    return {str(instrument): quantity * float(picks["exposure"])
            for instrument, (quantity, _) in state.position.legs.items()}


