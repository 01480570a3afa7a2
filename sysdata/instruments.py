"""Instrument configuration and roll parameters, kept in the state store."""
from __future__ import annotations

from syscore.exceptions import UnknownInstrument
from sysdata.state.base import Delete, Put, StateStore
from sysobjects.instruments import InstrumentConfig, validate_instrument_code
from sysobjects.roll_parameters import RollParameters

INSTRUMENTS = "instruments"
ROLL_PARAMETERS = "roll_parameters"


class InstrumentData:
    """Static configuration of every instrument (collection ``instruments``)."""

    def __init__(self, store: StateStore):
        self.store = store

    def add(self, config: InstrumentConfig) -> None:
        """Add or replace one instrument's configuration."""
        self.store.put(INSTRUMENTS, config.instrument_code, config.to_dict())

    def add_many(self, configs: list[InstrumentConfig]) -> None:
        """Add or replace several instruments in one atomic change."""
        self.store.apply([Put(INSTRUMENTS, c.instrument_code, c.to_dict()) for c in configs])

    def get(self, instrument_code: str) -> InstrumentConfig:
        """The configuration; :class:`UnknownInstrument` if not configured."""
        doc = self.store.get(INSTRUMENTS, validate_instrument_code(instrument_code))
        if doc is None:
            raise UnknownInstrument(f"unknown instrument {instrument_code!r}")
        return InstrumentConfig.from_dict(doc)

    def has(self, instrument_code: str) -> bool:
        return self.store.exists(INSTRUMENTS, instrument_code)

    def require(self, instrument_code: str) -> str:
        """Return the code if configured, else raise :class:`UnknownInstrument`."""
        if not self.has(instrument_code):
            raise UnknownInstrument(f"unknown instrument {instrument_code!r}")
        return instrument_code

    def list_codes(self) -> list[str]:
        return self.store.keys(INSTRUMENTS)

    def delete(self, instrument_code: str) -> None:
        self.store.apply([Delete(INSTRUMENTS, instrument_code)])


class RollParametersData:
    """Roll parameters per instrument (collection ``roll_parameters``)."""

    def __init__(self, store: StateStore):
        self.store = store

    def add(self, instrument_code: str, parameters: RollParameters) -> None:
        validate_instrument_code(instrument_code)
        self.store.put(ROLL_PARAMETERS, instrument_code, parameters.to_dict())

    def get(self, instrument_code: str) -> RollParameters:
        doc = self.store.get(ROLL_PARAMETERS, validate_instrument_code(instrument_code))
        if doc is None:
            raise UnknownInstrument(f"no roll parameters for instrument {instrument_code!r}")
        return RollParameters.from_dict(doc)

    def has(self, instrument_code: str) -> bool:
        return self.store.exists(ROLL_PARAMETERS, instrument_code)

    def list_codes(self) -> list[str]:
        return self.store.keys(ROLL_PARAMETERS)

    def delete(self, instrument_code: str) -> None:
        self.store.delete(ROLL_PARAMETERS, instrument_code)
