"""Portfolio stage: instrument weights, notional positions, buffers, buffered positions."""
from __future__ import annotations

import numpy as np

from systems.calendar import range_mask
from systems.forecasting import fitted_smoothed_weights


def instrument_weights(
    raw_weights: np.ndarray, subsystem_positions: np.ndarray, span: int
) -> np.ndarray:
    """Time-varying instrument weights [T x instruments].

    Fixed weights are zeroed on days an instrument has no subsystem position yet (positions
    forward-filled; before any instrument has one, all raw weights apply), smoothed by an EWMA
    of ``span`` business days and renormalised to sum to one each day."""
    n_rows = subsystem_positions.shape[0]
    active = np.ones((n_rows, 1), dtype=bool)
    weights = fitted_smoothed_weights(
        raw_weights[None, :], subsystem_positions[:, None, :], active, span
    )
    return weights[:, 0, :]


_SCALAR_LOOP_MAX_COLUMNS = 24  # below this a plain loop per column beats a loop over rows


def _apply_buffer_by_column(notional, top, bottom, start, end, trade_to_edge) -> np.ndarray:
    n_rows, n_cols = notional.shape
    out = np.full((n_rows, n_cols), np.nan)
    for col in range(n_cols):
        s, e = int(start[col]), int(end[col])
        if not (0 <= s <= e < n_rows):
            continue
        o_list = notional[s : e + 1, col].tolist()
        t_list = top[s : e + 1, col].tolist()
        b_list = bottom[s : e + 1, col].tolist()
        current = o_list[0]
        if current != current:  # NaN
            current = 0.0
        result = [current]
        for o, t, b in zip(o_list[1:], t_list[1:], b_list[1:], strict=True):
            if o == o and t == t and b == b:
                if current > t:
                    current = t if trade_to_edge else o
                elif current < b:
                    current = b if trade_to_edge else o
            result.append(current)
        out[s : e + 1, col] = result
    return out


def apply_buffer(
    notional: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    trade_to_edge: bool = True,
    round_positions: bool = True,
) -> np.ndarray:
    """Buffered position, looping over time for all instruments at once.

    With rounding, notional, top and bottom are rounded half-to-even. The first row of each
    instrument's range starts at the (rounded) notional, or 0 if NaN. Then: above top -> top
    (or the notional when ``trade_to_edge`` is false), below bottom -> bottom (or notional),
    otherwise unchanged; a NaN in any input keeps the position. NaN outside [start, end]."""
    if round_positions:
        notional, top, bottom = np.round(notional), np.round(top), np.round(bottom)
    n_rows, n_cols = notional.shape
    if n_cols <= _SCALAR_LOOP_MAX_COLUMNS:
        return _apply_buffer_by_column(notional, top, bottom, start, end, trade_to_edge)
    rows = np.arange(n_rows)[:, None]
    in_range = range_mask(n_rows, start, end)
    valid = (rows > start[None, :]) & in_range & ~(np.isnan(top) | np.isnan(bottom) | np.isnan(notional))
    starts_at: dict[int, np.ndarray] = {}
    for col in range(n_cols):
        if 0 <= start[col] < n_rows and start[col] <= end[col]:
            starts_at.setdefault(int(start[col]), []).append(col)
    out = np.empty((n_rows, n_cols))
    current = np.full(n_cols, np.nan)
    with np.errstate(invalid="ignore"):
        for i in range(n_rows):
            cols = starts_at.get(i)
            if cols is not None:
                first = notional[i, cols]
                current[cols] = np.where(np.isnan(first), 0.0, first)
            t, b = top[i], bottom[i]
            if trade_to_edge:
                new = np.where(current > t, t, np.where(current < b, b, current))
            else:
                new = np.where((current > t) | (current < b), notional[i], current)
            current = np.where(valid[i], new, current)
            out[i] = current
    out[~in_range] = np.nan
    return out
