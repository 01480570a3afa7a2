"""The fake TWS's contract catalogue: futures and FX pairs of the simulated market, in IB terms.

Futures come from the market's universe (``ib:`` mapping of each instrument: IB symbol,
exchange, currency, multiplier, price magnifier). A contract exists for IB from its listing
date; it is "expired" from its last trading instant, and expired contracts are found only with
``includeExpired`` (as with TWS, for up to :data:`EXPIRED_LOOKBACK_DAYS`).

FX pairs: every pair of the market's currencies quoted the way IB lists them, base before quote
in :data:`FX_CURRENCY_ORDER` (EUR.USD, GBP.USD, USD.JPY, EUR.JPY ...); ``JPY.USD`` does not exist.

Contract ids are deterministic and decodable, so a client may send a bare ``conId``:
futures ``200_000_000 + instrument_index * 100_000 + year * 12 + month - 1`` (instrument index in
sorted instrument codes), FX ``12_000_000 + base_rank * 100 + quote_rank``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sysbrokers.errors import UnknownContract
from sysbrokers.IB.fake_tws.messages import WireContract, WireContractDetails
from sysbrokers.sim.market import MarketModel
from sysbrokers.sim.sessions import SessionCache
from sysbrokers.sim.universe import MONTH_LETTERS

FUT_CON_ID_BASE = 200_000_000
FX_CON_ID_BASE = 12_000_000
EXPIRED_LOOKBACK_DAYS = 730
FX_CURRENCY_ORDER = ("EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "JPY")
FX_EXCHANGE = "IDEALPRO"
NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class ContractQuery:
    """The 12 contract fields of a client request, plus includeExpired."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade: str = ""
    strike: str = ""
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    include_expired: bool = False

    @classmethod
    def from_fields(cls, f: list[str], include_expired: str = "0") -> ContractQuery:
        """From the 12 request fields (conId first)."""
        if len(f) < 12:
            raise ValueError(f"a contract needs 12 fields, got {len(f)}")
        return cls(
            con_id=int(f[0] or 0),
            symbol=f[1],
            sec_type=f[2],
            last_trade=f[3],
            strike=f[4],
            right=f[5],
            multiplier=f[6],
            exchange=f[7],
            primary_exchange=f[8],
            currency=f[9],
            local_symbol=f[10],
            trading_class=f[11],
            include_expired=include_expired not in ("", "0", "False"),
        )

    def describe(self) -> str:
        parts = [self.sec_type, self.symbol, self.last_trade, self.exchange, self.currency]
        if self.con_id:
            parts.insert(0, f"conId={self.con_id}")
        return " ".join(p for p in parts if p) or "<empty contract>"


@dataclass(frozen=True)
class Listing:
    """A contract the fake knows: either a future (instrument, 'YYYYMM') or an FX pair."""

    contract: WireContract
    instrument_code: str = ""  # futures
    contract_date: str = ""  # futures, 'YYYYMM'
    base: str = ""  # FX
    quote: str = ""  # FX

    @property
    def is_future(self) -> bool:
        return bool(self.instrument_code)


def _multiplier_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Catalogue:
    """Contract look-ups on a :class:`MarketModel` (see the module docstring)."""

    def __init__(self, market: MarketModel):
        self.market = market
        self._codes = market.instruments()
        self._index = {code: i for i, code in enumerate(self._codes)}
        currencies = {"USD"}
        for pair in market.universe.fx:
            currencies.update((pair[:3], pair[3:]))
        extra = sorted(currencies - set(FX_CURRENCY_ORDER))
        self._fx_order = [c for c in FX_CURRENCY_ORDER if c in currencies] + extra
        self._fx_sessions = SessionCache()

    # ------------------------------------------------------------------ futures
    def future(self, instrument_code: str, contract_date: str) -> Listing:
        """The IB view of one futures contract (UnknownContract if not in the priced cycle)."""
        spec = self.market.check_contract(instrument_code, contract_date)
        year, month = int(contract_date[:4]), int(contract_date[4:6])
        expiry = spec.expiry(contract_date)
        ib = spec.ib
        con_id = FUT_CON_ID_BASE + self._index[instrument_code] * 100_000 + year * 12 + month - 1
        contract = WireContract(
            con_id=con_id,
            symbol=ib.symbol,
            sec_type="FUT",
            last_trade_date=expiry.strftime("%Y%m%d"),
            multiplier=_multiplier_text(ib.multiplier),
            exchange=ib.exchange,
            currency=ib.currency,
            local_symbol=f"{ib.symbol}{MONTH_LETTERS[month - 1]}{year % 10}",
            trading_class=ib.symbol,
        )
        return Listing(
            contract, instrument_code=instrument_code, contract_date=f"{year:04d}{month:02d}"
        )

    def fx(self, base: str, quote: str) -> Listing:
        if base not in self._fx_order or quote not in self._fx_order:
            raise UnknownContract(f"no FX pair {base}.{quote}")
        bi, qi = self._fx_order.index(base), self._fx_order.index(quote)
        if bi >= qi:
            raise UnknownContract(f"IB lists {quote}.{base}, not {base}.{quote}")
        contract = WireContract(
            con_id=FX_CON_ID_BASE + bi * 100 + qi,
            symbol=base,
            sec_type="CASH",
            last_trade_date="",
            multiplier="",
            exchange=FX_EXCHANGE,
            currency=quote,
            local_symbol=f"{base}.{quote}",
            trading_class=f"{base}.{quote}",
        )
        return Listing(contract, base=base, quote=quote)

    def by_con_id(self, con_id: int) -> Listing:
        if con_id >= FUT_CON_ID_BASE:
            rest = con_id - FUT_CON_ID_BASE
            idx, ym = divmod(rest, 100_000)
            if idx < len(self._codes):
                year, month0 = divmod(ym, 12)
                return self.future(self._codes[idx], f"{year:04d}{month0 + 1:02d}")
        elif con_id >= FX_CON_ID_BASE:
            bi, qi = divmod(con_id - FX_CON_ID_BASE, 100)
            if bi < len(self._fx_order) and qi < len(self._fx_order):
                return self.fx(self._fx_order[bi], self._fx_order[qi])
        raise UnknownContract(f"no contract with conId {con_id}")

    # ------------------------------------------------------------------ resolution
    def resolve(self, query: ContractQuery, now_ns: int) -> list[Listing]:
        """Every contract matching ``query`` at ``now_ns``, nearest expiry first (empty if none)."""
        if query.con_id:
            try:
                listing = self.by_con_id(query.con_id)
            except UnknownContract:
                return []
            if listing.is_future and not self._alive(listing, now_ns, query.include_expired):
                return []
            return [listing]
        sec_type = query.sec_type.upper()
        if sec_type == "CASH":
            return self._resolve_fx(query)
        if sec_type in ("FUT", "CONTFUT"):
            found = self._resolve_futures(query, now_ns)
            if sec_type == "CONTFUT":
                found = [f for f in found if self._alive(f, now_ns, False)][:1]
            return found
        return []

    def _resolve_fx(self, q: ContractQuery) -> list[Listing]:
        if q.exchange and q.exchange.upper() != FX_EXCHANGE:
            return []
        base, quote = q.symbol.upper(), q.currency.upper()
        if q.local_symbol and "." in q.local_symbol:
            base, quote = q.local_symbol.upper().split(".", 1)
        try:
            return [self.fx(base, quote)]
        except UnknownContract:
            return []

    def _resolve_futures(self, q: ContractQuery, now_ns: int) -> list[Listing]:
        out: list[Listing] = []
        for code in self._codes:
            ib = self.market.spec(code).ib
            if q.symbol and q.symbol.upper() != ib.symbol.upper():
                continue
            if q.trading_class and q.trading_class.upper() != ib.symbol.upper():
                continue
            if q.exchange and q.exchange.upper() not in (ib.exchange.upper(),):
                continue
            if q.currency and q.currency.upper() != ib.currency.upper():
                continue
            if q.multiplier:
                try:
                    if abs(float(q.multiplier) - ib.multiplier) > 1e-9:
                        continue
                except ValueError:
                    continue
            if not q.symbol and not q.local_symbol:
                continue
            out.extend(self._months_for(code, q, now_ns))
        if q.local_symbol:
            out = [x for x in out if x.contract.local_symbol.upper() == q.local_symbol.upper()]
        return sorted(out, key=lambda x: (x.contract.last_trade_date, x.contract.con_id))

    def _months_for(self, code: str, q: ContractQuery, now_ns: int) -> list[Listing]:
        spec = self.market.spec(code)
        now = pd.Timestamp(now_ns, tz="UTC")
        text = q.last_trade.strip()
        if len(text) in (6, 8) and text.isdigit():
            year = int(text[:4])
            candidates = spec.contract_months(year - 1, year + 1)
            if len(text) == 6:
                candidates = [c for c in candidates if c == text]
            else:
                candidates = [c for c in candidates if spec.expiry(c).strftime("%Y%m%d") == text]
        elif text:
            return []
        else:
            first = now.year - (EXPIRED_LOOKBACK_DAYS // 365 + 1 if q.include_expired else 1)
            candidates = spec.contract_months(first, now.year + spec.listed_months // 12 + 2)
        out = []
        for c in candidates:
            listing = self.future(code, c)
            if self._alive(listing, now_ns, q.include_expired):
                out.append(listing)
        return out

    def _alive(self, listing: Listing, now_ns: int, include_expired: bool) -> bool:
        code, c = listing.instrument_code, listing.contract_date
        if self.market.listing_ns(code, c) > now_ns:
            return False
        expiry = self.market.expiry_ns(code, c)
        if expiry > now_ns:
            return True
        return include_expired and now_ns - expiry <= EXPIRED_LOOKBACK_DAYS * NS_PER_DAY

    # ------------------------------------------------------------------ details
    def details(self, listing: Listing, now_ns: int) -> WireContractDetails:
        if listing.is_future:
            return self._future_details(listing, now_ns)
        return self._fx_details(listing, now_ns)

    def _future_details(self, listing: Listing, now_ns: int) -> WireContractDetails:
        code, c = listing.instrument_code, listing.contract_date
        spec = self.market.spec(code)
        tz = spec.hours.tz
        expiry_ns = self.market.expiry_ns(code, c)
        last_time = pd.Timestamp(expiry_ns, tz="UTC").tz_convert(tz).strftime("%H:%M")
        hours = self._hours_text(
            [(o, cl) for o, cl in self._sessions(code, now_ns)], ZoneInfo(tz), now_ns
        )
        return WireContractDetails(
            contract=listing.contract,
            market_name=spec.ib.symbol,
            min_tick=spec.tick_size,
            order_types="ACTIVETIM,LMT,MKT,STP,STPLMT,SNAP MID,SNAP MKT",
            valid_exchanges=spec.ib.exchange,
            price_magnifier=spec.ib.price_magnifier,
            long_name=spec.description or code,
            contract_month=c,
            time_zone_id=tz,
            trading_hours=hours,
            liquid_hours=hours,
            last_trade_time=last_time,
            under_symbol=spec.ib.symbol,
            under_sec_type="IND" if spec.asset_class == "Equity" else "",
            real_expiration_date=listing.contract.last_trade_date,
        )

    def fx_hours(self):
        """Session spec of the FX market (all pairs trade the same hours)."""
        return next(iter(self.market.universe.fx.values())).hours

    def fx_sessions(self, start_ns: int, end_ns: int):
        return self._fx_sessions.between(self.fx_hours(), start_ns, end_ns)

    def _fx_details(self, listing: Listing, now_ns: int) -> WireContractDetails:
        hours_spec = self.fx_hours()
        s = self._fx_sessions.between(hours_spec, now_ns - NS_PER_DAY, now_ns + 7 * NS_PER_DAY)
        hours = self._hours_text(
            list(zip(s.open_ns.tolist(), s.close_ns.tolist(), strict=True)),
            ZoneInfo(hours_spec.tz),
            now_ns,
        )
        base, quote = listing.base, listing.quote
        return WireContractDetails(
            contract=listing.contract,
            market_name=f"{base}.{quote}",
            min_tick=fx_tick(quote),
            order_types="LMT,MKT,STP",
            valid_exchanges=FX_EXCHANGE,
            price_magnifier=1,
            long_name=f"{base} {quote}",
            contract_month="",
            time_zone_id=hours_spec.tz,
            trading_hours=hours,
            liquid_hours=hours,
        )

    def _sessions(self, code: str, now_ns: int) -> list[tuple[int, int]]:
        s = self.market.sessions(code, now_ns - NS_PER_DAY, now_ns + 7 * NS_PER_DAY)
        return list(zip(s.open_ns.tolist(), s.close_ns.tolist(), strict=True))

    @staticmethod
    def _hours_text(sessions: list[tuple[int, int]], tz: ZoneInfo, now_ns: int) -> str:
        """IB's ``YYYYMMDD:HHMM-YYYYMMDD:HHMM;YYYYMMDD:CLOSED`` in the exchange's zone."""

        def local(ns: int) -> dt.datetime:
            return pd.Timestamp(ns, tz="UTC").tz_convert(tz).to_pydatetime()

        parts: list[tuple[dt.date, str]] = []
        open_days: set[dt.date] = set()
        for o, c in sessions:
            lo, lc = local(o), local(c)
            parts.append((lo.date(), f"{lo:%Y%m%d:%H%M}-{lc:%Y%m%d:%H%M}"))
            open_days.add(lc.date())
        start = local(now_ns).date()
        for i in range(7):
            day = start + dt.timedelta(days=i)
            if day not in open_days and not any(p[0] == day for p in parts):
                parts.append((day, f"{day:%Y%m%d}:CLOSED"))
        parts.sort(key=lambda p: (p[0], p[1]))
        return ";".join(p[1] for p in parts)


def fx_tick(quote: str) -> float:
    """Quote increment the fake uses for FX pairs (IDEALPRO shows half-pips)."""
    return 0.005 if quote == "JPY" else 0.00005


def fx_round(values: np.ndarray, quote: str) -> np.ndarray:
    """Round FX mids to 5 decimals (3 for JPY quotes), as IB's MIDPOINT bars print them."""
    return np.round(np.asarray(values, dtype=float), 3 if quote == "JPY" else 5)
