"""Forecast scaling/capping, fixed-weight smoothing and forecast combination (2-D arrays)."""
from __future__ import annotations

import numpy as np

from systems.calendar import ffill_2d
from systems.ewma import ewma_mean


def scale_and_cap(raw: np.ndarray, scalar: float, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled forecast = raw x scalar; capped = scaled clipped to [-cap, +cap] (NaN kept)."""
    scaled = raw * scalar
    return scaled, np.clip(scaled, -cap, cap)


def fitted_smoothed_weights(
    raw_weights: np.ndarray, values: np.ndarray, active: np.ndarray, span: int,
    already_filled: bool = False,
) -> np.ndarray:
    """pysystemtrade's treatment of fixed weights for forecasts or subsystem positions.

    raw_weights: [groups x members] fixed weights (zero for members a group does not use).
    values: [T x groups x members] forecasts or positions (NaN where absent).
    active: [T x groups] rows that belong to each group's own index.

    A member's weight is zero on rows where its value (forward-filled) is still NaN, unless all
    members of the group are NaN on that row (then all raw weights apply). Weights are smoothed
    by an EWMA (``span``, adjust=True) starting at each group's first active row, then
    renormalised to sum to one (a zero sum divides by 0.0001). Returns [T x groups x members],
    NaN outside active rows. ``already_filled`` says ``values`` are forward-filled already.
    """
    n_rows, n_groups, n_members = values.shape
    # forward-filled values are NaN only before each member's first value: availability is
    # "a value seen so far" (no forward-filled copy needed)
    available = ~np.isnan(values)
    if not already_filled:
        np.logical_or.accumulate(available, axis=0, out=available)
    none_yet = ~available.any(axis=2)
    available[none_yet] = True
    weights = np.where(available, raw_weights[None, :, :], 0.0)
    weights[~active] = np.nan
    smoothed = ewma_mean(weights.reshape(n_rows, n_groups * n_members), span=span)
    del weights
    normalised = smoothed.reshape(values.shape)  # normalised in place below
    total = normalised.sum(axis=2)
    total[total == 0.0] = 0.0001
    normalised /= total[:, :, None]
    normalised[np.isnan(normalised)] = 0.0
    normalised[~active] = np.nan
    return normalised


def combine_forecasts(
    capped: np.ndarray, weights: np.ndarray, fdm: np.ndarray, cap: float, active: np.ndarray,
    already_filled: bool = False,
) -> np.ndarray:
    """Combined forecast = clip(FDM x sum_r weight_r x capped_r, -cap, cap).

    capped, weights: [T x instruments x rules]. Forecasts are forward-filled first (a rule
    whose data ends early keeps its last forecast); NaN forecasts are then skipped (a row with
    none gives 0). fdm: [instruments]. NaN outside ``active`` [T x instruments]."""
    n_rows, n_inst, n_rules = capped.shape
    if already_filled:
        filled = capped
    else:
        filled = ffill_2d(capped.reshape(n_rows, n_inst * n_rules)).reshape(capped.shape)
    weighted = np.nansum(weights * filled, axis=2)
    combined = np.clip(weighted * fdm[None, :], -cap, cap)
    combined[~active] = np.nan
    return combined
