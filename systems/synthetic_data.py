"""Synthetic futures data for tests and benchmarks (random walks; no market meaning).

``SyntheticSimData`` holds everything in memory; ``write_pysystemtrade_csv`` writes the same
data in pysystemtrade's CSV layout so ``CsvSimData`` and ``run_backtest`` can read it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from systems.sim_data import ONE, InstrumentConfig, SimData

CURRENCIES = ("USD", "EUR", "JPY", "GBP")


class SyntheticSimData(SimData):
    """``n_instruments`` random-walk futures over ``years`` of business days (daily stamps at
    23:00 UTC), with quarterly contracts, a carry contract one quarter nearer, and FX for
    EUR/JPY/GBP against USD. Deterministic for a given ``seed``."""

    def __init__(self, n_instruments: int, years: float, seed: int = 0, end: str = "2023-08-31"):
        rng = np.random.default_rng(seed)
        days = pd.bdate_range(end=pd.Timestamp(end), periods=int(years * 260))
        self.index = days + pd.Timedelta(hours=23)
        n = len(days)
        self.codes = [f"SYN{i:03d}" for i in range(n_instruments)]
        self._adjusted, self._multiple, self._configs = {}, {}, {}
        # stagger starts so the portfolio has instruments joining over time
        starts = rng.integers(0, max(1, n // 2), size=n_instruments)
        starts[0] = 0
        for i, code in enumerate(self.codes):
            level = float(rng.uniform(50, 5000))
            vol = level * float(rng.uniform(0.005, 0.02))
            steps = rng.standard_t(5, size=n) * vol * 0.8 + vol * 0.01
            adjusted = np.round(level + np.cumsum(steps), 2)  # a 0.01 tick, like real prices
            adjusted[: starts[i]] = np.nan
            roll_gap = np.cumsum(rng.normal(0, vol * 0.02, size=n)) + vol * rng.normal(0, 2)
            price = np.round(adjusted + 0.1 * level, 2)
            carry = np.round(price + roll_gap, 2)
            quarter = (days.year * 100 + ((days.month - 1) // 3 + 1) * 3).to_numpy()
            price_contract = np.where(quarter % 100 == 12, quarter + 100 - 9, quarter + 3) * 100
            carry_contract = quarter * 100
            frame = pd.DataFrame(
                {
                    "CARRY": carry,
                    "CARRY_CONTRACT": carry_contract,
                    "PRICE": price,
                    "PRICE_CONTRACT": price_contract,
                    "FORWARD": np.nan,
                    "FORWARD_CONTRACT": price_contract + 300,
                },
                index=self.index,
            )
            frame = frame.iloc[starts[i]:]
            self._adjusted[code] = pd.Series(adjusted, index=self.index).iloc[starts[i]:]
            self._multiple[code] = frame
            currency = CURRENCIES[i % len(CURRENCIES)]
            self._configs[code] = InstrumentConfig(
                instrument_code=code,
                pointsize=float(rng.choice([10, 25, 50, 100, 1000])),
                currency=currency,
                spread_cost=float(vol * 0.05),
                per_block=float(rng.uniform(1, 3)),
                rolls_per_year=int(rng.choice([1, 4, 12])),
            )
        self._fx = {
            ccy: pd.Series(
                np.round(np.exp(np.cumsum(rng.normal(0, 0.006, size=n))) * base, 6), index=self.index
            )
            for ccy, base in (("EUR", 1.1), ("JPY", 0.009), ("GBP", 1.3))
        }

    def instrument_list(self) -> list[str]:
        return list(self.codes)

    def get_adjusted_prices(self, code: str) -> pd.Series:
        return self._adjusted[code]

    def get_multiple_prices(self, code: str) -> pd.DataFrame:
        return self._multiple[code]

    def get_fx_rate(self, currency: str, base: str) -> pd.Series:
        if currency == base:
            return ONE
        if base != "USD":
            raise KeyError(f"synthetic FX only against USD, asked {currency}{base}")
        return self._fx[currency]

    def get_instrument_config(self, code: str) -> InstrumentConfig:
        return self._configs[code]


def write_pysystemtrade_csv(data: SyntheticSimData, directory: str | Path) -> Path:
    """Write ``data`` in pysystemtrade's CSV layout (instrumentconfig with a Slippage column)."""
    out = Path(directory)
    for sub in ("adjusted_prices_csv", "multiple_prices_csv", "fx_prices_csv", "csvconfig"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows, rolls = [], []
    cycles = {1: "Z", 4: "HMUZ", 12: "FGHJKMNQUVXZ"}
    for code in data.instrument_list():
        adjusted = data.get_adjusted_prices(code).rename("price").rename_axis("DATETIME")
        adjusted.to_csv(out / "adjusted_prices_csv" / f"{code}.csv")
        multiple = data.get_multiple_prices(code).rename_axis("DATETIME")
        multiple.to_csv(out / "multiple_prices_csv" / f"{code}.csv")
        cfg = data.get_instrument_config(code)
        rows.append(
            dict(Instrument=code, Description="synthetic", Pointsize=cfg.pointsize, Currency=cfg.currency,
                 AssetClass="Synthetic", Slippage=cfg.spread_cost, PerBlock=cfg.per_block,
                 Percentage=cfg.percentage, PerTrade=cfg.per_trade)
        )
        rolls.append(dict(Instrument=code, HoldRollCycle=cycles[cfg.rolls_per_year], RollOffsetDays=-5,
                          CarryOffset=-1, PricedRollCycle=cycles[cfg.rolls_per_year], ExpiryOffset=15))
    pd.DataFrame(rows).to_csv(out / "csvconfig" / "instrumentconfig.csv", index=False)
    pd.DataFrame(rolls).to_csv(out / "csvconfig" / "rollconfig.csv", index=False)
    for ccy, series in data._fx.items():
        fx = series.rename("PRICE").rename_axis("DATETIME")
        fx.to_csv(out / "fx_prices_csv" / f"{ccy}USD.csv")
    return out


def synthetic_config(codes: list[str], capital: float = 1_000_000.0) -> dict:
    """A chapter-15 style config dict for synthetic instruments (equal instrument weights)."""
    rules = {
        f"ewmac{f}_{4 * f}": {
            "function": "systems.provided.rules.ewmac.ewmac",
            "data": ["rawdata.get_daily_prices", "rawdata.daily_returns_volatility"],
            "other_args": {"Lfast": f, "Lslow": 4 * f},
            "forecast_scalar": scalar,
        }
        for f, scalar in ((16, 3.75), (32, 2.65), (64, 1.87))
    }
    rules["carry"] = {
        "function": "systems.provided.rules.carry.carry",
        "data": ["rawdata.raw_carry"],
        "other_args": {"smooth_days": 90},
        "forecast_scalar": 30,
    }
    return {
        "trading_rules": rules,
        "forecast_weights": {"carry": 0.5, "ewmac16_64": 0.21, "ewmac32_128": 0.08, "ewmac64_256": 0.21},
        "forecast_div_multiplier": 1.31,
        "forecast_cap": 20.0,
        "instrument_weights": {code: 1.0 / len(codes) for code in codes},
        "instrument_div_multiplier": 2.0,
        "notional_trading_capital": capital,
        "percentage_vol_target": 20.0,
        "base_currency": "USD",
        "buffer_method": "forecast",
        "buffer_size": 0.1,
        "volatility_calculation": {
            "func": "sysquant.estimators.vol.mixed_vol_calc",
            "days": 35, "min_periods": 10, "slow_vol_years": 10, "proportion_of_slow_vol": 0.3,
        },
        "multiply_roll_costs_by": 0.5,
    }
