"""Broker mapping configuration in the state store: spot FX pairs and IB futures mapping."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from syscore.exceptions import InvalidData, MissingData
from sysdata.state.base import Put, StateStore
from sysobjects.instruments import validate_instrument_code

FX_CONFIG = "fx_config"
IB_FUTURES_CONFIG = "ib_futures_config"


@dataclass(frozen=True)
class FxPairConfig:
    """A spot FX series: ``code`` (e.g. ``JPYUSD``) is the value in ``ccy2``... as stored.

    The broker quotes ``ccy1``/``ccy2``; when ``invert`` is true the stored price is
    1 / quote (pysystemtrade's ``INVERT = YES``)."""

    code: str
    ccy1: str
    ccy2: str
    invert: bool = False

    def __post_init__(self) -> None:
        for name in ("ccy1", "ccy2"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
                raise InvalidData(f"FX pair {self.code}: {name} must be a 3-letter code, got {value!r}")
        if len(self.code) != 6:
            raise InvalidData(f"FX code {self.code!r} must be 6 letters")


@dataclass(frozen=True)
class IBFuturesConfig:
    """How an instrument is found at Interactive Brokers. ``price_multiplier`` scales IB prices
    into our units (pysystemtrade's ``MyMultiplier`` / ``priceMagnifier``)."""

    instrument_code: str
    ib_symbol: str
    ib_exchange: str
    ib_currency: str | None = None
    ib_multiplier: float | None = None
    price_multiplier: float = 1.0
    ignore_weekly: bool = False


class BrokerConfigData:
    """Broker mapping configuration in the state store: spot FX pairs (:class:`FxPairConfig`)
    and the IB futures mapping (:class:`IBFuturesConfig`), keyed by FX code and instrument code.
    No units or times. Each ``add_*`` call is one atomic batch (``StateStore.apply``); adding an
    existing key replaces it. A missing key raises :class:`MissingData`."""

    def __init__(self, store: StateStore):
        self.store = store

    def add_fx_pairs(self, pairs: list[FxPairConfig]) -> None:
        self.store.apply([Put(FX_CONFIG, p.code, asdict(p)) for p in pairs])

    def fx_pair(self, code: str) -> FxPairConfig:
        return FxPairConfig(**self._get(FX_CONFIG, code, f"no FX pair configured for {code!r}"))

    def fx_pairs(self) -> list[FxPairConfig]:
        return [FxPairConfig(**doc) for _, doc in self.store.find(FX_CONFIG)]

    def add_ib_futures(self, configs: list[IBFuturesConfig]) -> None:
        for c in configs:
            validate_instrument_code(c.instrument_code)
        self.store.apply([Put(IB_FUTURES_CONFIG, c.instrument_code, asdict(c)) for c in configs])

    def ib_futures(self, instrument_code: str) -> IBFuturesConfig:
        return IBFuturesConfig(**self._get(IB_FUTURES_CONFIG, instrument_code,
                                           f"no IB mapping for instrument {instrument_code!r}"))

    def all_ib_futures(self) -> list[IBFuturesConfig]:
        return [IBFuturesConfig(**doc) for _, doc in self.store.find(IB_FUTURES_CONFIG)]

    def _get(self, collection: str, key: str, missing: str) -> dict[str, Any]:
        doc = self.store.get(collection, key)
        if doc is None:
            raise MissingData(missing)
        return doc
