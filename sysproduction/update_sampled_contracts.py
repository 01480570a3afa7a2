"""Keep each instrument's chain of sampled contracts.

For every instrument that is **set up**: it has roll parameters and stored multiple prices or
stored contracts (pysystemtrade's convention: the daily updates work over the instruments with
stored prices, not the whole instrument config). An instrument that is only configured (a
pysystemtrade ``instrumentconfig.csv`` lists hundreds) is not updated and raises no alert: it is
listed once as "not set up" in the report and the log (INFO). Naming it (``--instrument_code X``)
starts its chain; ``init_from_sim_universe`` starts the chains of the simulator's instruments.

1. the *key* contracts are the current PRICE, FORWARD and CARRY contracts (from the stored
   multiple prices, or from the roll parameters when there are none yet);
2. the *required* chain is the key contracts plus every contract the roll parameters will use in
   the next ``lookahead_days`` (default 365);
3. required contracts missing from the store are added, and all are marked for sampling, with the
   broker's actual expiry when the broker lists them (else an approximate expiry);
4. sampled contracts that are expired or unknown to the broker, and not key, stop being sampled;
5. a key contract that has expired raises a CRITICAL alert (a roll is overdue).

    python run.py sysproduction.update_sampled_contracts.update_sampled_contracts
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sysbrokers.errors import UnknownContract
from syscore.formatting import format_contract_id
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from sysobjects.contract_dates import approximate_expiry, contracts_for_date, contracts_needed
from sysobjects.contracts import FuturesContract, validate_contract_date
from sysobjects.multiple_prices import MultiplePrices
from sysproduction.process_helpers import (
    Outcome,
    ProcessReport,
    blob_for,
    each_active_item,
    each_instrument,
    note_not_set_up,
    stored_multiple_tail,
)

DEFAULT_LOOKAHEAD_DAYS = 365


@dataclass
class ChainUpdate:
    key: tuple[str, str, str]
    added: list[str] = field(default_factory=list)
    unsampled: list[str] = field(default_factory=list)
    expired_key: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        return Outcome.WRITTEN if (self.added or self.unsampled) else Outcome.UNCHANGED

    def __str__(self) -> str:
        def ids(contracts) -> str:
            return ", ".join(format_contract_id(c) for c in contracts) or "-"

        return (f"key {'/'.join(format_contract_id(c) for c in self.key)}; added "
                f"{ids(self.added)}; unsampled {ids(self.unsampled)}"
                + (f"; EXPIRED KEY {ids(self.expired_key)}" if self.expired_key else ""))


def key_contracts(data: DataBlob, instrument_code: str, today: dt.date) -> tuple[str, str, str]:
    """(price, forward, carry) contracts, ``YYYYMM[DD]``."""
    if data.multiple_prices.has(instrument_code):
        last_row = stored_multiple_tail(data, instrument_code)
        if len(last_row):
            return MultiplePrices(last_row).current_contracts()
    on_date = contracts_for_date(today, data.roll_parameters.get(instrument_code))
    return on_date.current, on_date.forward, on_date.carry


def update_contract_chain(data: DataBlob, instrument_code: str,
                          lookahead_days: int = DEFAULT_LOOKAHEAD_DAYS) -> ChainUpdate:
    log = get_logger("update_sampled_contracts", instrument_code=instrument_code)
    params = data.roll_parameters.get(instrument_code)
    today = data.now().date()
    key = tuple(validate_contract_date(c) for c in key_contracts(data, instrument_code, today))
    required = set(key) | {validate_contract_date(c) for c in contracts_needed(
        today, today + dt.timedelta(days=lookahead_days), params)}
    update = ChainUpdate(key=key)  # type: ignore[arg-type]
    stored = {c.contract_date: c for c in data.contracts.for_instrument(instrument_code)}
    broker = data.broker
    for contract_date in sorted(required | {c for c, k in stored.items() if k.sampling}):
        try:
            details = broker.get_contract_details(instrument_code, contract_date)
            expiry, actual, listed = details.expiry, True, True
        except UnknownContract:
            previous = stored.get(contract_date)
            expiry = previous.expiry_date if previous and previous.expiry_date else \
                approximate_expiry(contract_date, params)
            actual, listed = bool(previous and previous.expiry_is_actual), False
        expired = expiry < today
        is_key = contract_date in key
        if is_key and expired:
            update.expired_key.append(contract_date)
        sample = is_key or (contract_date in required and listed and not expired)
        previous = stored.get(contract_date)
        contract = FuturesContract(instrument_code, contract_date, expiry, actual, sample)
        if previous != contract:
            data.contracts.add(contract)
            if previous is None:
                update.added.append(contract_date)
            elif previous.sampling and not sample:
                update.unsampled.append(contract_date)
    if update.expired_key:
        alert(data, f"Expired key contract in {instrument_code}",
              f"{instrument_code}: key contract(s) "
              f"{', '.join(format_contract_id(c) for c in update.expired_key)} have expired "
              f"(price/forward/carry {'/'.join(format_contract_id(c) for c in key)}); "
              f"roll the instrument.", logger=log)
    log.info("%s: %s", instrument_code, update)
    return update


def instruments_set_up(data: DataBlob) -> tuple[list[str], list[str]]:
    """``(set up, not set up)``: the instruments with roll parameters that have stored multiple
    prices or stored contracts, and those that have neither (ignored ones in neither list)."""
    stored = set(data.multiple_prices.list_codes()) | set(data.contracts.instruments_with_contracts())
    codes = data.roll_parameters.list_codes()
    ignored = data.config.ignored_instruments
    return ([c for c in codes if c in stored],
            [c for c in codes if c not in stored and c not in ignored])


def update_sampled_contracts(instrument_code: str = "ALL",
                             data: DataBlob | None = None) -> ProcessReport:
    """Update the sampled chain of one instrument (set up or not: naming it starts its chain)
    or of ``ALL`` instruments that are set up (see the module docstring)."""
    process = "update_sampled_contracts"
    with blob_for(data, process) as blob:
        if instrument_code != "ALL":
            return each_instrument(blob, process, instrument_code, list,
                                   lambda code: update_contract_chain(blob, code))
        set_up, not_set_up = instruments_set_up(blob)
        report = each_active_item(blob, process, set_up,
                                  lambda code: update_contract_chain(blob, code))
        note_not_set_up(report, process, not_set_up)
        return report
