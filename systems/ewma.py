"""Exponentially weighted moving statistics over 2-D arrays [dates x columns].

Semantics are those of pandas ``ewm(adjust=True, ignore_na=False)``: the statistic at row t
weights each earlier observation s by (1 - alpha)^(t - s), counting NaN rows in the distance;
NaN inputs carry no weight; leading NaNs are ignored; ``min_periods`` counts non-NaN values.

Implementation: the weighted sums are first-order linear recursions y_t = d y_{t-1} + x_t
(d = 1 - alpha). They are evaluated in chunks of rows with numpy cumulative sums (inside a chunk
y_t = d^t * cumsum(d^-s x_s), with the chunk length chosen so d^-L stays far from overflow),
and chunks are chained with a short loop, all columns at once. Results equal pandas' to
floating-point rounding (see tests), and exactly where pandas is exact: while every
observation so far has the same value (a flat stretch at the start), the mean is that value and
the variance is zero, as pandas' own recursion keeps them.
"""
from __future__ import annotations

import numpy as np

_MAX_CHUNK = 512
_MAX_LOG10_SCALE = 200.0
_COLUMN_BATCH = 16  # columns per pass: bounds temporary memory on wide arrays
_TINY = 1e-100  # below this, decayed weights lose precision: carry the statistic forward


def alpha_from(span: float | None = None, com: float | None = None) -> float:
    """Smoothing factor from exactly one of ``span`` (alpha=2/(span+1)) or ``com`` (1/(1+com))."""
    if (span is None) == (com is None):
        raise ValueError("give exactly one of span or com")
    if span is not None:
        if span < 1:
            raise ValueError(f"span must be >= 1, got {span}")
        return 2.0 / (span + 1.0)
    if com < 0:
        raise ValueError(f"com must be >= 0, got {com}")
    return 1.0 / (1.0 + com)


def _as_2d(values: np.ndarray) -> tuple[np.ndarray, bool]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        return arr[:, None], True
    if arr.ndim != 2:
        raise ValueError("expected a 1-D or 2-D array")
    return arr, False


def decayed_sum(values: np.ndarray, decay: float) -> np.ndarray:
    """y_t = decay * y_{t-1} + x_t down each column (y_{-1} = 0); x must have no NaN."""
    x = np.asarray(values, dtype=np.float64)
    n_rows, n_cols = x.shape
    if n_rows == 0:
        return x.copy()
    if decay == 0.0:
        return x.copy()
    if decay == 1.0:
        return np.cumsum(x, axis=0)
    log10_inv = -np.log10(decay)
    chunk = int(max(1, min(_MAX_CHUNK, _MAX_LOG10_SCALE / log10_inv, n_rows)))
    n_chunks = -(-n_rows // chunk)
    work = np.zeros((n_chunks * chunk, n_cols))
    work[:n_rows] = x
    blocks = work.reshape(n_chunks, chunk, n_cols)
    k = np.arange(chunk, dtype=np.float64)
    # in place: y = d^k * cumsum(d^-k * x) inside each chunk
    np.multiply(blocks, (decay ** (-k))[None, :, None], out=blocks)
    np.cumsum(blocks, axis=1, out=blocks)
    np.multiply(blocks, (decay**k)[None, :, None], out=blocks)
    carry_factor = (decay ** (k + 1.0))[:, None]  # weight of the previous chunk's last value
    for c in range(1, n_chunks):
        blocks[c] += carry_factor * blocks[c - 1, -1][None, :]
    return work[:n_rows]


def _leading_flat_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask, first value): rows from each column's first observation up to, not including,
    its first observation of a different value (NaN rows inside the stretch included)."""
    obs = ~np.isnan(x)
    any_obs = obs.any(axis=0)
    first_row = np.where(any_obs, obs.argmax(axis=0), x.shape[0])
    first = x[np.minimum(first_row, x.shape[0] - 1), np.arange(x.shape[1])] if x.shape[0] else np.zeros(x.shape[1])
    with np.errstate(invalid="ignore"):
        differs = obs & (x != first[None, :])
    end = np.where(differs.any(axis=0), differs.argmax(axis=0), x.shape[0])
    rows = np.arange(x.shape[0])[:, None]
    mask = (rows >= first_row[None, :]) & (rows < end[None, :])
    return mask, first


def _carry_forward(values: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(values)
    idx = np.where(valid, np.arange(values.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = np.take_along_axis(values, idx, axis=0)
    out[~np.maximum.accumulate(valid, axis=0)] = np.nan
    return out


def _weights(x: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = ~np.isnan(x)
    filled = np.where(obs, x, 0.0)
    den = decayed_sum(obs.astype(np.float64), decay)
    nobs = np.cumsum(obs, axis=0)
    return filled, den, nobs


def ewma_mean(
    values: np.ndarray,
    span: float | None = None,
    com: float | None = None,
    min_periods: int = 0,
) -> np.ndarray:
    """EWMA mean, equal to ``DataFrame.ewm(span|com, min_periods, adjust=True).mean()``."""
    decay = 1.0 - alpha_from(span, com)
    x, squeeze = _as_2d(values)
    if x.shape[1] > _COLUMN_BATCH:
        out = np.empty_like(x)
        for lo in range(0, x.shape[1], _COLUMN_BATCH):
            out[:, lo : lo + _COLUMN_BATCH] = ewma_mean(x[:, lo : lo + _COLUMN_BATCH], span, com, min_periods)
        return out
    filled, den, nobs = _weights(x, decay)
    num = decayed_sum(filled, decay)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = num / den
    # after a long NaN gap the decayed weights can underflow to zero: pandas keeps the last
    # mean, so carry it forward
    lost = (nobs > 0) & ~(den > _TINY)
    if lost.any():
        mean = _carry_forward(np.where(lost, np.nan, mean))
    # pandas keeps the mean exactly equal to the value while every observation so far is
    # the same (a flat stretch at the start); the recursion above may be 1 ulp away
    flat, first = _leading_flat_rows(x)
    mean = np.where(flat, first[None, :], mean)
    minp = max(int(min_periods), 1)
    out = np.where(nobs >= minp, mean, np.nan)
    return out[:, 0] if squeeze else out


def ewma_std(
    values: np.ndarray,
    span: float | None = None,
    com: float | None = None,
    min_periods: int = 0,
    bias: bool = False,
) -> np.ndarray:
    """EWMA standard deviation, equal to pandas ``ewm(..., adjust=True).std(bias=False)``.

    With weights w_s = d^(t-s): var = sum w (x - m)^2 / W1, times W1^2 / (W1^2 - W2) unless
    ``bias`` (W1 = sum w, W2 = sum w^2). Columns are centred on their mean first, so the
    second-moment form keeps full precision for data whose mean is large against its spread.
    """
    decay = 1.0 - alpha_from(span, com)
    x, squeeze = _as_2d(values)
    if x.shape[1] > _COLUMN_BATCH:
        out = np.empty_like(x)
        for lo in range(0, x.shape[1], _COLUMN_BATCH):
            out[:, lo : lo + _COLUMN_BATCH] = ewma_std(x[:, lo : lo + _COLUMN_BATCH], span, com, min_periods, bias)
        return out
    obs = ~np.isnan(x)
    counts = obs.sum(axis=0)
    centre = np.where(obs, x, 0.0).sum(axis=0) / np.maximum(counts, 1)
    centred = x - centre
    filled, w1, nobs = _weights(centred, decay)
    s1 = decayed_sum(filled, decay)
    s2 = decayed_sum(filled * filled, decay)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / w1
        var = s2 / w1 - mean * mean
        var = np.where(var < 0.0, 0.0, var)
        lost = (nobs > 0) & ~(w1 > _TINY)
        if lost.any():
            var = _carry_forward(np.where(lost, np.nan, var))
        if not bias:
            w2 = decayed_sum(obs.astype(np.float64), decay * decay)
            numerator = w1 * w1
            denominator = numerator - w2
            var = np.where(denominator > 0, numerator / denominator * var, np.nan)
    # while every observation so far is the same value, pandas' variance is exactly zero
    flat, _ = _leading_flat_rows(x)
    var = np.where(flat, 0.0, var)
    minp = max(int(min_periods), 1)
    enough = nobs >= (minp if bias else max(minp, 2))
    out = np.where(enough, np.sqrt(var), np.nan)
    return out[:, 0] if squeeze else out
