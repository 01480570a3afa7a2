"""Keep each instrument's chain of sampled contracts.

For every instrument with roll parameters:

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
    each_instrument,
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


def update_sampled_contracts(instrument_code: str = "ALL",
                             data: DataBlob | None = None) -> ProcessReport:
    """Update the sampled chain of one instrument or ``ALL`` (those with roll parameters)."""
    with blob_for(data, "update_sampled_contracts") as blob:
        return each_instrument(blob, "update_sampled_contracts", instrument_code, blob.roll_parameters.list_codes,
                               lambda code: update_contract_chain(blob, code))
