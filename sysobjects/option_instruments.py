"""Option legs as instruments of the execution layer (pure; no I/O).

An option leg is traded through the order stacks, the ledger and reconciliation like a
futures instrument whose *instrument code* names the option series and whose *contract date*
is the underlying future's month. The code (letters, digits, ``_`` and ``-`` only, as every
instrument code) is::

    <PRODUCT>-<FUTURE YYYYMM>-<C|P><STRIKE>-<EXPIRY YYYYMMDD>[-<OPTION CODE>]

* ``PRODUCT``: the underlying's instrument code (``SP500_micro``);
* ``FUTURE``: the underlying future's contract month, the same as the order's contract date;
* ``C``/``P`` then the strike in the future's price units, its decimal point written ``p``
  (``C2350``, ``P1p085``), shortest exact decimal;
* ``EXPIRY``: the option's last trading date;
* ``OPTION CODE``: the listing's code when it has one (serial options: ``S``).

Examples: ``GOLD-202406-C2350-20240524``, ``SP500_micro-202403-P3800-20240215-S``. A code is
parsed from the right, so a product code containing ``-`` still parses.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from syscore.exceptions import InvalidData
from sysobjects.black76 import OptionRight
from sysobjects.contracts import validate_contract_date
from sysobjects.instruments import validate_instrument_code

_CODE = re.compile(r"^(?P<product>.+)-(?P<future>\d{6})-(?P<right>[CP])"
                   r"(?P<strike>\d+(?:p\d+)?)-(?P<expiry>\d{8})(?:-(?P<code>[A-Za-z0-9_]+))?$")


def _strike_text(strike: float) -> str:
    text = format(Decimal(repr(float(strike))).normalize(), "f")
    return text.replace(".", "p")


@dataclass(frozen=True)
class OptionSeries:
    """One option: ``product`` (the future's instrument code), ``future`` (its month
    ``YYYYMM``), ``right``, ``strike`` (> 0), ``expiry`` (last trading date) and
    ``option_code`` (``""`` for the plain listing)."""

    product: str
    future: str
    right: OptionRight
    strike: float
    expiry: dt.date
    option_code: str = ""

    def __post_init__(self) -> None:
        validate_instrument_code(self.product)
        object.__setattr__(self, "future", validate_contract_date(self.future)[:6])
        object.__setattr__(self, "right", OptionRight(self.right))
        if not float(self.strike) > 0:
            raise InvalidData(f"an option strike must be positive, got {self.strike!r}")
        object.__setattr__(self, "strike", float(self.strike))
        if self.option_code and not re.fullmatch(r"[A-Za-z0-9_]+", self.option_code):
            raise InvalidData(f"invalid option code {self.option_code!r}")

    @property
    def code(self) -> str:
        """The instrument code (see the module docstring)."""
        tail = f"-{self.option_code}" if self.option_code else ""
        return (f"{self.product}-{self.future}-{self.right.value}{_strike_text(self.strike)}"
                f"-{self.expiry:%Y%m%d}{tail}")

    def __str__(self) -> str:
        return self.code


def parse_option_code(code: str) -> OptionSeries | None:
    """The option series an instrument code names, or ``None`` for a futures instrument."""
    match = _CODE.match(str(code))
    if match is None:
        return None
    try:
        expiry = dt.datetime.strptime(match["expiry"], "%Y%m%d").date()
        return OptionSeries(match["product"], match["future"], OptionRight(match["right"]),
                            float(match["strike"].replace("p", ".")), expiry,
                            match["code"] or "")
    except (ValueError, InvalidData):
        return None


def is_option_code(code: str) -> bool:
    return parse_option_code(code) is not None
