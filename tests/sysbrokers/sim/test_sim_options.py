"""Option chains on the simulated futures."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sysbrokers.sim.market import default_market
from sysbrokers.sim.options import OptionCalendar, SimOptionChains
from sysobjects.black76 import OptionRight

WHEN = pd.Timestamp("2024-03-01 20:00", tz="UTC")


@pytest.fixture(scope="module")
def chains():
    return SimOptionChains(default_market(), {"GOLD": OptionCalendar(serial_months=2,
                                                                     expiry_offset_days=5)})


def front(chains, product="GOLD"):
    return chains.market.active_contracts(product, WHEN)[0]


def test_listings_quarterly_and_serial(chains):
    future = front(chains)
    listings = chains.listings("GOLD", future)
    codes = [listing.option_code for listing in listings]
    assert codes == ["S", "S", ""]
    expiry = pd.Timestamp(chains.market.expiry_ns("GOLD", future)).date()
    assert listings[-1].expiry == expiry - dt.timedelta(days=5)
    assert listings[0].expiry < listings[1].expiry < listings[2].expiry


def test_quotes_are_consistent(chains):
    future = front(chains)
    listing = chains.listings("GOLD", future)[-1]
    forward = chains.forward("GOLD", future, WHEN)
    strikes = chains.quoted_strikes("GOLD", listing, WHEN)
    assert len(strikes) >= 10 and min(strikes) < forward < max(strikes)
    tick = chains.market.spec("GOLD").tick_size
    for strike in strikes[::5]:
        call = chains.quote("GOLD", listing, strike, OptionRight.CALL, WHEN)
        put = chains.quote("GOLD", listing, strike, OptionRight.PUT, WHEN)
        assert call.bid <= call.mid <= call.ask and put.bid <= put.mid <= put.ask
        assert call.ask - call.bid >= tick - 1e-9
        assert abs(round(call.ask / tick) * tick - call.ask) < 1e-6  # on the tick
        assert call.mid - put.mid == pytest.approx(forward - strike, abs=1e-6 * forward)
        assert 0 < call.delta < 1 and -1 < put.delta < 0


def test_smile_has_negative_skew(chains):
    future = front(chains)
    listing = chains.listings("GOLD", future)[-1]
    forward = chains.forward("GOLD", future, WHEN)
    low = chains.vol("GOLD", future, forward * 0.9, listing.expiry, WHEN)
    at = chains.vol("GOLD", future, forward, listing.expiry, WHEN)
    high = chains.vol("GOLD", future, forward * 1.1, listing.expiry, WHEN)
    assert low > at > high  # negative skew: OTM puts dearer than OTM calls


def test_deterministic(chains):
    other = SimOptionChains(default_market(), chains.calendars)
    future = front(chains)
    listing = chains.listings("GOLD", future)[-1]
    strike = chains.quoted_strikes("GOLD", listing, WHEN)[3]
    assert chains.quote("GOLD", listing, strike, OptionRight.PUT, WHEN) == other.quote(
        "GOLD", listing, strike, OptionRight.PUT, WHEN)


def test_quotes_over_many_times_equal_the_quote_at_each(chains):
    """The vectorised path (a resting limit order's opportunities) gives the same figures as
    one quote at a time, in any chunking."""
    import numpy as np

    future = front(chains)
    listing = chains.listings("GOLD", future)[-1]
    strike = chains.quoted_strikes("GOLD", listing, WHEN)[12]
    times = np.array([(WHEN + pd.Timedelta(minutes=7 * i)).value for i in range(300)])
    many = chains.quotes("GOLD", listing, strike, OptionRight.PUT, times)
    fresh = SimOptionChains(chains.market, chains.calendars)  # no cache shared with `many`
    one_by_one = [fresh.quote("GOLD", listing, strike, OptionRight.PUT,
                              pd.Timestamp(int(t), tz="UTC")) for t in times]
    assert many == one_by_one
    split = (chains.quotes("GOLD", listing, strike, OptionRight.PUT, times[:113])
             + chains.quotes("GOLD", listing, strike, OptionRight.PUT, times[113:]))
    assert split == many and len({q.mid for q in many}) > 100  # the price moves
