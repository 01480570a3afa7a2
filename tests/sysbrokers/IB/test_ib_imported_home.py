"""A home imported from pysystemtrade is kept up to date through IB (real ib_async against the
fake TWS serving that home): FX, contract chains, bars, multiple and adjusted prices continue from
the imported history, with no spike held back and no spike alert at the join."""
from __future__ import annotations

import pandas as pd

from sysbrokers.factory import sim_market_from_blob
from sysbrokers.IB.fake_tws import FakeTwsThread
from sysbrokers.sim.broker import SimBroker
from syscore.config_models import IBConfig
from sysinit.import_pysystemtrade_csv import import_pysystemtrade_csv
from sysproduction.update_fx_prices import update_fx_prices
from sysproduction.update_historical_prices import update_historical_prices
from sysproduction.update_multiple_adjusted_prices import update_multiple_adjusted_prices
from sysproduction.update_sampled_contracts import update_sampled_contracts
from tests.blob_helpers import FixedClock, make_blob

# EDOLLAR: not in the simulator's universe (GE on GLOBEX); OAT: one of the universe's own,
# listed by the universe on EUREX and by the imported IB config on DTB, priced in EUR
CODES = ("EDOLLAR", "OAT")
FX = ("EURUSD",)
DAYS = ("2021-12-02 23:00", "2021-12-03 23:00")  # the history ends 2021-11-30


def _filtered(source, target, keep) -> None:
    lines = source.read_text().splitlines()
    target.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if keep(ln)]) + "\n")


def small_layout(reference, target):
    """A pysystemtrade folder with CODES, their IB mapping and the FX pairs FX."""
    (target / "csvconfig").mkdir(parents=True)
    by_code = lambda ln: ln.split(",")[0] in CODES  # noqa: E731
    for name in ("instrumentconfig.csv", "rollconfig.csv"):
        _filtered(reference / "csvconfig" / name, target / "csvconfig" / name, by_code)
    ib = target / "sysbrokers_IB"
    ib.mkdir()
    _filtered(reference / "sysbrokers_IB" / "ib_config_futures.csv",
              ib / "ib_config_futures.csv", by_code)
    _filtered(reference / "sysbrokers_IB" / "ib_config_spot_FX.csv",
              ib / "ib_config_spot_FX.csv", lambda ln: ln.split(",")[0] in FX)
    for folder, names in (("multiple_prices_csv", CODES), ("adjusted_prices_csv", CODES),
                          ("fx_prices_csv", FX)):
        (target / folder).mkdir()
        for name in names:
            (target / folder / f"{name}.csv").write_text(
                (reference / folder / f"{name}.csv").read_text())
    return target


def _daily_move(series: pd.Series) -> float:
    return float(series.dropna().resample("1D").last().dropna().diff().abs().iloc[-250:].mean())


def test_imported_home_continues_through_ib(tmp_path, pysystemtrade_reference):
    clock = FixedClock("2021-12-01 06:00")
    home = tmp_path / "home"
    data = make_blob(home, clock=clock)
    try:
        report = import_pysystemtrade_csv(str(small_layout(pysystemtrade_reference,
                                                           tmp_path / "src")), data=data)
        assert not report.rejected, report.render()
        assert sorted(c.instrument_code for c in data.broker_config.all_ib_futures()) == \
            sorted(CODES)
        imported_multiple = {c: data.multiple_prices.read(c) for c in CODES}
        imported_adjusted = {c: data.adjusted_prices.read_series(c) for c in CODES}
        imported_fx = {c: data.fx_prices.read_series(c) for c in FX}

        # the fake TWS serves the home's simulated market (as `systrade fake-tws --home` does)
        market = sim_market_from_blob(data)
        with FakeTwsThread(market, clock, broker_factory=lambda: SimBroker(
                clock, home, market)) as tws:
            data.config = data.config.model_copy(update={
                "broker": "ib",
                "ib": IBConfig(port=tws.port, timeout_seconds=30.0, reconnect_attempts=2,
                               reconnect_initial_seconds=0.0,
                               history_requests_per_window=10_000,
                               history_identical_gap_seconds=0.0)})
            from sysbrokers.IB.broker import IBBroker
            assert isinstance(data.broker, IBBroker)  # the home's broker is IB, by config

            for day in DAYS:
                clock.current = pd.Timestamp(day, tz="UTC")
                for step in (update_fx_prices, update_sampled_contracts,
                             update_historical_prices, update_multiple_adjusted_prices):
                    outcome = step(data=data)
                    assert outcome.ok, (day, step.__name__, outcome.failures)

        assert not [a for a in data.alerts.all() if "pike" in a["subject"]], data.alerts.all()
        for code, stored in imported_fx.items():
            after = data.fx_prices.read_series(code)
            new = after[after.index > stored.index[-1]]
            assert len(new) >= 2, code
            assert abs(new.iloc[0] - stored.iloc[-1]) < 4 * _daily_move(stored), code
            pd.testing.assert_series_equal(after[after.index <= stored.index[-1]], stored,
                                           check_freq=False)

        for code in CODES:
            last = imported_multiple[code].iloc[-1]
            imported_contracts = {str(last[c])[:6] for c in
                                  ("PRICE_CONTRACT", "FORWARD_CONTRACT", "CARRY_CONTRACT")}
            chain = {c.contract_date for c in data.contracts.for_instrument(code)}
            assert imported_contracts <= chain, (imported_contracts, sorted(chain))

            price_contract = str(last["PRICE_CONTRACT"])[:6]
            bars = data.contract_prices.read(code, price_contract, "H")
            assert len(bars[bars.index > imported_multiple[code].index[-1]]) > 10

            multiple = data.multiple_prices.read(code)
            new_rows = multiple[multiple.index > imported_multiple[code].index[-1]]
            assert len(new_rows) > 10, code
            assert (new_rows["PRICE_CONTRACT"].astype(str).str[:6] == price_contract).all()
            move = _daily_move(imported_multiple[code]["PRICE"])
            assert abs(new_rows["PRICE"].iloc[0] - last["PRICE"]) < 3 * move, code

            adjusted = data.adjusted_prices.read_series(code)
            old = imported_adjusted[code]
            new_adjusted = adjusted[adjusted.index > old.index[-1]]
            assert len(new_adjusted) > 10, code
            assert abs(new_adjusted.iloc[0] - old.iloc[-1]) < 3 * _daily_move(old), code
            pd.testing.assert_series_equal(adjusted[adjusted.index <= old.index[-1]].dropna(),
                                           old.dropna(), check_freq=False, check_names=False)
    finally:
        data.close()
