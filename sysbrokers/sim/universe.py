"""The simulator's universe: instrument and FX specifications loaded from YAML.

The default file is ``sysbrokers/sim/universe.yaml`` (package data). Loading validates every
field; an error names the file, the key and what was expected (:class:`UniverseError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

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
class FxSpec:
    code: str  # e.g. EURUSD: price of one EUR in USD
    path: PathSpec
    hours: HoursSpec

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


class _Reader:
    """Typed access to a YAML mapping with errors naming file and key."""

    def __init__(self, source: str, where: str, data: Any):
        if not isinstance(data, dict):
            raise UniverseError(f"{source}: {where} must be a mapping, got {type(data).__name__}")
        self.source, self.where, self.data = source, where, data

    def _fail(self, key: str, expected: str, value: Any = None) -> UniverseError:
        return UniverseError(
            f"{self.source}: key '{self._key(key)}' expected {expected}, got {value!r}"
        )

    def _key(self, key: str) -> str:
        return key if self.where == "<root>" else f"{self.where}.{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self._fail(key, f"a value of type {_type_name(kind)}", "<missing>")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self._fail(key, _type_name(kind), value)
        return value

    def positive(self, key: str, default: Any = ...) -> float:
        value = self.get(key, float, default)
        if value <= 0:
            raise self._fail(key, "a positive number", value)
        return value

    def sub(self, key: str, default: Any = ...) -> _Reader:
        return _Reader(self.source, self._key(key), self.get(key, dict, default))

    def cycle(self, key: str, default: Any = ...) -> str:
        value = self.get(key, str, default)
        if not value or any(c not in MONTH_LETTERS for c in value) or len(set(value)) != len(value):
            raise self._fail(key, f"month letters from {MONTH_LETTERS}", value)
        return "".join(sorted(value, key=MONTH_LETTERS.index))


def _type_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _parse_time(reader: _Reader, key: str) -> dt.time:
    text = reader.get(key, str)
    try:
        return dt.datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise reader._fail(key, "a time 'HH:MM'", text) from None


def _parse_hours(reader: _Reader) -> HoursSpec:
    tz = reader.get("tz", str)
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
    except Exception:
        raise reader._fail("tz", "an IANA time zone", tz) from None
    sessions = []
    raw = reader.get("sessions", list)
    for i, item in enumerate(raw):
        sr = _Reader(reader.source, f"{reader.where}.sessions[{i}]", item)
        days = sr.get("days", list)
        if not days or any(d not in WEEKDAY_NAMES for d in days):
            raise sr._fail("days", f"weekday names from {WEEKDAY_NAMES}", days)
        sessions.append(
            SessionSpec(
                _parse_time(sr, "open"),
                _parse_time(sr, "close"),
                tuple(sorted(WEEKDAY_NAMES.index(d) for d in days)),
            )
        )
    if not sessions:
        raise reader._fail("sessions", "at least one session", raw)
    return HoursSpec(tz, tuple(sessions))


def _parse_rule(reader: _Reader) -> ExpiryRule:
    anchor = reader.get("anchor", str)
    if anchor not in ("nth_weekday", "day", "last_business_day"):
        raise reader._fail("anchor", "nth_weekday, day or last_business_day", anchor)
    return ExpiryRule(
        anchor=anchor,
        weekday=reader.get("weekday", int, 0),
        n=reader.get("n", int, 1),
        day=reader.get("day", int, 1),
        month_offset=reader.get("month_offset", int, 0),
        calendar_days=reader.get("calendar_days", int, 0),
        business_days=reader.get("business_days", int, 0),
    )


def _parse_path(key: str, reader: _Reader) -> PathSpec:
    return PathSpec(
        key=key,
        price=reader.positive("price"),
        annual_vol=reader.positive("annual_vol"),
        half_life_years=reader.positive("half_life_years", 4.0),
    )


def _parse_ib(ib: _Reader) -> IbMapping:
    return IbMapping(
        symbol=ib.get("symbol", str),
        exchange=ib.get("exchange", str),
        currency=ib.get("currency", str),
        multiplier=ib.positive("multiplier"),
        price_magnifier=ib.get("price_magnifier", int, 1),
    )


def load_universe(path: Path | str | None = None) -> Universe:
    """Load and validate a universe file (default: the shipped demo universe)."""
    source = Path(path) if path is not None else DEFAULT_UNIVERSE_PATH
    with open(source, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    top = _Reader(str(source), "<root>", raw)
    fx: dict[str, FxSpec] = {}
    for code in top.get("fx", dict):
        reader = top.sub("fx").sub(code)
        if len(code) != 6 or not code.isupper():
            raise UniverseError(f"{source}: fx pair '{code}' expected a code like EURUSD")
        fx[code] = FxSpec(code, _parse_path(code, reader), _parse_hours(reader.sub("hours")))
    instruments: dict[str, InstrumentSpec] = {}
    for code in top.get("instruments", dict):
        reader = top.sub("instruments").sub(code)
        underlying = reader.get("underlying", str, None)
        if underlying is not None:
            if underlying not in fx:
                raise reader._fail("underlying", "an fx pair defined under 'fx'", underlying)
            path_spec = fx[underlying].path
        else:
            path_spec = _parse_path(code, reader)
        priced = reader.cycle("priced_cycle", "HMUZ")
        spec = InstrumentSpec(
            code=code,
            description=reader.get("description", str, ""),
            asset_class=reader.get("asset_class", str),
            exchange=reader.get("exchange", str),
            currency=reader.get("currency", str),
            multiplier=reader.positive("multiplier"),
            tick_size=reader.positive("tick_size"),
            path=path_spec,
            carry_mean=reader.get("carry_mean", float, 0.0),
            carry_vol=reader.get("carry_vol", float, 0.0),
            carry_half_life_years=reader.positive("carry_half_life_years", 1.0),
            priced_cycle=priced,
            hold_cycle=reader.cycle("hold_cycle"),
            liquid_cycle=reader.cycle("liquid_cycle", priced),
            listed_months=reader.get("listed_months", int, 12),
            roll_days=reader.positive("roll_days", 10.0),
            expiry_rule=_parse_rule(reader.sub("expiry")),
            hours=_parse_hours(reader.sub("hours")),
            depth=int(reader.positive("depth", 20.0)),
            daily_volume=reader.positive("daily_volume", 50000.0),
            commission=reader.get("commission", float, 2.0),
            margin_rate=reader.positive("margin_rate", 0.1),
            spread_ticks=reader.get("spread_ticks", int, 1),
            ib=_parse_ib(reader.sub("ib")),
        )
        if not set(spec.hold_cycle) <= set(priced) or not set(spec.liquid_cycle) <= set(priced):
            raise reader._fail("hold_cycle", "months within priced_cycle", spec.hold_cycle)
        instruments[code] = spec
    epoch = dt.date.fromisoformat(top.get("epoch", str, "1980-01-01"))
    horizon = dt.date.fromisoformat(top.get("horizon", str, "2060-12-31"))
    if horizon <= epoch:
        raise top._fail("horizon", "a date after epoch", horizon)
    return Universe(
        seed=top.get("seed", int, 1),
        epoch=epoch,
        horizon=horizon,
        instruments=instruments,
        fx=fx,
        source=str(source),
    )
