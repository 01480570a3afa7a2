"""Business-day calendar and alignment helpers.

All timestamps are naive UTC. A business day is labelled by its date at midnight. An intraday
timestamp belongs to the business day of its date; Saturday and Sunday timestamps belong to the
preceding Friday (pandas ``resample("1B")`` binning, which pysystemtrade uses).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _label_days(index: pd.DatetimeIndex) -> np.ndarray:
    """Business-day bin of each timestamp as int64 days since 1970-01-01."""
    days = pd.DatetimeIndex(index).values.astype("datetime64[D]").astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return days - np.maximum(weekday - 4, 0)  # Saturday -> Friday (-1), Sunday -> Friday (-2)


def _business_day_number(days: np.ndarray) -> np.ndarray:
    """A number that grows by one from each business day to the next (days: weekdays, as
    int64 days since 1970-01-01)."""
    shifted = days + 3  # Monday-based weeks
    return 5 * (shifted // 7) + shifted % 7


def _business_day_ints(first: int, last: int) -> np.ndarray:
    days = np.arange(first, last + 1)
    return days[((days + 3) % 7) < 5]


def business_day_labels(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Business-day bin label (midnight) of each timestamp; weekends roll back to Friday."""
    return pd.DatetimeIndex(_label_days(index).astype("datetime64[D]").astype("datetime64[ns]"))


def business_days(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Every business day (Mon-Fri) from ``start`` to ``end`` inclusive, at midnight."""
    first = np.datetime64(pd.Timestamp(start).normalize().date(), "D").astype(np.int64)
    last = np.datetime64(pd.Timestamp(end).normalize().date(), "D").astype(np.int64)
    return pd.DatetimeIndex(_business_day_ints(int(first), int(last)).astype("datetime64[D]").astype("datetime64[ns]"))


def _bins(index: pd.DatetimeIndex) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """(row of each timestamp's business day, the contiguous business days from the first
    to the last bin)."""
    labels = _label_days(index)
    first, last = int(labels.min()), int(labels.max())
    calendar = pd.DatetimeIndex(_business_day_ints(first, last).astype("datetime64[D]").astype("datetime64[ns]"))
    rows = _business_day_number(labels) - _business_day_number(np.array([first]))[0]
    return rows, calendar


def _reduce(rows: np.ndarray, n: int, values: np.ndarray, how: str) -> np.ndarray:
    out = np.full(n, np.nan)
    valid = ~np.isnan(values)
    if how == "last":
        # sorted timestamps: the last valid value of each bin wins
        r, v = rows[valid], values[valid]
        if r.size:
            last_of_run = np.append(r[1:] != r[:-1], True)
            out[r[last_of_run]] = v[last_of_run]
    else:
        sums = np.bincount(rows[valid], weights=values[valid], minlength=n)
        counts = np.bincount(rows[valid], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out


def _binned(series: pd.Series, how: str) -> pd.Series:
    if series.empty:
        return pd.Series(dtype=float)
    rows, calendar = _bins(series.index)
    return pd.Series(_reduce(rows, len(calendar), series.to_numpy(dtype=np.float64), how), index=calendar)


def daily_last_and_mean(last_of: pd.Series, mean_of: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(daily_last(last_of), daily_mean(mean_of))`` of two series on one index, binned once."""
    if not last_of.index.equals(mean_of.index):
        raise ValueError("daily_last_and_mean needs two series on the same index")
    if last_of.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    rows, calendar = _bins(last_of.index)
    n = len(calendar)
    return (pd.Series(_reduce(rows, n, last_of.to_numpy(dtype=np.float64), "last"), index=calendar),
            pd.Series(_reduce(rows, n, mean_of.to_numpy(dtype=np.float64), "mean"), index=calendar))


def daily_last(series: pd.Series) -> pd.Series:
    """Last non-NaN value in each business-day bin (``resample("1B").last()``), on the
    contiguous business-day index from the first to the last bin of the raw index (days
    without data are NaN). The series index must be sorted."""
    return _binned(series, "last")


def daily_mean(series: pd.Series) -> pd.Series:
    """Mean of the non-NaN values in each business-day bin (``resample("1B").mean()``; an
    infinite value propagates), on the contiguous business-day index of the raw index."""
    return _binned(series, "mean")


def asof_values(series: pd.Series, dates: pd.DatetimeIndex) -> np.ndarray:
    """Value of ``series`` at the last timestamp <= each date (``reindex(method="ffill")``);
    NaN before the first timestamp. ``series`` must have a sorted unique index."""
    if series.empty:
        return np.full(len(dates), np.nan)
    idx = series.index.values
    pos = np.searchsorted(idx, pd.DatetimeIndex(dates).values, side="right") - 1
    vals = series.to_numpy(dtype=np.float64)
    out = np.where(pos >= 0, vals[np.clip(pos, 0, None)], np.nan)
    return out


def range_mask(n_rows: int, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Boolean [rows x columns] mask, True where start[col] <= row <= end[col]."""
    rows = np.arange(n_rows)[:, None]
    return (rows >= np.asarray(start)[None, :]) & (rows <= np.asarray(end)[None, :])


def ffill_2d(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs down each column of a 2-D array (rows before a column's first valid
    value, every row of an all-NaN column, stay NaN)."""
    arr = np.asarray(values, dtype=np.float64)
    n_rows, n_cols = arr.shape
    # row 0 of ``padded`` is NaN: the source of every row before a column's first value
    padded = np.empty((n_rows + 1, n_cols))
    padded[0] = np.nan
    padded[1:] = arr
    index_type = np.int32 if padded.size < 2**31 else np.int64
    source = np.where(np.isnan(arr), index_type(0), np.arange(1, n_rows + 1, dtype=index_type)[:, None])
    np.maximum.accumulate(source, axis=0, out=source)
    source *= index_type(n_cols)
    source += np.arange(n_cols, dtype=index_type)[None, :]  # flat positions in ``padded``
    return np.take(padded.ravel(), source)


def extend_last(values: np.ndarray, end: np.ndarray, new_end: np.ndarray) -> np.ndarray:
    """Reindex-with-ffill onto a longer range: rows end[col] < row <= new_end[col] take the
    value at row end[col] (``Series.reindex(longer_index, method="ffill")``)."""
    out = np.array(values, dtype=np.float64, copy=True)
    n_rows = out.shape[0]
    for col in range(out.shape[1]):
        e, ne = int(end[col]), int(new_end[col])
        if 0 <= e < ne:
            out[e + 1 : min(ne, n_rows - 1) + 1, col] = out[e, col]
    return out


def shift_down(values: np.ndarray, periods: int = 1) -> np.ndarray:
    """``DataFrame.shift(periods)`` for a 2-D array (NaN fill)."""
    out = np.full_like(values, np.nan, dtype=np.float64)
    if periods < values.shape[0]:
        out[periods:] = values[: values.shape[0] - periods]
    return out


def diff_rows(values: np.ndarray) -> np.ndarray:
    """``DataFrame.diff()`` for a 2-D array."""
    out = np.full_like(values, np.nan, dtype=np.float64)
    out[1:] = values[1:] - values[:-1]
    return out
