"""The simulator trades any configured instrument: one imported from pysystemtrade (not one of
the universe's 30) continues from its stored history through the daily processes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysbrokers.errors import UnknownContract
from sysbrokers.factory import broker_from_blob
from sysbrokers.sim.configured import (
    ANCHOR_COLLECTION,
    anchor_document,
    fx_anchor_document,
    tick_from_prices,
)
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysobjects.spike_check import SpikeCheckSettings, check_for_spikes
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_sampled_contracts import update_sampled_contracts
from tests.blob_helpers import FixedClock, make_blob

CODE = "EDOLLAR"  # in pysystemtrade's reference data, not in the simulator's universe


def small_layout(reference, target):
    """A pysystemtrade-layout folder holding EDOLLAR only."""
    config = target / "csvconfig"
    config.mkdir(parents=True)
    for name in ("instrumentconfig.csv", "rollconfig.csv"):
        lines = (reference / "csvconfig" / name).read_text().splitlines()
        (config / name).write_text("\n".join([lines[0]] + [ln for ln in lines[1:]
                                                            if ln.startswith(f"{CODE},")]) + "\n")
    for folder in ("multiple_prices_csv", "adjusted_prices_csv"):
        (target / folder).mkdir()
        (target / folder / f"{CODE}.csv").write_text(
            (reference / folder / f"{CODE}.csv").read_text())
    return target


@pytest.fixture
def imported(tmp_path, pysystemtrade_reference):
    clock = FixedClock("2021-12-01 06:00")  # the history ends 2021-11-30 19:00
    data = make_blob(tmp_path / "home", clock=clock)  # the broker from config: the simulator
    report = import_pysystemtrade_csv(str(small_layout(pysystemtrade_reference,
                                                       tmp_path / "src")), data=data)
    assert not report.rejected, report.render()
    yield data, clock
    data.close()


def test_imported_instrument_continues_from_its_stored_history(imported):
    data, clock = imported
    stored = data.multiple_prices.read(CODE)
    last_time, last = stored.index[-1], stored.iloc[-1]
    contract = last["PRICE_CONTRACT"][:6]
    assert contract == "202406"

    details = data.broker.get_contract_details(CODE, contract)
    assert details.multiplier == 2500 and details.currency == "USD"
    with pytest.raises(UnknownContract):  # the roll cycle is the configured one (HMUZ)
        data.broker.get_contract_details(CODE, "202402")

    assert update_sampled_contracts(CODE, data=data).ok
    sampled = [c.contract_date for c in data.contracts.for_instrument(CODE, sampling_only=True)]
    assert contract in sampled
    clock.current = pd.Timestamp("2021-12-10 23:00", tz="UTC")
    report = update_historical_prices(CODE, data=data)
    assert report.ok, report.failures
    bars = data.contract_prices.read(CODE, contract, "H")
    after = bars[bars.index > last_time]
    assert len(after) > 20
    # the first bars continue near the last stored price (a day's move at most)
    daily_move = stored["PRICE"].resample("1D").last().dropna().diff().abs().iloc[-250:].mean()
    assert abs(after["FINAL"].iloc[0] - last["PRICE"]) < 3 * daily_move
    # and the join passes the spike check: stored history, then the simulated bars
    history = stored["PRICE"].dropna().iloc[-500:]
    join = check_for_spikes(history, after["FINAL"], SpikeCheckSettings(8.0))
    assert not join.has_spikes, list(join.spikes)
    assert not [a for a in data.alerts.all() if "pike" in a["subject"]]
    # prices on the stored history's decimals (0.001, inferred: no tick_size configured)
    np.testing.assert_allclose(after["FINAL"] * 1000, np.round(after["FINAL"] * 1000),
                               atol=1e-6)


def test_anchor_is_kept_so_the_market_stays_deterministic(imported):
    data, clock = imported
    clock.current = pd.Timestamp("2021-12-03 23:00", tz="UTC")
    start, end = pd.Timestamp("2021-11-29", tz="UTC"), pd.Timestamp("2021-12-03", tz="UTC")
    first = data.broker.get_historical_bars(CODE, "202406", "H", start, end)
    assert len(first) > 10
    anchor = data.state.get(ANCHOR_COLLECTION, CODE)
    assert anchor["contract_date"] == "202406" and anchor["price"] == 98.37
    # the stored history grows (here: a made-up later price); the anchor, hence the bars, stay
    extra = data.multiple_prices.read(CODE).iloc[-1:].copy()
    extra.index = extra.index + pd.Timedelta(days=1)
    extra["PRICE"] = 90.0
    data.multiple_prices.write(CODE, pd.concat([data.multiple_prices.read(CODE), extra]))
    again = broker_from_blob(data).get_historical_bars(CODE, "202406", "H", start, end)
    pd.testing.assert_frame_equal(first, again)
    assert data.state.get(ANCHOR_COLLECTION, CODE) == anchor


def test_anchor_document_and_tick_inference():
    index = pd.date_range("2021-01-01", periods=300, freq="D", tz="UTC")
    price = pd.Series(100.0 + np.cumsum(np.full(300, 0.25)), index=index)
    multiple = pd.DataFrame({"PRICE": price, "PRICE_CONTRACT": "20220300",
                             "FORWARD": price * 1.01, "FORWARD_CONTRACT": "20220600",
                             "CARRY": np.nan, "CARRY_CONTRACT": "20211200"}, index=index)
    anchor = anchor_document(multiple, price)
    assert anchor["price"] == price.iloc[-1] and anchor["contract_date"] == "202203"
    assert anchor["annual_vol"] == pytest.approx(0.0 + 0.01)  # flat changes: the 1% floor
    assert anchor["carry"] == pytest.approx(np.log(1.01) / 0.25)
    assert anchor["tick_size"] == 0.01
    assert tick_from_prices([99.125, 99.13]) == 0.001 and tick_from_prices([3, 4]) == 1.0


def _stored_fx(reference, code):
    frame = pd.read_csv(reference / "fx_prices_csv" / f"{code}.csv", index_col=0,
                        parse_dates=True)
    return frame.iloc[:, 0].tz_localize("UTC")


def test_imported_fx_pair_continues_from_its_stored_history(tmp_path, pysystemtrade_reference):
    """pysystemtrade's EURUSD ends at 1.125 (2021-11-30); the model alone is at 0.77 then:
    the first update must continue from 1.125, not be held back as a spike."""
    from sysbrokers.sim.configured import FX_ANCHOR_COLLECTION
    from sysdata.broker_config import FxPairConfig
    from sysproduction.update_fx_prices import update_fx_pair

    clock = FixedClock("2021-12-20 23:30")
    data = make_blob(tmp_path / "home", clock=clock)
    try:
        stored = _stored_fx(pysystemtrade_reference, "EURUSD")
        data.fx_prices.write("EURUSD", stored)
        # a pair the shipped universe does not quote, stored the other way round
        usdcad = pd.Series(1.25 * np.exp(np.cumsum(np.full(300, 1e-4))),
                           index=pd.date_range("2021-02-01 22:00", periods=300, freq="D",
                                               tz="UTC"))
        data.fx_prices.write("USDCAD", usdcad)

        update = update_fx_pair(data, FxPairConfig("EURUSD", "EUR", "USD", False))
        assert update.spike_at is None and update.written > 5, update
        assert not [a for a in data.alerts.all() if "pike" in a["subject"]]
        after = data.fx_prices.read_series("EURUSD")
        new = after[after.index > stored.index[-1]]
        daily_move = stored.diff().abs().iloc[-250:].mean()
        assert abs(new.iloc[0] - stored.iloc[-1]) < 4 * daily_move, (new.iloc[0], stored.iloc[-1])
        anchor = data.state.get(FX_ANCHOR_COLLECTION, "EURUSD")
        assert anchor["price"] == stored.iloc[-1]

        cad = data.broker.get_fx_prices("CAD", "USD", usdcad.index[-1], clock.now())
        assert len(cad) > 5
        assert abs(cad.iloc[0] * usdcad.iloc[-1] - 1.0) < 0.03  # CADUSD = 1 / USDCAD
        # FX futures of the universe move with their anchored pair
        market = data.broker.market
        t = np.array([clock.now().value])
        assert market.fx_rate("EUR", "USD", t)[0] == pytest.approx(
            np.exp(market._fx_path("EURUSD").log_price(t)[0]))
    finally:
        data.close()


def test_fx_anchor_document():
    index = pd.date_range("2021-01-01", periods=300, freq="D", tz="UTC")
    prices = pd.Series(np.exp(np.cumsum(np.tile([0.01, -0.01], 150))), index=index)
    anchor = fx_anchor_document(prices)
    assert anchor["price"] == prices.iloc[-1]
    assert pd.Timestamp(anchor["time"]) == index[-1]
    assert anchor["annual_vol"] == pytest.approx(0.01 * 16, rel=0.01)
    assert fx_anchor_document(prices.iloc[:5])["annual_vol"] == 0.10  # too short: the default
    with pytest.raises(ValueError):
        fx_anchor_document(pd.Series([0.0, np.nan], index=index[:2]))


def test_ib_mapping_of_a_configured_instrument_is_the_homes_ib_config():
    """The fake TWS lists an imported instrument as the home's IB futures config says, so an IB
    broker on that home finds it; without one, under its code on exchange SIM."""
    from types import SimpleNamespace

    from sysbrokers.sim.configured import ib_mapping_for
    from sysdata.broker_config import IBFuturesConfig

    config = SimpleNamespace(instrument_code="EDOLLAR", currency="USD", pointsize=2500)
    ib = ib_mapping_for(config, IBFuturesConfig("EDOLLAR", "GE", "GLOBEX"))
    assert (ib.symbol, ib.exchange, ib.currency, ib.multiplier, ib.price_magnifier) == \
        ("GE", "GLOBEX", "USD", 2500.0, 1)
    corn = ib_mapping_for(SimpleNamespace(instrument_code="CORN", currency="USD", pointsize=50),
                          IBFuturesConfig("CORN", "ZC", "ECBOT", None, None, 100.0))
    assert (corn.multiplier, corn.price_magnifier) == (5000.0, 100)
    bare = ib_mapping_for(config, None)
    assert (bare.symbol, bare.exchange, bare.multiplier) == ("EDOLLAR", "SIM", 2500.0)


def test_imported_shipped_instrument_continues_from_its_imported_history(
        tmp_path, pysystemtrade_reference):
    """OAT is one of the universe's own instruments: the import anchors it on the imported
    history (the universe's model alone is far from it) and the home's IB mapping lists it;
    a home without an import keeps the universe's OAT unanchored."""
    from sysbrokers.factory import sim_market_from_blob
    from sysbrokers.sim.configured import ANCHOR_COLLECTION, anchored_shipped_specs
    from sysbrokers.sim.market import default_market

    code = "OAT"
    src = tmp_path / "src"
    (src / "csvconfig").mkdir(parents=True)
    for name in ("instrumentconfig.csv", "rollconfig.csv"):
        lines = (pysystemtrade_reference / "csvconfig" / name).read_text().splitlines()
        (src / "csvconfig" / name).write_text("\n".join(
            [lines[0]] + [ln for ln in lines[1:] if ln.startswith(f"{code},")]) + "\n")
    (src / "sysbrokers_IB").mkdir()
    lines = (pysystemtrade_reference / "sysbrokers_IB" / "ib_config_futures.csv").read_text() \
        .splitlines()
    (src / "sysbrokers_IB" / "ib_config_futures.csv").write_text("\n".join(
        [lines[0]] + [ln for ln in lines[1:] if ln.startswith(f"{code},")]) + "\n")
    for folder in ("multiple_prices_csv", "adjusted_prices_csv"):
        (src / folder).mkdir()
        (src / folder / f"{code}.csv").write_text(
            (pysystemtrade_reference / folder / f"{code}.csv").read_text())

    plain = make_blob(tmp_path / "plain")
    try:
        assert anchored_shipped_specs(plain, default_market().universe) == {}
    finally:
        plain.close()

    clock = FixedClock("2021-12-01 06:00")
    data = make_blob(tmp_path / "home", clock=clock)
    try:
        report = import_pysystemtrade_csv(str(src), data=data)
        assert not report.rejected, report.render()
        stored = data.multiple_prices.read(code)
        last = stored.iloc[-1]
        anchor = data.state.get(ANCHOR_COLLECTION, code)
        assert anchor["price"] == last["PRICE"]
        market = sim_market_from_blob(data)
        assert (market.spec(code).ib.symbol, market.spec(code).ib.exchange) == ("OAT", "DTB")
        contract = str(last["PRICE_CONTRACT"])[:6]
        clock.current = pd.Timestamp("2021-12-03 23:00", tz="UTC")
        bars = data.broker.get_historical_bars(code, contract, "H", stored.index[-1],
                                               pd.Timestamp("2021-12-03 23:00", tz="UTC"))
        assert len(bars) > 10
        daily_move = stored["PRICE"].resample("1D").last().dropna().diff().abs().iloc[-250:].mean()
        assert abs(bars["FINAL"].iloc[0] - last["PRICE"]) < 3 * daily_move
        # the universe's model alone: a jump the spike check would hold back
        unanchored = default_market().bars(code, contract, "H", stored.index[-1],
                                           pd.Timestamp("2021-12-03 23:00", tz="UTC"))
        assert abs(unanchored["FINAL"].iloc[0] - last["PRICE"]) > 8 * daily_move
    finally:
        data.close()
