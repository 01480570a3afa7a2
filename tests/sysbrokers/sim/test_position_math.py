"""The simulated broker's position arithmetic, worked by hand."""
from __future__ import annotations

import pytest

from sysbrokers.sim.position_math import apply_fill


@pytest.mark.parametrize(("position", "average", "qty", "price", "expected"), [
    (0, 0.0, 2, 100.0, (2, 100.0, 0.0)),            # open
    (2, 100.0, 2, 110.0, (4, 105.0, 0.0)),          # add: averaged
    (4, 105.0, -1, 115.0, (3, 105.0, 500.0)),       # reduce: 1 x 10 x 50 realised
    (3, 105.0, -3, 95.0, (0, 105.0, -1500.0)),      # close: 3 x -10 x 50
    (2, 100.0, -5, 90.0, (-3, 90.0, -1000.0)),      # cross zero: 2 closed, 3 opened at 90
    (-2, 100.0, 1, 90.0, (-1, 100.0, 500.0)),       # a short bought back cheaper
])
def test_apply_fill(position, average, qty, price, expected):
    assert apply_fill(position, average, qty, price, 50.0) == pytest.approx(expected)
