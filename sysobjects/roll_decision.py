"""Auto-roll decision rules (pure): which roll state to suggest for an instrument.

Inputs are a :class:`RollInfo` (what the roll report shows for one instrument) and
:class:`AutoRollRules` (config ``roll_status_auto_update``). Rules, first match wins:

1. the priced contract has expired (``days_to_expiry <= 0``), ``auto_roll_expired`` is on and no
   position is held in it: ``Roll_Adjusted``;
2. the forward is liquid (relative volume, forward / priced, above
   ``auto_roll_if_relative_volume_higher_than``; or above ``min_relative_volume`` with a forward
   volume above ``min_absolute_volume`` contracts a day):
   - no position in the priced contract: ``Roll_Adjusted``;
   - a position, close to the roll (``days_to_roll < near_expiry_days``):
     ``default_roll_state_if_undecided`` (``Ask``: no suggestion, the operator decides; the
     unattended process treats ``Ask`` as ``Force``);
   - a position, not close: ``Passive``;
3. the forward is not liquid: close to the roll ``No_Open``, otherwise ``No_Roll``.

A suggestion the transition table does not allow from the current state is not made (the reason
says why). Volumes: :func:`average_daily_volume` (EWMA, span 3, of the daily volumes of the last
14 days), in contracts per day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from syscore.exceptions import InvalidData
from sysobjects.roll_state import RollState, allowed_roll_states

ASK = "Ask"
VOLUME_DAYS = 14
VOLUME_SPAN = 3


@dataclass(frozen=True)
class AutoRollRules:
    """Config ``roll_status_auto_update`` (defaults as pysystemtrade's). ``default_if_undecided``
    is a roll state or ``None`` for Ask. ``days_ahead``: instruments whose priced contract rolls
    or expires within this many days are cycled through by the auto modes."""

    auto_roll_if_relative_volume_higher_than: float = 1.0
    min_relative_volume: float = 0.01
    min_absolute_volume: float = 100.0
    near_expiry_days: int = 10
    default_if_undecided: RollState | None = None
    auto_roll_expired: bool = True
    days_ahead: int = 10

    @classmethod
    def from_config(cls, config) -> AutoRollRules:
        """From a ``RollStatusAutoUpdateConfig`` (syscore.config_models)."""
        default = config.default_roll_state_if_undecided
        return cls(config.auto_roll_if_relative_volume_higher_than, config.min_relative_volume,
                   config.min_absolute_volume, config.near_expiry_days,
                   None if default == ASK else RollState.from_name(default),
                   config.auto_roll_expired, config.days_ahead)


@dataclass(frozen=True)
class RollInfo:
    """One instrument's roll position. Days are calendar days from today (UTC) to the priced
    contract's expiry and to its desired roll date (expiry + roll offset); None when unknown.
    Volumes are average daily volumes in contracts (NaN when unknown); ``position`` is held in
    the priced contract."""

    instrument_code: str
    roll_state: RollState
    priced_contract: str
    forward_contract: str
    position: int
    days_to_expiry: int | None
    days_to_roll: int | None
    priced_volume: float
    forward_volume: float

    @property
    def relative_volume(self) -> float:
        """Forward volume / priced volume (NaN when either is unknown or priced is 0)."""
        if not (self.priced_volume > 0) or math.isnan(self.forward_volume):
            return math.nan
        return self.forward_volume / self.priced_volume

    @property
    def days_to_act(self) -> int | None:
        known = [d for d in (self.days_to_roll, self.days_to_expiry) if d is not None]
        return min(known) if known else None


@dataclass(frozen=True)
class RollSuggestion:
    """A suggested state (None: undecided, the operator is asked) and why. ``allowed`` is False
    when the rules' state is not allowed from the current one (then ``state`` is None too)."""

    state: RollState | None
    reason: str
    allowed: bool = True


def forward_is_liquid(info: RollInfo, rules: AutoRollRules) -> bool:
    relative = info.relative_volume
    if math.isnan(relative):
        return False
    if relative > rules.auto_roll_if_relative_volume_higher_than:
        return True
    return relative > rules.min_relative_volume and info.forward_volume > rules.min_absolute_volume


def _raw_suggestion(info: RollInfo, rules: AutoRollRules) -> RollSuggestion:
    held = info.position != 0
    close = info.days_to_roll is not None and info.days_to_roll < rules.near_expiry_days
    volume = (f"relative volume {info.relative_volume:.2f}, forward volume "
              f"{info.forward_volume:g}")
    if info.days_to_expiry is not None and info.days_to_expiry <= 0 and rules.auto_roll_expired \
            and not held:
        return RollSuggestion(RollState.ROLL_ADJUSTED,
                              f"priced contract expired {-info.days_to_expiry} days ago, no "
                              f"position")
    if forward_is_liquid(info, rules):
        if not held:
            return RollSuggestion(RollState.ROLL_ADJUSTED, f"forward liquid ({volume}), no "
                                                           f"position in the priced contract")
        if close:
            state = rules.default_if_undecided
            return RollSuggestion(state, f"forward liquid ({volume}), position {info.position} "
                                         f"held {info.days_to_roll} days before the roll date: "
                                         + ("undecided (Ask)" if state is None else
                                            f"default {state.value}"))
        return RollSuggestion(RollState.PASSIVE, f"forward liquid ({volume}), position held, "
                                                 f"{info.days_to_roll} days to the roll date")
    if close:
        return RollSuggestion(RollState.NO_OPEN, f"forward not liquid ({volume}), "
                                                 f"{info.days_to_roll} days to the roll date")
    return RollSuggestion(RollState.NO_ROLL, f"forward not liquid ({volume})")


def suggest_roll_state(info: RollInfo, rules: AutoRollRules) -> RollSuggestion:
    """The rules of the module docstring, limited to the transitions allowed from the current
    state (with or without a position in the priced contract)."""
    suggestion = _raw_suggestion(info, rules)
    if suggestion.state is None or suggestion.state is info.roll_state:
        return suggestion
    allowed = allowed_roll_states(info.roll_state, info.position != 0)
    if suggestion.state not in allowed:
        return RollSuggestion(None, f"{suggestion.reason}; but {suggestion.state.value} is not "
                                    f"allowed from {info.roll_state.value} (allowed: "
                                    f"{[s.value for s in allowed]})", allowed=False)
    return suggestion


def average_daily_volume(volumes: pd.Series, now: pd.Timestamp) -> float:
    """EWMA (span 3) of daily volume sums over the 14 days before ``now`` (UTC), in contracts;
    NaN when there are none. ``volumes`` is per bar (daily bars: one per day)."""
    if volumes is None or len(volumes) == 0:
        return math.nan
    recent = volumes[(volumes.index > now - pd.Timedelta(days=VOLUME_DAYS))
                     & (volumes.index <= now)].dropna()
    if recent.empty:
        return math.nan
    daily = recent.groupby(recent.index.normalize()).sum()
    return float(daily.ewm(span=VOLUME_SPAN).mean().iloc[-1])


def force_roll_trade_size(position: int, state: RollState) -> int:
    """Contracts a forced roll trades against the trade limits: a spread (Force) trades both
    legs, 2 x |position|; Force_Outright and Close count |position| per order (pysystemtrade
    compares 2 x position for spreads, 1 x otherwise)."""
    if state is RollState.FORCE:
        return 2 * abs(position)
    if state in (RollState.FORCE_OUTRIGHT, RollState.CLOSE):
        return abs(position)
    raise InvalidData(f"{state.value} does not trade a roll")
