"""reqHistoricalData on the simulated market: request parsing and IB-style bars.

Supported: bar sizes ``1 day`` and ``1 hour``; durations ``N S|D|W|M|Y`` (calendar: a month is a
calendar month); ``whatToShow`` TRADES for futures and MIDPOINT for FX pairs; ``formatDate`` 1
(text) and 2 (epoch seconds). ``endDateTime`` may be empty (now), ``YYYYMMDD HH:MM:SS <zone>``,
``YYYYMMDD-HH:MM:SS`` (UTC) or ``YYYYMMDD HH:MM:SS`` (the TWS zone).

Dating follows IB: daily bars carry the exchange-local trading date ``YYYYMMDD`` whatever the
formatDate; hourly bars carry their *start*, the clock hour or the session open if the session
opened within that hour (the simulator labels bars with their end), as ``YYYYMMDD HH:MM:SS <TWS zone>`` (formatDate 1) or epoch seconds (formatDate 2).
Only complete bars are returned (TWS also sends the bar in progress: a known difference).
MIDPOINT bars have volume, WAP and count -1, as TWS sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sysbrokers.IB.fake_tws.catalogue import Listing, fx_round
from sysbrokers.IB.fake_tws.messages import WireBar
from sysbrokers.sim.market import MarketModel

HOUR_NS = 3_600 * 10**9
FX_SAMPLE_NS = 5 * 60 * 10**9
BAR_SIZES = {"1 day": "D", "1 hour": "H", "1 hours": "H"}


class HistoryRequestError(ValueError):
    """The request is invalid; ``code`` is the TWS error code to answer with."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True)
class HistoryRequest:
    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


def parse_end(text: str, now: pd.Timestamp, tws_zone: str) -> pd.Timestamp:
    """``endDateTime`` as a UTC timestamp (empty = now)."""
    text = text.strip()
    if not text:
        return now
    m = re.fullmatch(r"(\d{8})[ -](\d{2}:\d{2}:\d{2})(?: (\S+))?", text)
    if not m:
        raise HistoryRequestError(
            321, f"Error validating request:-'bP' : cause - invalid end date {text!r}"
        )
    day, clock, zone = m.groups()
    if zone is None:
        zone = "UTC" if "-" in text[8:9] else tws_zone
    try:
        local = pd.Timestamp(f"{day} {clock}").tz_localize(ZoneInfo(zone))
    except Exception:
        raise HistoryRequestError(
            321, f"Error validating request:-'bP' : cause - invalid time zone {zone!r}"
        ) from None
    return local.tz_convert("UTC")


def parse_duration(text: str, end: pd.Timestamp) -> pd.Timestamp:
    """Start of the window ending at ``end`` (e.g. ``'30 D'``, ``'1 Y'``)."""
    m = re.fullmatch(r"\s*(\d+)\s+([SDWMY])\s*", text.upper())
    if not m or int(m.group(1)) <= 0:
        raise HistoryRequestError(
            321,
            f"Error validating request:-'bP' : cause - Historical data request duration {text!r} is invalid",
        )
    n, unit = int(m.group(1)), m.group(2)
    offsets = {
        "S": pd.Timedelta(seconds=n),
        "D": pd.Timedelta(days=n),
        "W": pd.Timedelta(weeks=n),
        "M": pd.DateOffset(months=n),
        "Y": pd.DateOffset(years=n),
    }
    return end - offsets[unit]


def bars_for(
    market: MarketModel,
    listing: Listing,
    frequency: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    now: pd.Timestamp,
    format_date: int,
    tws_zone: str,
    fx_sessions,
) -> list[WireBar]:
    """IB-style bars of ``listing`` whose end lies in ``[start, min(end, now)]``."""
    if listing.is_future:
        spec = market.spec(listing.instrument_code)
        frame = market.bars(
            listing.instrument_code, listing.contract_date, frequency, start, end, as_of=now
        )
        starts = _bar_starts(market, listing.instrument_code, frame.index.asi8, frequency)
        out = []
        for bar_start, label, row in zip(
            starts, frame.index, frame.itertuples(index=False), strict=True
        ):
            o, h, lo, c, v = (
                float(row[0]),
                float(row[1]),
                float(row[2]),
                float(row[3]),
                int(row[4]),
            )
            wap = round((h + lo + c) / 3.0, 8)
            date = _bar_date(
                label.value, int(bar_start), frequency, format_date, spec.hours.tz, tws_zone
            )
            out.append(WireBar(date, o, h, lo, c, float(v), wap, (v + 1) // 2))
        return out
    return _fx_bars(
        market, listing, frequency, start, min(end, now), format_date, tws_zone, fx_sessions
    )


def _bar_starts(market: MarketModel, code: str, labels: np.ndarray, frequency: str) -> np.ndarray:
    """Start of each hourly bar: its clock hour, or the session open if the session opened
    within that hour (TWS dates a 08:30-09:00 bar 08:30). Daily bars: unused (zeros)."""
    labels = np.asarray(labels, dtype=np.int64)
    if frequency == "D" or len(labels) == 0:
        return np.zeros(len(labels), dtype=np.int64)
    hour = ((labels - 1) // HOUR_NS) * HOUR_NS
    s = market.sessions(code, int(labels.min()) - 2 * HOUR_NS, int(labels.max()) + 1)
    idx = np.searchsorted(s.open_ns, labels - 1, side="right") - 1
    opens = np.where(idx >= 0, s.open_ns[np.maximum(idx, 0)], hour)
    return np.maximum(hour, opens)


def _bar_date(
    label_ns: int,
    start_ns: int,
    frequency: str,
    format_date: int,
    exchange_zone: str,
    tws_zone: str,
) -> str:
    if frequency == "D":
        return pd.Timestamp(label_ns, tz="UTC").tz_convert(exchange_zone).strftime("%Y%m%d")
    start = start_ns
    if format_date == 2:
        return str(start // 10**9)
    return (
        pd.Timestamp(start, tz="UTC").tz_convert(tws_zone).strftime("%Y%m%d %H:%M:%S ") + tws_zone
    )


def _fx_bars(
    market, listing, frequency, start, end, format_date, tws_zone, fx_sessions
) -> list[WireBar]:
    start_ns, end_ns = start.value, end.value
    lo_ns, hi_ns = max(start_ns - 2 * 86_400 * 10**9, market.first_ns), min(end_ns, market.last_ns)
    if hi_ns <= lo_ns:
        return []
    s = fx_sessions(lo_ns, hi_ns + 1)
    intervals: list[tuple[int, int]] = []
    for o, c in zip(s.open_ns.tolist(), s.close_ns.tolist(), strict=True):
        if frequency == "D":
            intervals.append((o, c))
        else:
            h = (o // HOUR_NS) * HOUR_NS
            while h < c:
                intervals.append((max(h, o), min(h + HOUR_NS, c)))
                h += HOUR_NS
    intervals = [(a, b) for a, b in intervals if start_ns <= b <= end_ns and a >= market.first_ns]
    hours = next(iter(market.universe.fx.values())).hours
    out = []
    for a, b in intervals:
        step = FX_SAMPLE_NS if frequency == "H" else HOUR_NS
        t = np.unique(np.concatenate([np.arange(a, b, step, dtype=np.int64), [b]]))
        rates = fx_round(market.fx_rate(listing.base, listing.quote, t), listing.quote)
        date = _bar_date(b, a, frequency, format_date, hours.tz, tws_zone)
        out.append(
            WireBar(
                date,
                float(rates[0]),
                float(rates.max()),
                float(rates.min()),
                float(rates[-1]),
                -1.0,
                -1.0,
                -1,
            )
        )
    return out


def window_text(ts: pd.Timestamp, tws_zone: str) -> str:
    """Start/end strings of the historicalData header (``YYYYMMDD HH:MM:SS <zone>``)."""
    return ts.tz_convert(tws_zone).strftime("%Y%m%d %H:%M:%S ") + tws_zone
