"""Initialise a home from the simulator's demo universe: instrument configs, roll parameters,
FX pairs and the IB mapping, and start each instrument's contract chain (its key contracts and
those of the next year, expiries from the simulated broker), so the daily processes, which work
over the instruments with stored prices or contracts, take them up against the simulated broker.

    python run.py sysinit.init_from_sim_universe.init_from_sim_universe
"""
from __future__ import annotations

from sysbrokers.sim.universe import InstrumentSpec, load_universe
from syscore.exceptions import UnknownInstrument
from sysdata.broker_config import FxPairConfig, IBFuturesConfig
from sysdata.data_blob import DataBlob
from sysobjects.instruments import InstrumentConfig
from sysobjects.roll_parameters import MONTH_LETTERS, RollParameters
from sysproduction.process_helpers import blob_for
from sysproduction.update_sampled_contracts import update_contract_chain

EXPIRY_SAMPLE_YEAR = 2030


def region_for(timezone: str) -> str:
    """``US``, ``EMEA`` or ``ASIA`` from an exchange time zone name."""
    if timezone.startswith("America/") or timezone.startswith("US/"):
        return "US"
    if timezone.startswith("Asia/") or timezone.startswith("Australia/"):
        return "ASIA"
    return "EMEA"


def instrument_config(spec: InstrumentSpec) -> InstrumentConfig:
    """Config from a universe entry: commission per contract, half the quoted spread."""
    return InstrumentConfig(
        instrument_code=spec.code, description=spec.description, pointsize=float(spec.multiplier),
        currency=spec.currency, asset_class=spec.asset_class, per_block=float(spec.commission),
        spread_cost=spec.spread_ticks * spec.tick_size / 2.0,
        region=region_for(spec.hours.tz), tick_size=float(spec.tick_size),
    )


def roll_parameters(spec: InstrumentSpec) -> RollParameters:
    """Roll ``roll_days`` before expiry; carry from the nearer priced contract when we hold a
    subset of the priced cycle, else the next one; expiry day from the exchange rule."""
    year = EXPIRY_SAMPLE_YEAR  # any year: the offset must not depend on the wall clock
    month = MONTH_LETTERS.index(spec.priced_cycle[0]) + 1
    expiry = spec.expiry_rule.expiry_for(year, month)
    months_after = (expiry.year * 12 + expiry.month) - (year * 12 + month)
    expiry_offset = expiry.day - 1 + 30 * months_after
    carry = -1 if spec.hold_cycle != spec.priced_cycle else 1
    return RollParameters(hold_roll_cycle=spec.hold_cycle, priced_roll_cycle=spec.priced_cycle,
                          roll_offset_days=-int(round(spec.roll_days)), carry_offset=carry,
                          expiry_offset=expiry_offset)


def init_from_sim_universe(instruments: str = "ALL", data: DataBlob | None = None) -> str:
    """Load configs for ``ALL`` universe instruments or a comma-separated list of codes."""
    universe = load_universe()
    codes = sorted(universe.instruments) if instruments == "ALL" else \
        [c.strip() for c in instruments.split(",") if c.strip()]
    unknown = [c for c in codes if c not in universe.instruments]
    if unknown:
        raise UnknownInstrument(f"not in the simulator's universe: {', '.join(unknown)}")
    with blob_for(data, "init_from_sim_universe") as blob:
        specs = [universe.instruments[c] for c in codes]
        blob.instruments.add_many([instrument_config(s) for s in specs])
        for spec in specs:
            blob.roll_parameters.add(spec.code, roll_parameters(spec))
        blob.broker_config.add_ib_futures([
            IBFuturesConfig(s.code, s.ib.symbol, s.ib.exchange, s.ib.currency, s.ib.multiplier,
                            float(s.ib.price_magnifier)) for s in specs])
        base = blob.config.base_currency
        currencies = sorted({s.currency for s in specs} - {base})
        pairs = [FxPairConfig(f"{ccy}{base}", ccy, base, False) for ccy in currencies
                 if f"{ccy}{base}" in universe.fx]
        blob.broker_config.add_fx_pairs(pairs)
        chains = [update_contract_chain(blob, s.code) for s in specs
                  if s.code not in blob.config.ignored_instruments]
        return (f"init_from_sim_universe: {len(specs)} instruments and "
                f"{len(pairs)} FX pairs ({', '.join(p.code for p in pairs) or 'none'}) "
                f"initialised from the simulator universe; {len(chains)} contract chains "
                f"started")
