"""Bad per-contract bars are handled as configured."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from syscore.exceptions import ConfigError, InvalidData
from sysobjects.contract_prices import (
    Frequency,
    FuturesContractPrices,
    append_new_prices,
    merge_daily_and_hourly,
)
from sysobjects.price_cleaning import DropReason, PriceCleaningSettings, clean_contract_prices

NOW = pd.Timestamp("2021-03-10 12:00", tz="UTC")
NAN = np.nan


def bars(rows, times):
    return pd.DataFrame(
        rows, index=pd.DatetimeIndex(times), columns=["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    )


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def test_defaults_are_pysystemtrade_defaults():
    s = PriceCleaningSettings()
    assert s.to_dict() == {
        "ignore_future_prices": True,
        "ignore_prices_with_zero_volumes_intraday": True,
        "ignore_prices_with_zero_volumes_daily": False,
        "ignore_zero_prices": True,
        "ignore_negative_prices": False,
    }
    with pytest.raises(ConfigError, match="unknown"):
        PriceCleaningSettings.from_dict({"ignore_zero_price": True})
    with pytest.raises(ConfigError, match="true or false"):
        PriceCleaningSettings.from_dict({"ignore_zero_prices": "yes"})


RAW = bars(
    [
        (1, 2, 0.5, 1.5, 10),     # 0 ok
        (1, 2, 0.5, 1.6, 0),      # 1 zero volume
        (1, 2, 0.5, 0.0, 5),      # 2 zero price
        (-1, 2, -2, -1.5, 5),     # 3 negative
        (1, 2, 0.5, NAN, 5),      # 4 NaN FINAL
        (1, 2, 0.5, 1.7, 5),      # 5 future
        (NAN, NAN, NAN, 1.8, NAN),  # 6 close only, unknown volume: kept
    ],
    ["2021-03-01 10:00", "2021-03-01 11:00", "2021-03-01 12:00", "2021-03-01 13:00",
     "2021-03-01 14:00", "2021-03-10 13:00", "2021-03-01 15:00"],
)


def test_hourly_defaults():
    result = clean_contract_prices(RAW, Frequency.HOURLY, NOW)
    assert list(result.prices.final) == [1.5, -1.5, 1.8]  # negative kept by default
    assert result.dropped[DropReason.ZERO_VOLUME].equals(pd.DatetimeIndex([ts("2021-03-01 11:00")]))
    assert result.dropped[DropReason.ZERO_PRICE].equals(pd.DatetimeIndex([ts("2021-03-01 12:00")]))
    assert result.dropped[DropReason.NAN_FINAL].equals(pd.DatetimeIndex([ts("2021-03-01 14:00")]))
    assert result.dropped[DropReason.FUTURE].equals(pd.DatetimeIndex([ts("2021-03-10 13:00")]))
    assert DropReason.NEGATIVE_PRICE not in result.dropped
    assert result.n_dropped == 4
    assert result.prices.frequency is Frequency.HOURLY


def test_daily_keeps_zero_volume_by_default():
    result = clean_contract_prices(RAW, Frequency.DAILY, NOW)
    assert ts("2021-03-01 11:00") in result.prices.data.index
    strict = clean_contract_prices(
        RAW, Frequency.DAILY, NOW, PriceCleaningSettings(ignore_prices_with_zero_volumes_daily=True)
    )
    assert strict.dropped[DropReason.ZERO_VOLUME].equals(pd.DatetimeIndex([ts("2021-03-01 11:00")]))


def test_each_flag_can_be_switched():
    lax = PriceCleaningSettings(
        ignore_future_prices=False,
        ignore_prices_with_zero_volumes_intraday=False,
        ignore_zero_prices=False,
    )
    result = clean_contract_prices(RAW, Frequency.HOURLY, NOW, lax)
    assert set(result.dropped) == {DropReason.NAN_FINAL}  # NaN FINAL is always dropped
    assert len(result.prices) == 6
    strict = clean_contract_prices(
        RAW, Frequency.HOURLY, NOW, PriceCleaningSettings(ignore_negative_prices=True)
    )
    assert strict.dropped[DropReason.NEGATIVE_PRICE].equals(
        pd.DatetimeIndex([ts("2021-03-01 13:00")])
    )
    assert list(strict.prices.final) == [1.5, 1.8]


def test_infinite_final_is_dropped_as_nan():
    raw = bars([(1, 1, 1, np.inf, 1), (1, 1, 1, 2, 1)], ["2021-03-01", "2021-03-02"])
    result = clean_contract_prices(raw, Frequency.DAILY, NOW)
    assert list(result.prices.final) == [2.0]


def test_unsorted_and_duplicated_input_keeps_last_received():
    raw = bars(
        [
            (1, 1, 1, 3.0, 1),   # 03-03
            (1, 1, 1, 1.0, 1),   # 03-01 first version
            (1, 1, 1, 2.0, 1),   # 03-02
            (1, 1, 1, 1.1, 1),   # 03-01 corrected, sent later: wins
        ],
        ["2021-03-03", "2021-03-01", "2021-03-02", "2021-03-01"],
    )
    result = clean_contract_prices(raw, Frequency.DAILY, NOW)
    assert list(result.prices.final) == [1.1, 2.0, 3.0]
    assert result.prices.data.index.is_monotonic_increasing
    assert result.dropped[DropReason.DUPLICATE].equals(pd.DatetimeIndex([ts("2021-03-01")]))


def test_naive_and_other_time_zones_become_utc():
    raw = bars([(1, 1, 1, 1.0, 1)], ["2021-03-01 10:00"])
    raw.index = raw.index.tz_localize("America/Chicago")
    result = clean_contract_prices(raw, Frequency.HOURLY, NOW)
    assert result.prices.data.index[0] == ts("2021-03-01 16:00")
    naive_now = clean_contract_prices(raw, Frequency.HOURLY, "2021-03-01 15:00")
    assert naive_now.dropped[DropReason.FUTURE].equals(pd.DatetimeIndex([ts("2021-03-01 16:00")]))


def test_bad_input_raises():
    with pytest.raises(InvalidData, match="missing columns"):
        clean_contract_prices(RAW.drop(columns=["VOLUME"]), Frequency.DAILY, NOW)
    with pytest.raises(InvalidData, match="separately"):
        clean_contract_prices(RAW, Frequency.MERGED, NOW)
    with pytest.raises(InvalidData, match="not numeric"):
        clean_contract_prices(RAW.assign(FINAL="x"), Frequency.DAILY, NOW)
    with pytest.raises(InvalidData, match="NaT"):
        clean_contract_prices(RAW.set_axis(RAW.index.insert(0, pd.NaT)[:-1]), Frequency.DAILY, NOW)


def test_validated_prices_reject_nan_final_and_unsorted():
    good = clean_contract_prices(RAW, Frequency.DAILY, NOW).prices.data
    with pytest.raises(InvalidData, match="FINAL is NaN"):
        FuturesContractPrices(good.assign(FINAL=NAN))
    with pytest.raises(InvalidData, match="strictly increasing"):
        FuturesContractPrices(good.iloc[::-1])


def test_merge_daily_wins_at_same_timestamp():
    daily = FuturesContractPrices(
        bars([(1, 1, 1, 10.0, 100), (1, 1, 1, 11.0, 100)], ["2021-03-01 23:00", "2021-03-02 23:00"]),
        Frequency.DAILY,
    )
    hourly = FuturesContractPrices(
        bars([(1, 1, 1, 9.0, 5), (1, 1, 1, 9.5, 5), (1, 1, 1, 10.5, 5)],
             ["2021-03-01 22:00", "2021-03-01 23:00", "2021-03-02 14:00"]),
        Frequency.HOURLY,
    )
    merged = merge_daily_and_hourly(daily, hourly)
    assert merged.frequency is Frequency.MERGED
    assert list(merged.final) == [9.0, 10.0, 10.5, 11.0]
    with pytest.raises(InvalidData):
        merge_daily_and_hourly(hourly, daily)


def test_append_never_rewrites_history():
    old = FuturesContractPrices(bars([(1, 1, 1, 10.0, 1)], ["2021-03-01"]))
    new = FuturesContractPrices(bars([(1, 1, 1, 99.0, 1), (1, 1, 1, 11.0, 1)],
                                     ["2021-03-01", "2021-03-02"]))
    combined, added = append_new_prices(old, new)
    assert list(combined.final) == [10.0, 11.0] and len(added) == 1
    with pytest.raises(InvalidData):
        append_new_prices(old, FuturesContractPrices(new.data, Frequency.HOURLY))


def test_settings_are_the_price_cleaning_config_model_and_name_the_key():
    from syscore.config_models import PriceCleaningConfig

    assert isinstance(PriceCleaningSettings(), PriceCleaningConfig)
    with pytest.raises(ConfigError) as info:
        PriceCleaningSettings.from_dict({"ignore_zero_prices": "yes"}, source="private/c.yaml")
    assert str(info.value) == ("private/c.yaml: key 'ignore_zero_prices': expected true or "
                               "false; found 'yes'")
