"""Per-product roll regimes for EXOs, as data, and the choice of the active chain.

Regimes are data: the ``roll_regimes`` key of ``$SYSTRADE_HOME/private/exo_settings.yaml``
(validated with the rest of the file by :mod:`sysexo.settings`)::

    default: {roll_months: [1,2,3,4,5,6,7,8,9,10,11,12], days_before_expiration: 2}
    products:
      ZC: {roll_months: [1,2,3,5,7,9,12], days_before_expiration: 5}
      6E: {roll_months: [3,6,9,12], days_before_expiration: 2, option_codes: ["EUU", ""]}

:func:`active_chain` picks, on a day, the first future whose month is a roll month and which is
more than ``days_before_expiration`` business-agnostic calendar days from expiry, then that
future's first option expiry more than ``days_before_expiration`` days away whose option code
passes the filter (exact codes; ``""`` is the plain code). A future with no usable option
chain is skipped for the next one; when no future in reach has options at all, the chain is the
first eligible future alone (an EXO of futures only still rolls).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from syscore.exceptions import InvalidData, MissingData

ALL_MONTHS = list(range(1, 13))


class RollRegime(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roll_months: list[int] = Field(default_factory=lambda: list(ALL_MONTHS))
    days_before_expiration: int = Field(default=2, ge=0, le=60)
    #: allowed option codes (exact); None = any
    option_codes: list[str] | None = None

    @field_validator("roll_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if not value or any(m < 1 or m > 12 for m in value) or len(set(value)) != len(value):
            raise ValueError("expected distinct months 1-12")
        return sorted(value)


class RollRegimes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: RollRegime = Field(default_factory=RollRegime)
    products: dict[str, RollRegime] = Field(default_factory=dict)

    def for_product(self, product: str) -> RollRegime:
        return self.products.get(product, self.default)


@dataclass(frozen=True)
class FutureContract:
    contract_id: str       #: YYYYMM
    expiry: dt.date

    @property
    def month(self) -> int:
        return int(self.contract_id[4:6])


@dataclass(frozen=True)
class OptionExpiry:
    option_code: str       #: "" for the plain code
    expiry: dt.date


@dataclass(frozen=True)
class ActiveChain:
    future: FutureContract
    option: OptionExpiry | None  #: None: futures only


def active_chain(day: dt.date, futures: list[FutureContract],
                 options: dict[str, list[OptionExpiry]], regime: RollRegime) -> ActiveChain:
    """See module docstring; MissingData when no future is eligible."""
    gap = dt.timedelta(days=regime.days_before_expiration)
    eligible = [f for f in sorted(futures, key=lambda f: f.expiry)
                if f.month in regime.roll_months and f.expiry - gap > day]
    if not eligible:
        raise MissingData(f"no future in the roll months {regime.roll_months} expires more than "
                          f"{regime.days_before_expiration} days after {day}")
    for future in eligible:
        usable = sorted((o for o in options.get(future.contract_id, [])
                         if o.expiry - gap > day and (regime.option_codes is None
                                                      or o.option_code in regime.option_codes)),
                        key=lambda o: o.expiry)
        if usable:
            return ActiveChain(future, usable[0])
    if any(options.get(f.contract_id) for f in eligible):
        raise MissingData(f"no option chain of the eligible futures passes the filter on {day}")
    return ActiveChain(eligible[0], None)


def needs_roll(day: dt.date, expiries: list[dt.date], regime: RollRegime) -> bool:
    """True when any leg expires within ``days_before_expiration`` days of ``day``."""
    gap = dt.timedelta(days=regime.days_before_expiration)
    return any(expiry - gap <= day for expiry in expiries)


def load_roll_regimes(data: dict | None) -> RollRegimes:
    try:
        return RollRegimes.model_validate(data or {})
    except Exception as exc:
        raise InvalidData(f"EXO roll regimes: {exc}") from None
