"""Futures contracts: an instrument plus a contract date, with expiry and sampling flag."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from syscore.exceptions import InvalidData
from sysobjects.instruments import validate_instrument_code

_CONTRACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")


def validate_contract_date(contract_date: str) -> str:
    """Normalise a contract date to ``YYYYMM`` or ``YYYYMMDD``.

    pysystemtrade's ``YYYYMM00`` (day 00 = month only) is accepted and returned as ``YYYYMM``.
    """
    text = str(contract_date)
    match = _CONTRACT_DATE.match(text)
    if not match:
        raise InvalidData(f"contract date {contract_date!r} is not YYYYMM or YYYYMMDD")
    year, month, day = match.group(1), int(match.group(2)), match.group(3)
    if not 1 <= month <= 12:
        raise InvalidData(f"contract date {contract_date!r} has month {month}")
    if day is None or day == "00":
        return f"{year}{month:02d}"
    try:
        dt.date(int(year), month, int(day))
    except ValueError as exc:
        raise InvalidData(f"contract date {contract_date!r}: {exc}") from None
    return text


@dataclass(frozen=True)
class FuturesContract:
    """One contract of an instrument.

    ``expiry_date`` is the exchange's last trading day when known (``expiry_is_actual``), else an
    approximation from roll parameters. ``sampling`` says whether prices are collected for it.
    """

    instrument_code: str
    contract_date: str
    expiry_date: dt.date | None = None
    expiry_is_actual: bool = False
    sampling: bool = False

    def __post_init__(self) -> None:
        validate_instrument_code(self.instrument_code)
        object.__setattr__(self, "contract_date", validate_contract_date(self.contract_date))

    @property
    def key(self) -> str:
        return f"{self.instrument_code}/{self.contract_date}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument_code": self.instrument_code,
            "contract_date": self.contract_date,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "expiry_is_actual": self.expiry_is_actual,
            "sampling": self.sampling,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FuturesContract:
        expiry = data.get("expiry_date")
        return cls(
            instrument_code=data["instrument_code"],
            contract_date=data["contract_date"],
            expiry_date=dt.date.fromisoformat(expiry) if expiry else None,
            expiry_is_actual=bool(data.get("expiry_is_actual", False)),
            sampling=bool(data.get("sampling", False)),
        )
