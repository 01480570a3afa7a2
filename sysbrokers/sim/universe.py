"""The simulator's universe: instrument and FX specifications loaded from YAML.

The default file is ``sysbrokers/sim/universe.yaml`` (package data). Loading validates every
field; an error names the file, the key and what was expected (:class:`UniverseError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator

from syscore.config import validation_message
from syscore.time_of_day import HHMM, TimeZoneName, parse_hhmm

DEFAULT_UNIVERSE_PATH = Path(__file__).with_name("universe.yaml")
MONTH_LETTERS = "FGHJKMNQUVXZ"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class UniverseError(ValueError):
    """The universe file is invalid."""


@dataclass(frozen=True)
class SessionSpec:
    """A recurring session in exchange local time. ``days`` are the weekdays (0=Mon) on which
    the session opens; if ``close <= open`` the session closes on the next calendar day."""

    open: dt.time
    close: dt.time
    days: tuple[int, ...]

    @property
    def overnight(self) -> bool:
        return self.close <= self.open


@dataclass(frozen=True)
class HoursSpec:
    tz: str
    sessions: tuple[SessionSpec, ...]


@dataclass(frozen=True)
class ExpiryRule:
    """Last-trading-day rule (see the comment block of ``universe.yaml``)."""

    anchor: str  # "nth_weekday" | "day" | "last_business_day"
    weekday: int = 0
    n: int = 1
    day: int = 1
    month_offset: int = 0
    calendar_days: int = 0
    business_days: int = 0

    def expiry_for(self, year: int, month: int) -> dt.date:
        """Last trading date of the contract for ``year``/``month``."""
        y, m = _shift_month(year, month, self.month_offset)
        if self.anchor == "nth_weekday":
            first = dt.date(y, m, 1)
            delta = (self.weekday - first.weekday()) % 7
            anchor = first + dt.timedelta(days=delta + 7 * (self.n - 1))
        elif self.anchor == "day":
            anchor = dt.date(y, m, self.day)
        elif self.anchor == "last_business_day":
            ny, nm = _shift_month(y, m, 1)
            anchor = dt.date(ny, nm, 1) - dt.timedelta(days=1)
            while anchor.weekday() >= 5:
                anchor -= dt.timedelta(days=1)
        else:  # validated at load time
            raise UniverseError(f"unknown expiry anchor {self.anchor!r}")
        anchor += dt.timedelta(days=self.calendar_days)
        return _business_day_shift(anchor, self.business_days)


def _shift_month(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def _business_day_shift(day: dt.date, count: int) -> dt.date:
    """Move ``count`` weekdays back (negative, strictly before ``day``) or forward; with 0 a
    weekend date rolls back to the Friday before."""
    if count == 0:
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day
    step = dt.timedelta(days=1 if count > 0 else -1)
    remaining = abs(count)
    while remaining:
        day += step
        if day.weekday() < 5:
            remaining -= 1
    return day


@dataclass(frozen=True)
class IbMapping:
    symbol: str
    exchange: str
    currency: str
    multiplier: float
    price_magnifier: int = 1


@dataclass(frozen=True)
class PathSpec:
    """Parameters of one simulated underlying (an instrument or an FX pair)."""

    key: str
    price: float
    annual_vol: float
    half_life_years: float = 4.0
    regime_multipliers: tuple[float, ...] = (0.7, 1.0, 1.5)
    regime_probabilities: tuple[float, ...] = (0.35, 0.5, 0.15)
    regime_mean_days: float = 60.0
    jump_rate_per_day: float = 1.0 / 250.0
    jump_size_sigmas: float = 3.0


@dataclass(frozen=True)
class SimAnchor:
    """Where a configured instrument's simulated path joins its stored history: at ``time``
    (UTC) the ``contract_date`` contract (``YYYYMM``) trades at ``price`` (quoted units)."""

    time: dt.datetime
    price: float
    contract_date: str


@dataclass(frozen=True)
class InstrumentSpec:
    code: str
    description: str
    asset_class: str
    exchange: str
    currency: str
    multiplier: float
    tick_size: float
    path: PathSpec
    carry_mean: float
    carry_vol: float
    carry_half_life_years: float
    priced_cycle: str
    hold_cycle: str
    liquid_cycle: str
    listed_months: int
    roll_days: float
    expiry_rule: ExpiryRule
    hours: HoursSpec
    depth: int
    daily_volume: float
    commission: float
    margin_rate: float
    ib: IbMapping
    spread_ticks: int = 1
    anchor: SimAnchor | None = None

    def contract_months(self, first_year: int, last_year: int) -> list[str]:
        """Priced-cycle contract dates ``'YYYYMM'`` for years in ``[first_year, last_year]``."""
        months = sorted(MONTH_LETTERS.index(letter) + 1 for letter in self.priced_cycle)
        return [f"{y:04d}{m:02d}" for y in range(first_year, last_year + 1) for m in months]

    def expiry(self, contract_date: str) -> dt.date:
        return self.expiry_rule.expiry_for(int(contract_date[:4]), int(contract_date[4:6]))

    def first_listed(self, contract_date: str) -> dt.date:
        """First trading date: ``listed_months`` before expiry."""
        exp = self.expiry(contract_date)
        y, m = _shift_month(exp.year, exp.month, -self.listed_months)
        return dt.date(y, m, min(exp.day, 28))


@dataclass(frozen=True)
class FxAnchor:
    """Where an FX pair's simulated path joins its stored history: at ``time`` (UTC) one unit
    of the pair's base currency is worth ``price`` in its quote currency."""

    time: dt.datetime
    price: float


@dataclass(frozen=True)
class FxSpec:
    code: str  # e.g. EURUSD: price of one EUR in USD
    path: PathSpec
    hours: HoursSpec
    anchor: FxAnchor | None = None

    @property
    def base(self) -> str:
        return self.code[:3]

    @property
    def quote(self) -> str:
        return self.code[3:]


@dataclass(frozen=True)
class Universe:
    seed: int
    epoch: dt.date
    horizon: dt.date
    instruments: Mapping[str, InstrumentSpec]
    fx: Mapping[str, FxSpec]
    source: str = field(default="", compare=False)

    def instrument(self, code: str) -> InstrumentSpec:
        return self.instruments[code]


# --- the file, as pydantic models (validated once, at load) ---------------------------------

def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("expected a positive number")
    return value


def _cycle(value: str) -> str:
    if not value or any(c not in MONTH_LETTERS for c in value) or len(set(value)) != len(value):
        raise ValueError(f"expected month letters from {MONTH_LETTERS}")
    return "".join(sorted(value, key=MONTH_LETTERS.index))


Positive = Annotated[float, AfterValidator(_positive)]
Cycle = Annotated[str, AfterValidator(_cycle)]


class _Model(BaseModel):
    # strict: a number is never text, a bool never a number (an int is a float); keys the
    # loader does not read are ignored (the shipped file keeps YAML anchors at the top level)
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _SessionModel(_Model):
    open: HHMM
    close: HHMM
    days: list[str]

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        if not value or any(d not in WEEKDAY_NAMES for d in value):
            raise ValueError(f"expected weekday names from {WEEKDAY_NAMES}")
        return value

    def spec(self) -> SessionSpec:
        return SessionSpec(parse_hhmm(self.open), parse_hhmm(self.close),
                           tuple(sorted(WEEKDAY_NAMES.index(d) for d in self.days)))


class _HoursModel(_Model):
    tz: TimeZoneName
    sessions: list[_SessionModel]

    @field_validator("sessions")
    @classmethod
    def _some(cls, value: list[_SessionModel]) -> list[_SessionModel]:
        if not value:
            raise ValueError("expected at least one session")
        return value

    def spec(self) -> HoursSpec:
        return HoursSpec(self.tz, tuple(s.spec() for s in self.sessions))


class _ExpiryModel(_Model):
    anchor: Literal["nth_weekday", "day", "last_business_day"]
    weekday: int = 0
    n: int = 1
    day: int = 1
    month_offset: int = 0
    calendar_days: int = 0
    business_days: int = 0

    def spec(self) -> ExpiryRule:
        return ExpiryRule(**self.model_dump())


class _IbModel(_Model):
    symbol: str
    exchange: str
    currency: str
    multiplier: Positive
    price_magnifier: int = 1

    def spec(self) -> IbMapping:
        return IbMapping(**self.model_dump())


class _FxModel(_Model):
    price: Positive
    annual_vol: Positive
    half_life_years: Positive = 4.0
    hours: _HoursModel


class _InstrumentModel(_Model):
    underlying: str | None = None
    price: Positive | None = None
    annual_vol: Positive | None = None
    half_life_years: Positive = 4.0
    description: str = ""
    asset_class: str
    exchange: str
    currency: str
    multiplier: Positive
    tick_size: Positive
    carry_mean: float = 0.0
    carry_vol: float = 0.0
    carry_half_life_years: Positive = 1.0
    priced_cycle: Cycle = "HMUZ"
    hold_cycle: Cycle
    liquid_cycle: Cycle | None = None
    listed_months: int = 12
    roll_days: Positive = 10.0
    expiry: _ExpiryModel
    hours: _HoursModel
    depth: Positive = 20.0
    daily_volume: Positive = 50000.0
    commission: float = 2.0
    margin_rate: Positive = 0.1
    spread_ticks: int = 1
    ib: _IbModel


class _UniverseFile(_Model):
    seed: int = 1
    epoch: str = "1980-01-01"
    horizon: str = "2060-12-31"
    fx: dict[str, _FxModel]
    instruments: dict[str, _InstrumentModel]


def _fail(source: Path, key: str, expected: str, found: Any) -> UniverseError:
    return UniverseError(f"{source}: key '{key}': expected {expected}; found {found!r}")


def _date(source: Path, key: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _fail(source, key, "a date YYYY-MM-DD", text) from None


def load_universe(path: Path | str | None = None) -> Universe:
    """Load and validate a universe file (default: the shipped demo universe); every problem
    is a :class:`UniverseError` naming the file, the key, what was expected and what was
    found."""
    source = Path(path) if path is not None else DEFAULT_UNIVERSE_PATH
    with open(source, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(raw, dict):
        raise UniverseError(f"{source}: <root> must be a mapping, got {type(raw).__name__}")
    try:
        model = _UniverseFile.model_validate(raw)
    except ValidationError as exc:
        raise UniverseError(validation_message(exc, source, raw)) from None
    fx: dict[str, FxSpec] = {}
    for code, item in model.fx.items():
        if len(code) != 6 or not code.isupper():
            raise UniverseError(f"{source}: fx pair '{code}' expected a code like EURUSD")
        path_spec = PathSpec(code, item.price, item.annual_vol, item.half_life_years)
        fx[code] = FxSpec(code, path_spec, item.hours.spec())
    instruments: dict[str, InstrumentSpec] = {}
    for code, item in model.instruments.items():
        where = f"instruments.{code}"
        if item.underlying is not None:
            if item.underlying not in fx:
                raise _fail(source, f"{where}.underlying", "an fx pair defined under 'fx'",
                            item.underlying)
            path_spec = fx[item.underlying].path
        else:
            for name in ("price", "annual_vol"):
                if getattr(item, name) is None:
                    raise _fail(source, f"{where}.{name}", "a positive number", "<missing>")
            path_spec = PathSpec(code, item.price, item.annual_vol, item.half_life_years)
        priced = item.priced_cycle
        liquid = item.liquid_cycle if item.liquid_cycle is not None else priced
        if not set(item.hold_cycle) <= set(priced) or not set(liquid) <= set(priced):
            raise _fail(source, f"{where}.hold_cycle", "months within priced_cycle",
                        item.hold_cycle)
        instruments[code] = InstrumentSpec(
            code=code,
            description=item.description,
            asset_class=item.asset_class,
            exchange=item.exchange,
            currency=item.currency,
            multiplier=item.multiplier,
            tick_size=item.tick_size,
            path=path_spec,
            carry_mean=item.carry_mean,
            carry_vol=item.carry_vol,
            carry_half_life_years=item.carry_half_life_years,
            priced_cycle=priced,
            hold_cycle=item.hold_cycle,
            liquid_cycle=liquid,
            listed_months=item.listed_months,
            roll_days=item.roll_days,
            expiry_rule=item.expiry.spec(),
            hours=item.hours.spec(),
            depth=int(item.depth),
            daily_volume=item.daily_volume,
            commission=item.commission,
            margin_rate=item.margin_rate,
            spread_ticks=item.spread_ticks,
            ib=item.ib.spec(),
        )
    epoch = _date(source, "epoch", model.epoch)
    horizon = _date(source, "horizon", model.horizon)
    if horizon <= epoch:
        raise _fail(source, "horizon", "a date after epoch", horizon)
    return Universe(seed=model.seed, epoch=epoch, horizon=horizon, instruments=instruments,
                    fx=fx, source=str(source))
