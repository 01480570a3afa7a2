"""Manual check of per-contract prices held back by ``update_historical_prices``.

For every sampled contract of the instrument, and each collected frequency (hourly unless
``intraday_frequency`` is ``D``, then daily), the daily process's own fetch, clean, check and
write runs (:func:`sysproduction.update_historical_prices.update_contract_prices`: FINAL against
that frequency's stored bars, ``max_price_spike``; a late bar inside the last two days of stored
history against the stored bars before it; a contract's first history is not checked, as it has
nothing to be compared with). Each spike is put to the operator
(:mod:`sysproduction.manual_price_checks`: accept, previous value, typed price re-checked, quit).
A typed price is rounded to the instrument's tick (``tick_size`` of its configuration, when
known; the operator is told). A corrected FINAL moves OPEN/HIGH/LOW by the same amount; VOLUME is
kept.

A contract is written only when it is finished (every spike of every frequency resolved): late
bars are inserted, new bars appended per frequency and the merged series is rewritten. Contracts with no spike are written
as the daily process would have written them. ``q`` stops: finished contracts stay written, the
current one is not. Prices are in the instrument's quoted units; timestamps UTC.

    python run.py sysproduction.interactive_manual_check_historical_prices.interactive_manual_check_historical_prices --instrument_code CORN
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from syscore.menu import Console, ConsoleExit
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.contract_prices import Frequency
from sysobjects.spike_check import SpikeCheckSettings
from sysproduction.manual_price_checks import (
    Ask,
    ManualCheckAborted,
    Say,
    SpikeAction,
    SpikeDecision,
    apply_corrections,
    instrument_tick_size,
    review_spikes,
)
from sysproduction.process_helpers import blob_for
from sysproduction.update_historical_prices import STORE_FREQUENCY, update_contract_prices

PROCESS = "interactive_manual_check_historical_prices"


@dataclass
class ContractCheck:
    """One contract: bars written per stored frequency (``D``/``H``) and the decisions taken."""

    contract_date: str
    written: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, list[SpikeDecision]] = field(default_factory=dict)

    def __str__(self) -> str:
        made = sum(len(d) for d in self.decisions.values())
        return f"{self.contract_date}: written {self.written or 'nothing'}, {made} spikes resolved"


@dataclass
class ManualCheckReport:
    """Per-contract outcome; ``stopped_at`` names the contract left unwritten after ``q``."""

    instrument_code: str
    contracts: list[ContractCheck] = field(default_factory=list)
    stopped_at: str | None = None

    def __str__(self) -> str:
        lines = [f"{self.instrument_code}: {len(self.contracts)} contracts checked"]
        lines += [f"  {c}" for c in self.contracts]
        if self.stopped_at:
            lines.append(f"  stopped at {self.stopped_at}: not written")
        return "\n".join(lines)


def check_contract(data: DataBlob, instrument_code: str, contract_date: str,
                   frequencies: tuple[Frequency, ...], ask: Ask, say: Say) -> ContractCheck:
    """Fetch, clean, resolve spikes and (once all are resolved) write one contract, through the
    daily process's own :func:`~sysproduction.update_historical_prices.update_contract_prices`
    with a resolver that asks the operator."""
    log = get_logger(PROCESS, instrument_code=instrument_code, contract_date=contract_date)
    settings = SpikeCheckSettings(max_price_spike=data.config.max_price_spike)
    outcome = ContractCheck(contract_date)
    tick = instrument_tick_size(data, instrument_code)

    def resolve(frequency: Frequency, before: pd.Series, bars: pd.DataFrame) -> pd.DataFrame:
        label = f"{instrument_code} {contract_date} {frequency.value}"
        decisions, _ = review_spikes(before, bars["FINAL"], settings, ask, say, label,
                                     tick_size=tick)
        previous = float(before.dropna().iloc[-1]) if len(before.dropna()) else None
        corrected = apply_corrections(bars, decisions, previous)
        for decision in decisions:
            old, new = bars.loc[decision.timestamp], corrected.loc[decision.timestamp]
            if decision.action is SpikeAction.ACCEPT:
                log.info("%s: spike at %s accepted (FINAL %s)", label, decision.timestamp,
                         old["FINAL"])
            else:
                log.warning("%s: bar at %s corrected by hand: OHLC %s -> %s", label,
                            decision.timestamp, old[["OPEN", "HIGH", "LOW", "FINAL"]].tolist(),
                            new[["OPEN", "HIGH", "LOW", "FINAL"]].tolist())
        outcome.decisions.setdefault(STORE_FREQUENCY[frequency], []).extend(decisions)
        return corrected

    update, _ = update_contract_prices(data, instrument_code, contract_date, frequencies,
                                       resolve=resolve)
    outcome.written = {k: v for k, v in update.written.items() if v}
    log.info("%s %s: %s", instrument_code, contract_date, outcome)
    return outcome


def interactive_manual_check_historical_prices(
    instrument_code: str, data: DataBlob | None = None, ask: Ask = input, say: Say = print,
) -> ManualCheckReport:
    """Manually check and write the held-back prices of one instrument (module docstring).

    ``ask`` reads one answer for a prompt (default :func:`input`); ``say`` shows a message
    (default :func:`print`). End of input (no terminal) stops like ``q``: the current contract
    is not written.
    """
    console = Console(ask, say)
    with blob_for(data, PROCESS) as blob:
        blob.instruments.require(instrument_code)
        frequencies = (Frequency.DAILY,) if blob.config.intraday_frequency == "D" else \
            (Frequency.HOURLY, Frequency.DAILY)
        report = ManualCheckReport(instrument_code)
        for contract in blob.contracts.for_instrument(instrument_code, sampling_only=True):
            try:
                report.contracts.append(check_contract(
                    blob, instrument_code, contract.contract_date, frequencies,
                    console.answer, say))
            except (ManualCheckAborted, ConsoleExit) as stop:
                report.stopped_at = contract.contract_date
                say(f"{stop}; {instrument_code} {contract.contract_date} not written")
                break
        return report
