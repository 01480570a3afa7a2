"""Manual check of spot FX prices held back by ``update_fx_prices``.

The same fetch, clean and spike check as the daily process
(:func:`sysproduction.update_fx_prices.new_fx_prices`: broker daily mids after the last stored
price, inverted when the pair says so, cleaned; spike check against the stored history,
``max_price_spike``; a first history is not checked), then each spike is put to the operator
(:mod:`sysproduction.manual_price_checks`: accept, previous value, typed price re-checked, quit).
When every spike is resolved the new prices are appended; ``q`` writes nothing. PRICE is the value
in ``ccy2`` of one ``ccy1``; timestamps UTC.

    python run.py sysproduction.interactive_manual_check_fx_prices.interactive_manual_check_fx_prices --fx_code EURUSD
"""
from __future__ import annotations

from dataclasses import dataclass, field

from syscore.menu import Console, ConsoleExit
from sysdata.data_blob import DataBlob
from syslogdiag.context import get_logger
from sysobjects.spike_check import SpikeCheckSettings
from sysproduction.manual_price_checks import (
    Ask,
    ManualCheckAborted,
    Say,
    SpikeAction,
    SpikeDecision,
    review_spikes,
)
from sysproduction.process_helpers import blob_for
from sysproduction.update_fx_prices import new_fx_prices

PROCESS = "interactive_manual_check_fx_prices"


@dataclass
class FxCheckReport:
    """Prices written and decisions taken for one pair; ``stopped`` after ``q``."""

    code: str
    written: int = 0
    decisions: list[SpikeDecision] = field(default_factory=list)
    stopped: bool = False

    def __str__(self) -> str:
        if self.stopped:
            return f"{self.code}: stopped, nothing written"
        return f"{self.code}: {self.written} prices written, {len(self.decisions)} spikes resolved"


def interactive_manual_check_fx_prices(fx_code: str, data: DataBlob | None = None,
                                       ask: Ask = input, say: Say = print) -> FxCheckReport:
    """Manually check and write the held-back prices of one FX pair (module docstring).

    ``ask`` reads one answer for a prompt (default :func:`input`); ``say`` shows a message
    (default :func:`print`). End of input (no terminal) stops like ``q``: nothing written.
    """
    console = Console(ask, say)
    with blob_for(data, PROCESS) as blob:
        log = get_logger(PROCESS, type="fx", fx_code=fx_code)
        pair = blob.broker_config.fx_pair(fx_code)
        report = FxCheckReport(pair.code)
        existing, new = new_fx_prices(blob, pair)
        if new.empty:
            say(f"{pair.code}: no new prices")
            return report
        settings = SpikeCheckSettings(max_price_spike=blob.config.max_price_spike)
        if len(existing) == 0:  # as the daily process: a first history is not spike-checked
            decisions, corrected = [], new
        else:
            try:
                decisions, corrected = review_spikes(existing.data, new, settings,
                                                     console.answer, say, pair.code,
                                                     positive_only=True)
            except (ManualCheckAborted, ConsoleExit) as stop:
                report.stopped = True
                say(f"{stop}; {pair.code} not written")
                return report
        for decision in decisions:
            if decision.action is SpikeAction.ACCEPT:
                log.info("%s: spike at %s accepted (%s)", pair.code, decision.timestamp,
                         new.loc[decision.timestamp])
            else:
                log.warning("%s: price at %s corrected by hand: %s -> %s", pair.code,
                            decision.timestamp, new.loc[decision.timestamp],
                            corrected.loc[decision.timestamp])
        report.decisions = decisions
        report.written = blob.fx_prices.append(pair.code, corrected)
        return report
