"""Collect per-contract bars for every sampled contract.

For each sampled contract, hourly (``intraday_frequency``) and daily bars since the last stored
bar of each frequency are fetched from the broker, cleaned (``price_cleaning`` flags), and
spike-checked (FINAL, against that frequency's stored bars, ``max_price_spike``; a contract's
first history, with nothing stored to compare with, is written unchecked). A contract whose
new bars contain a spike in either frequency is not written at all; one CRITICAL alert per
instrument names the contracts and first spikes, and
``interactive_manual_check_historical_prices`` resolves them. Otherwise the new bars are appended
per frequency and the merged series (daily bar wins at the same timestamp) is rewritten.
Running it twice changes nothing the second time. A merged series that does not end where its
contract's stored bars end (an earlier run died, or the disk filled, between storing bars and
merging them) is rewritten from them on every run, new bars or not (WARNING).

Instruments in ``exclude_instrument_lists.ignore_instruments`` are skipped (listed as ignored in
the report, never fetched, never alerted).

``download_by_zone`` maps an instrument region (``InstrumentConfig.region``) to a time of day in
that region (see :func:`zones_due`): only instruments whose region's time has passed are
collected in this call; the report's ``waiting`` lists the others (run it again later, e.g. from
cron at each region's time). Regions not in the mapping are collected at once. With no
``download_by_zone`` every instrument is collected. From the command line:
``--download_by_zone '{"US": "16:30", "EMEA": "17:45"}'`` or ``US=16:30,EMEA=17:45``.

Bars that arrive late (a bar inside the last ``LATE_BAR_WINDOW`` (2 days) of stored history at a
timestamp not stored yet) are spike-checked against the bars before them and inserted, with a
WARNING naming them. The merged series is written first, then the bars' own series: a crash in
between leaves the late bar missing from its series, so the next run fetches and writes it again.

    python run.py sysproduction.update_historical_prices.update_historical_prices
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from syscore.exceptions import InvalidData
from syscore.formatting import format_contract_id, format_timestamp
from sysdata.data_blob import DataBlob
from syslogdiag.alerts import alert
from syslogdiag.context import get_logger
from sysobjects.contract_prices import Frequency, FuturesContractPrices, merge_daily_and_hourly
from sysobjects.price_cleaning import PriceCleaningSettings, clean_contract_prices
from sysobjects.spike_check import SpikeCheckResult, SpikeCheckSettings, check_for_spikes
from sysproduction.process_helpers import Outcome, ProcessReport, blob_for, each_active_item

STORE_FREQUENCY = {Frequency.HOURLY: "H", Frequency.DAILY: "D"}
DEFAULT_LOOKBACK = pd.Timedelta(days=400)
LATE_BAR_WINDOW = pd.Timedelta(days=2)
REGION_TIME_ZONES = {"US": "America/New_York", "EMEA": "Europe/London", "ASIA": "Asia/Tokyo"}


@dataclass
class ContractUpdate:
    contract_date: str
    written: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    spike_at: pd.Timestamp | None = None
    merged_repaired: bool = False


@dataclass
class InstrumentUpdate:
    instrument_code: str
    contracts: list[ContractUpdate] = field(default_factory=list)

    @property
    def spiked(self) -> list[ContractUpdate]:
        return [c for c in self.contracts if c.spike_at is not None]

    @property
    def bars_written(self) -> int:
        return sum(sum(c.written.values()) for c in self.contracts)

    @property
    def outcome(self) -> Outcome:
        """HELD_BACK when a spike stopped any contract's write (the others may be written);
        WRITTEN when bars were stored or a merged series was repaired."""
        if self.spiked:
            return Outcome.HELD_BACK
        repaired = any(c.merged_repaired for c in self.contracts)
        return Outcome.WRITTEN if self.bars_written or repaired else Outcome.UNCHANGED

    def __str__(self) -> str:
        text = f"{len(self.contracts)} contracts, {self.bars_written} bars written"
        repaired = [format_contract_id(c.contract_date) for c in self.contracts
                    if c.merged_repaired]
        if repaired:
            text += f", merged series repaired for {', '.join(repaired)}"
        if self.spiked:
            held = ", ".join(f"{format_contract_id(c.contract_date)} (spike at "
                             f"{format_timestamp(c.spike_at)})" for c in self.spiked)
            text += f"; held back by spikes: {held}"
        return text


def stored_bars(data: DataBlob, code: str, contract_date: str, frequency: Frequency) -> FuturesContractPrices:
    store_freq = STORE_FREQUENCY[frequency]
    if not data.contract_prices.has(code, contract_date, store_freq):
        return FuturesContractPrices.empty(frequency)
    return FuturesContractPrices(data.contract_prices.read(code, contract_date, store_freq), frequency)


def new_clean_bars(data: DataBlob, code: str, contract_date: str, frequency: Frequency,
                   existing: FuturesContractPrices) -> tuple[pd.DataFrame, int]:
    """Cleaned broker bars not yet stored: after the last stored bar, or late bars inside the
    last ``LATE_BAR_WINDOW`` of history at timestamps not stored yet; and how many bars
    cleaning dropped."""
    now = data.now()
    if len(existing):
        start = existing.data.index[-1] - LATE_BAR_WINDOW
    else:
        start = now - DEFAULT_LOOKBACK
    raw = data.broker.get_historical_bars(code, contract_date, STORE_FREQUENCY[frequency], start, now)
    settings = PriceCleaningSettings.from_dict(data.config.price_cleaning.model_dump())
    cleaned = clean_contract_prices(raw, frequency, now, settings)
    bars = cleaned.prices.data
    if len(existing):
        bars = bars[~bars.index.isin(existing.data.index)]
    return bars, cleaned.n_dropped


#: ``resolve(frequency, stored FINALs before the bars, bars) -> bars to write``: settles the
#: spikes found in new bars (the manual check asks the operator); without one, spikes hold the
#: contract back.
Resolver = Callable[[Frequency, pd.Series, pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class _Checked:
    """New bars of one frequency after the spike check: those to write (late bars go inside
    history) and the spike results that hold them back (empty if none or resolved)."""

    late: pd.DataFrame
    fresh: pd.DataFrame
    spikes: tuple[SpikeCheckResult, ...]


def _check_new_bars(existing: FuturesContractPrices, bars: pd.DataFrame,
                    settings: SpikeCheckSettings, frequency: Frequency,
                    resolve: Resolver | None) -> _Checked:
    """Split ``bars`` into late (before the last stored bar) and fresh ones and spike-check
    them: each late bar against the stored bars before it, the fresh ones against all stored
    bars. With ``resolve``, every spiking segment is passed to it and its answer is kept."""
    last = existing.data.index[-1]
    late, fresh = bars[bars.index < last], bars[bars.index > last]
    spikes = []
    kept_late = []
    for stamp in late.index:
        bar = late.loc[[stamp]]
        before = existing.final[existing.final.index < stamp]
        if len(before):
            result = check_for_spikes(before, bar["FINAL"], settings)
            if result.has_spikes:
                if resolve is None:
                    spikes.append(result)
                else:
                    bar = resolve(frequency, before, bar)
        kept_late.append(bar)
    if len(fresh):
        result = check_for_spikes(existing.final, fresh["FINAL"], settings)
        if result.has_spikes:
            if resolve is None:
                spikes.append(result)
            else:
                fresh = resolve(frequency, existing.final, fresh)
    late = pd.concat(kept_late) if kept_late else late
    return _Checked(late, fresh, tuple(spikes))


def update_contract_prices(data: DataBlob, code: str, contract_date: str,
                           frequencies: tuple[Frequency, ...], resolve: Resolver | None = None,
                           ) -> tuple[ContractUpdate, list[tuple[Frequency, SpikeCheckResult]]]:
    """Fetch, clean, spike-check and write one contract: the one path shared by the daily
    process and the manual check (``resolve``, see :data:`Resolver`).

    A contract's first history (nothing stored) is written unchecked. Without ``resolve`` any
    spike, in any frequency, holds back the whole contract (nothing written; the spikes are
    returned). Otherwise late bars are inserted into the stored series, fresh bars appended, and
    the merged series rewritten."""
    settings = SpikeCheckSettings(max_price_spike=data.config.max_price_spike)
    update = ContractUpdate(contract_date)
    spikes: list[tuple[Frequency, SpikeCheckResult]] = []
    to_write: dict[Frequency, _Checked] = {}
    stored: dict[Frequency, FuturesContractPrices] = {}
    for frequency in frequencies:
        existing = stored[frequency] = stored_bars(data, code, contract_date, frequency)
        bars, dropped = new_clean_bars(data, code, contract_date, frequency, existing)
        update.dropped += dropped
        if bars.empty:
            continue
        if len(existing) == 0:  # a contract's first history has nothing to compare with
            to_write[frequency] = _Checked(bars.iloc[:0], bars, ())
            continue
        checked = _check_new_bars(existing, bars, settings, frequency, resolve)
        for result in checked.spikes:
            spikes.append((frequency, result))
            first = result.first_spike
            update.spike_at = first if update.spike_at is None else min(update.spike_at, first)
        to_write[frequency] = checked
    if spikes or not to_write:
        update.merged_repaired = repair_merged(data, code, contract_date)
        return update, spikes
    late_bars = {f: c.late for f, c in to_write.items() if len(c.late)}
    pending = {f: c.fresh for f, c in to_write.items() if len(c.fresh)}
    # the merged series the stored bars will give once the new ones are written: built from
    # the bars read above and the new ones (no second read of the whole series)
    merged = merged_after(data, code, contract_date, stored, late_bars, pending)
    if late_bars:  # merged first: a crash before the series below leaves them to be refetched
        data.contract_prices.write(code, contract_date, merged, "merged")
    for frequency, checked in to_write.items():
        store_frequency = STORE_FREQUENCY[frequency]
        if len(checked.late):  # late bars go inside history: rewrite the series
            combined = pd.concat([stored[frequency].data, checked.late, checked.fresh]).sort_index()
            data.contract_prices.write(code, contract_date, combined, store_frequency)
            get_logger("update_historical_prices", instrument_code=code,
                       contract_date=contract_date).warning(
                "%d late %s bars inserted into stored history: %s", len(checked.late),
                frequency.value, [str(t) for t in checked.late.index])
            update.written[store_frequency] = len(checked.late) + len(checked.fresh)
        elif len(checked.fresh):
            update.written[store_frequency] = data.contract_prices.append(
                code, contract_date, checked.fresh, store_frequency)
    if not late_bars:  # with late bars it was written above, before the bars
        data.contract_prices.write(code, contract_date, merged, "merged")
    return update, spikes


def merged_after(data: DataBlob, code: str, contract_date: str,
                 stored: dict[Frequency, FuturesContractPrices],
                 late_bars: dict[Frequency, pd.DataFrame],
                 pending: dict[Frequency, pd.DataFrame]) -> pd.DataFrame:
    """The merged series the stored bars plus ``late_bars`` and ``pending`` will give."""
    frames = {}
    for frequency in (Frequency.DAILY, Frequency.HOURLY):
        existing = stored[frequency] if frequency in stored else \
            stored_bars(data, code, contract_date, frequency)
        parts = [existing.data] + [new[frequency] for new in (late_bars, pending)
                                   if frequency in new]
        frames[frequency] = FuturesContractPrices(pd.concat(parts).sort_index(), frequency)
    return merge_daily_and_hourly(frames[Frequency.DAILY], frames[Frequency.HOURLY]).data


def write_merged(data: DataBlob, code: str, contract_date: str) -> pd.DataFrame:
    """Rewrite the contract's merged series from its stored daily and hourly bars; returns it."""
    merged = data.contract_prices.merged_from_bars(code, contract_date)
    data.contract_prices.write(code, contract_date, merged, "merged")
    return merged


def repair_merged(data: DataBlob, code: str, contract_date: str) -> bool:
    """Rewrite the merged series if it does not end where the stored bars end (a crash or full
    disk came between storing bars and merging them); True if it was rewritten."""
    if not data.contract_prices.merged_is_behind(code, contract_date):
        return False
    write_merged(data, code, contract_date)
    get_logger("update_historical_prices", instrument_code=code,
               contract_date=contract_date).warning(
        "%s %s: merged series was behind its stored bars (an earlier run was interrupted); "
        "rewritten from them", code, contract_date)
    return True


def update_instrument_prices(data: DataBlob, code: str) -> InstrumentUpdate:
    log = get_logger("update_historical_prices", instrument_code=code)
    frequencies = (Frequency.DAILY,) if data.config.intraday_frequency == "D" else \
        (Frequency.HOURLY, Frequency.DAILY)
    result = InstrumentUpdate(code)
    messages = []
    for contract in data.contracts.for_instrument(code, sampling_only=True):
        update, spikes = update_contract_prices(data, code, contract.contract_date, frequencies)
        result.contracts.append(update)
        for frequency, spike in spikes:
            first = spike.first_spike
            messages.append(f"{format_contract_id(contract.contract_date)} {frequency.value}: "
                            f"first spike at {format_timestamp(first)} "
                            f"(ratio {spike.checked.loc[first, 'ratio']:.1f})")
    if messages:
        alert(data, f"Price spike in {code}",
              f"{code}: contracts with spikes were not written: " + "; ".join(messages)
              + f". Run interactive_manual_check_historical_prices for {code}.", logger=log)
    log.info("%s: %s", code, result)
    return result


def zones_due(download_by_zone: dict[str, str] | None, now: pd.Timestamp) -> set[str] | None:
    """Regions whose time has passed today in the region's own time zone (None: every region).

    Each value is ``HH:MM`` in the region's local time (``US``: New York, ``EMEA``: London,
    ``ASIA``: Tokyo, others UTC) or ``HH:MM <IANA zone>``.
    """
    if not download_by_zone:
        return None
    due = set()
    for zone, value in download_by_zone.items():
        text, _, tz = str(value).strip().partition(" ")
        tz = tz.strip() or REGION_TIME_ZONES.get(zone, "UTC")
        try:
            hours, minutes = (int(p) for p in text.split(":"))
            at = dt.time(hours, minutes)
            local = now.tz_convert(tz)
        except (ValueError, KeyError) as exc:
            raise InvalidData(f"download_by_zone: {zone!r} must be 'HH:MM' or 'HH:MM <time zone>', "
                              f"got {value!r} ({exc})") from None
        if local.time() >= at:
            due.add(zone)
    return due


def update_historical_prices(instrument_code: str = "ALL",
                             download_by_zone: dict[str, str] | None = None,
                             data: DataBlob | None = None) -> ProcessReport:
    """Collect bars for one instrument or ``ALL`` with sampled contracts (see module docstring)."""
    with blob_for(data, "update_historical_prices") as blob:
        codes = blob.contracts.instruments_with_contracts() if instrument_code == "ALL" else \
            [blob.instruments.require(instrument_code)]
        due = zones_due(download_by_zone, blob.now())
        waiting = []
        if due is not None:  # a region without a time is collected at once
            waiting = [c for c in codes if blob.instruments.get(c).region in download_by_zone
                       and blob.instruments.get(c).region not in due]
            codes = [c for c in codes if c not in waiting]
        report = each_active_item(blob, "update_historical_prices", codes,
                                  lambda code: update_instrument_prices(blob, code))
        report.waiting = [c for c in waiting if c not in blob.config.ignored_instruments]
        return report
