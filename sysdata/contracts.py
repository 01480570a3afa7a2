"""Futures contracts (with expiry and sampling flag) and roll states, in the state store."""
from __future__ import annotations

from syscore.exceptions import InvalidData, MissingData
from sysdata.state.base import StateStore
from sysobjects.contracts import FuturesContract, validate_contract_date
from sysobjects.instruments import validate_instrument_code
from sysobjects.roll_state import RollState

CONTRACTS = "futures_contracts"
ROLL_STATES = "roll_states"

ROLL_STATE_NAMES = (
    "No_Roll",
    "Passive",
    "Force",
    "Force_Outright",
    "Roll_Adjusted",
    "Close",
    "No_Open",
)


def contract_key(instrument_code: str, contract_date: str) -> str:
    """``INSTRUMENT/YYYYMM[DD]``, the key of anything held per contract (as
    :attr:`FuturesContract.key`)."""
    return f"{validate_instrument_code(instrument_code)}/{validate_contract_date(contract_date)}"


class FuturesContractData:
    """Contracts keyed ``INSTRUMENT/YYYYMM[DD]`` (collection ``futures_contracts``)."""

    def __init__(self, store: StateStore):
        self.store = store

    def add(self, contract: FuturesContract) -> None:
        """Add or replace a contract."""
        self.store.put(CONTRACTS, contract.key, contract.to_dict())

    def get(self, instrument_code: str, contract_date: str) -> FuturesContract:
        key = contract_key(instrument_code, contract_date)
        doc = self.store.get(CONTRACTS, key)
        if doc is None:
            raise MissingData(f"no contract {key}")
        return FuturesContract.from_dict(doc)

    def has(self, instrument_code: str, contract_date: str) -> bool:
        return self.store.exists(CONTRACTS, contract_key(instrument_code, contract_date))

    def for_instrument(self, instrument_code: str, sampling_only: bool = False) -> list[FuturesContract]:
        """All contracts of one instrument, in contract-date order."""
        where = {"instrument_code": validate_instrument_code(instrument_code)}
        if sampling_only:
            where["sampling"] = True
        rows = self.store.find(CONTRACTS, where)
        return sorted(
            (FuturesContract.from_dict(doc) for _, doc in rows), key=lambda c: c.contract_date
        )

    def instruments_with_contracts(self) -> list[str]:
        return sorted({doc["instrument_code"] for _, doc in self.store.find(CONTRACTS)})

    def set_sampling(self, instrument_code: str, contract_date: str, sampling: bool) -> None:
        """Switch sampling on or off (atomic: a concurrent expiry update is not lost)."""
        contract = self.get(instrument_code, contract_date)
        self.store.update(CONTRACTS, contract.key,
                          lambda doc: None if doc is None else {**doc, "sampling": bool(sampling)})

    def delete(self, instrument_code: str, contract_date: str) -> None:
        self.store.delete(CONTRACTS, contract_key(instrument_code, contract_date))


class RollStateData:
    """The roll state of each instrument (collection ``roll_states``); default ``No_Roll``."""

    def __init__(self, store: StateStore):
        self.store = store

    def get(self, instrument_code: str) -> str:
        doc = self.store.get(ROLL_STATES, validate_instrument_code(instrument_code))
        return doc["state"] if doc else "No_Roll"

    def state(self, instrument_code: str) -> RollState:
        """The roll state of ``instrument_code`` as the enum (``RollState.NO_ROLL`` if never
        set)."""
        return RollState.from_name(self.get(instrument_code))

    def states(self) -> dict[str, RollState]:
        """Every stored roll state (instrument code -> enum)."""
        return {code: RollState.from_name(name) for code, name in self.all().items()}

    def set(self, instrument_code: str, state: str | RollState) -> None:
        state = getattr(state, "value", state)
        if state not in ROLL_STATE_NAMES:
            raise InvalidData(f"unknown roll state {state!r}; expected one of {ROLL_STATE_NAMES}")
        self.store.put(ROLL_STATES, validate_instrument_code(instrument_code), {"state": state})

    def all(self) -> dict[str, str]:
        return {key: doc["state"] for key, doc in self.store.find(ROLL_STATES)}
