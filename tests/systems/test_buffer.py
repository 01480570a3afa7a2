"""Buffered positions: the vectorised recursion against a plain scalar implementation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from systems.portfolio import apply_buffer


def _scalar_buffer(notional, top, bottom, trade_to_edge):
    notional, top, bottom = (np.round(a) for a in (notional, top, bottom))
    current = 0.0 if math.isnan(notional[0]) else notional[0]
    out = [current]
    for o, t, b in zip(notional[1:], top[1:], bottom[1:], strict=True):
        if not (math.isnan(o) or math.isnan(t) or math.isnan(b)):
            if current > t:
                current = t if trade_to_edge else o
            elif current < b:
                current = b if trade_to_edge else o
        out.append(current)
    return np.array(out)


# (name, notional, buffer width)
TABLE = [
    ("inside buffer holds", [0.2, 0.4, 0.6, 0.4], 1.0),
    ("breaks top", [0.0, 3.2, 3.4, 3.3], 0.6),
    ("breaks bottom", [5.0, 5.0, 1.0, -2.6], 0.7),
    ("nan keeps position", [1.0, np.nan, 4.0, np.nan, -3.0], 0.4),
    ("nan start is zero", [np.nan, np.nan, 2.2, 2.6], 0.3),
    ("half to even rounding", [0.5, 1.5, 2.5, -0.5, -1.5], 0.0),
]


@pytest.mark.parametrize("trade_to_edge", [True, False])
@pytest.mark.parametrize("name,notional,width", TABLE, ids=[t[0] for t in TABLE])
def test_table(name, notional, width, trade_to_edge):
    notional = np.array(notional, dtype=float)
    top, bottom = notional + width, notional - width
    ours = apply_buffer(notional[:, None], top[:, None], bottom[:, None], np.array([0]), np.array([len(notional) - 1]), trade_to_edge)
    np.testing.assert_array_equal(ours[:, 0], _scalar_buffer(notional, top, bottom, trade_to_edge))


def test_many_instruments_with_own_ranges_match_scalar_loop():
    rng = np.random.default_rng(11)
    n_rows, n_cols = 500, 7
    notional = rng.normal(size=(n_rows, n_cols)).cumsum(axis=0)
    width = np.abs(rng.normal(size=(n_rows, n_cols))) + 0.2
    start = rng.integers(0, 200, n_cols)
    end = rng.integers(300, n_rows, n_cols)
    ours = apply_buffer(notional, notional + width, notional - width, start, end)
    for j in range(n_cols):
        s, e = start[j], end[j]
        expected = _scalar_buffer(notional[s : e + 1, j], (notional + width)[s : e + 1, j], (notional - width)[s : e + 1, j], True)
        np.testing.assert_array_equal(ours[s : e + 1, j], expected)
        assert np.isnan(ours[:s, j]).all() and np.isnan(ours[e + 1 :, j]).all()
