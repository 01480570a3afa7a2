"""Typed models of the configuration files.

``defaults.yaml`` (shipped in ``sysproduction/config``) is merged with
``$SYSTRADE_HOME/private/private_config.yaml``; ``control_config.yaml`` with
``private_control_config.yaml``. Every key is declared here: an unknown key is an error.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syscore.exceptions import ConfigError
from syscore.log_components import is_known_component
from syscore.redaction import redact_url
from syscore.store_urls import check_state_url
from syscore.time_of_day import HHMM, TimeZoneName

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Strict(BaseModel):
    """Unknown keys are errors; instances are immutable. ``repr``/``str`` mask credentials in
    URL-valued strings (``mongodb://bob:***@host``, ``s3://...?secret=***``); the fields
    themselves stay plain strings for the code that opens the stores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if isinstance(value, str) and "://" in value:
                value = redact_url(value)
            yield name, value


class LoggingConfig(_Strict):
    """Logging settings. ``component_levels`` maps a component (logger name suffix, e.g.
    ``update_fx_prices`` or ``sysdata``) to a level overriding ``level``; an unknown component
    name is an error (:mod:`syscore.log_components` lists what is known)."""

    level: str = "INFO"
    console: bool = True
    file: bool = True
    store: bool = True
    store_level: str = "INFO"
    component_levels: dict[str, str] = Field(default_factory=dict)
    file_retention_days: int = Field(default=30, ge=1)

    @field_validator("level", "store_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = str(value).upper()
        if upper not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return upper

    @field_validator("component_levels")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        unknown = sorted(str(c) for c in value if not is_known_component(str(c)))
        if unknown:
            raise ValueError(
                f"unknown components {', '.join(unknown)}: expected a process (e.g. update_fx_prices, "
                "run_daily_prices_updates), a package or module (e.g. sysdata, sysdata.prices) "
                "or a library (e.g. arcticdb)"
            )
        for component, level in value.items():
            upper = str(level).upper()
            if upper not in LOG_LEVELS:
                raise ValueError(
                    f"level for component {component!r} must be one of {', '.join(LOG_LEVELS)}"
                )
            out[component] = upper
        return out


class PriceCleaningConfig(_Strict):
    """Which bars are dropped before prices are stored (defaults as pysystemtrade)."""

    ignore_future_prices: bool = True
    ignore_prices_with_zero_volumes_intraday: bool = True
    ignore_prices_with_zero_volumes_daily: bool = False
    ignore_zero_prices: bool = True
    ignore_negative_prices: bool = False


class SimConfig(_Strict):
    """The built-in market simulator and simulated broker."""

    seed: int = 42
    start_date: str = "2000-01-03"
    slippage_ticks: float = Field(default=0.0, ge=0)
    latency_seconds: float = Field(default=0.25, ge=0)
    max_order_size: int = Field(default=500, ge=1)
    spike_rate: float = Field(default=0.0, ge=0, le=1)
    zero_price_rate: float = Field(default=0.0, ge=0, le=1)
    zero_volume_rate: float = Field(default=0.0, ge=0, le=1)
    initial_cash: float = Field(default=1_000_000.0, ge=0)


class IBConfig(_Strict):
    """Interactive Brokers gateway/TWS connection. ``account`` is a secret: never logged.

    Client ids are allocated from the state store between ``client_id_min`` (pysystemtrade's
    ``ib_idoffset``) and ``client_id_max``. Durations are in seconds. Pacing: at most
    ``history_requests_per_window`` historical-data requests per ``history_window_seconds``
    (IB: 60 per 600 s), identical requests at least ``history_identical_gap_seconds`` apart
    (IB: 15 s), and a pacing violation (error 162) is retried up to ``history_retries`` times
    after ``history_retry_seconds`` (doubling). A lost connection is retried
    ``reconnect_attempts`` times, ``reconnect_initial_seconds`` apart at first, doubling up to
    ``reconnect_max_seconds``; after ``disconnect_halt_seconds`` without a connection the
    broker reports that trading should halt."""

    host: str = "127.0.0.1"
    port: int = Field(default=4001, ge=1, le=65535)
    client_id_min: int = Field(default=1, ge=0)
    client_id_max: int = Field(default=999, ge=1)
    account: SecretStr | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    reconnect_attempts: int = Field(default=5, ge=0)
    reconnect_initial_seconds: float = Field(default=1.0, ge=0)
    reconnect_max_seconds: float = Field(default=60.0, ge=0)
    disconnect_halt_seconds: float = Field(default=300.0, gt=0)
    history_requests_per_window: int = Field(default=60, ge=1)
    history_window_seconds: float = Field(default=600.0, ge=0)
    history_identical_gap_seconds: float = Field(default=15.0, ge=0)
    history_retries: int = Field(default=3, ge=0)
    history_retry_seconds: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _client_id_range(self) -> IBConfig:
        if self.client_id_max < self.client_id_min:
            raise ValueError(f"client_id_max ({self.client_id_max}) is below client_id_min "
                             f"({self.client_id_min})")
        return self


class EmailConfig(_Strict):
    """Outgoing mail for alerts and reports. ``password`` is a secret: never logged."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    sender: str | None = None
    to: str | None = None
    use_tls: bool = True  #: STARTTLS on a plain connection
    ssl: bool = False     #: implicit TLS from the first byte (usually port 465)
    throttle_hours: float = Field(default=24.0, ge=0)
    max_emails_per_hour: int = Field(default=10, ge=1)
    backoff_minutes: float = Field(default=5.0, ge=0)


class DashboardConfig(_Strict):
    """``systrade dashboard`` (read-only web dashboard). ``host``: the address it listens on
    (default loopback only: reach it through an SSH tunnel); ``password``: when set, HTTP basic
    authentication as ``user`` is required (a secret: never logged); ``refresh_seconds``: how
    often a page reloads itself; ``curve_days``: days of account curve shown; ``alert_days``:
    days of alerts shown; ``log_lines``: how many recent log lines (INFO and above) are shown."""

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
    user: str = Field(default="systrade", min_length=1)
    password: SecretStr | None = None
    refresh_seconds: int = Field(default=60, ge=5, le=3600)
    curve_days: int = Field(default=365, ge=1)
    alert_days: int = Field(default=7, ge=1)
    log_lines: int = Field(default=50, ge=1, le=1000)


class StrategyCapitalAllocationConfig(_Strict):
    """How total capital is split between strategies: ``function`` (dotted path) is called with
    the total capital and ``strategy_weights``; the default splits in proportion to the weights."""

    function: str = "sysproduction.update_strategy_capital.weighted_strategy_allocation"
    strategy_weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("strategy_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight of strategy {name!r} must be >= 0")
        return value


def _instrument_codes(value: list[str], what: str) -> list[str]:
    bad = [code for code in value
           if not isinstance(code, str) or not code or not _CODE.fullmatch(code)]
    if bad:
        raise ValueError(f"{what}: expected instrument codes (letters, digits, '_' or '-'), "
                         f"got {bad}")
    return list(value)


_CODE = re.compile(r"[A-Za-z0-9_\-]+")


class ExcludeInstrumentListsConfig(_Strict):
    """pysystemtrade's ``exclude_instrument_lists`` (instrument codes).

    ``ignore_instruments``: ignored everywhere: no price, sampled-contract, multiple/adjusted or
    roll updates, no initialisation from the broker, no backtests, hence no alerts (stronger
    than pysystemtrade, which still collects their prices). ``bad_markets`` (too costly or
    illiquid) and ``trading_restrictions`` (not allowed to trade): prices are still collected;
    backtests give them a zero instrument weight."""

    ignore_instruments: list[str] = Field(default_factory=list)
    bad_markets: list[str] = Field(default_factory=list)
    trading_restrictions: list[str] = Field(default_factory=list)

    @field_validator("ignore_instruments", "bad_markets", "trading_restrictions")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return _instrument_codes(value, "instrument list")


class DuplicateInstrumentsConfig(_Strict):
    """pysystemtrade's ``duplicate_instruments``: groups of instruments that are the same market
    (``sp500: SP500_micro``). ``include`` names the one traded, ``exclude`` the others (a code or
    a list of codes); excluded duplicates take no part in backtests, their prices are still
    collected so the choice can be switched."""

    include: dict[str, str | list[str]] = Field(default_factory=dict)
    exclude: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("include", "exclude")
    @classmethod
    def _groups(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for group, codes in value.items():
            _instrument_codes([codes] if isinstance(codes, str) else codes,
                              f"duplicate group {group!r}")
        return value

    @staticmethod
    def _flat(groups: dict[str, str | list[str]]) -> frozenset[str]:
        out: set[str] = set()
        for codes in groups.values():
            out.update([codes] if isinstance(codes, str) else codes)
        return frozenset(out)

    @property
    def excluded(self) -> frozenset[str]:
        return self._flat(self.exclude)

    @property
    def included(self) -> frozenset[str]:
        return self._flat(self.include)

    @model_validator(mode="after")
    def _consistent(self) -> DuplicateInstrumentsConfig:
        both = sorted(self.included & self.excluded)
        if both:
            raise ValueError(f"{both} both included and excluded")
        return self


class RollStatusAutoUpdateConfig(_Strict):
    """``roll_status_auto_update``: the auto-roll rules of ``interactive_update_roll_status``
    (modes 3 and 4) and ``run_auto_roll_status`` (see ``sysobjects.roll_decision``). Volumes in
    contracts per day; days are calendar days."""

    auto_roll_if_relative_volume_higher_than: float = Field(default=1.0, gt=0)
    min_relative_volume: float = Field(default=0.01, ge=0)
    min_absolute_volume: float = Field(default=100.0, ge=0)
    near_expiry_days: int = Field(default=10, ge=0)
    default_roll_state_if_undecided: Literal["Ask", "No_Roll", "Passive", "Force",
                                             "Force_Outright", "Close", "No_Open"] = "Ask"
    auto_roll_expired: bool = True
    days_ahead: int = Field(default=10, ge=0)
    #: the unattended run_auto_roll_status changes nothing until this is true (opt-in)
    unattended_enabled: bool = False


class ReportingConfig(_Strict):
    """``reporting``: thresholds of the market-selection reports (minimum capital, remove
    markets, duplicate markets), with pysystemtrade's reporting defaults. For reports only: the
    backtest does not read them. ``risk_target``: annual, a fraction (0.25 = 25 %);
    ``min_volume_risk_daily`` in base currency per day; ``bad_threshold``: hysteresis, a
    fraction (a bad market must pass each threshold by this margin to be suggested back)."""

    risk_target: float = Field(default=0.25, gt=0)
    instrument_weight: float = Field(default=0.04, gt=0, le=1)
    idm: float = Field(default=2.5, gt=0)
    min_contracts_held: float = Field(default=4.0, gt=0)
    max_sr_cost: float = Field(default=0.01, gt=0)
    min_volume_contracts_daily: float = Field(default=100.0, ge=0)
    min_volume_risk_daily: float = Field(default=1_500_000.0, ge=0)
    max_vs_average_forecast: float = Field(default=2.0, gt=0)
    raw_max_leverage: float = Field(default=1.0, gt=0)
    #: fraction of a standard position traded in one day (auto-populated trade limits)
    max_position_traded_daily: float = Field(default=0.33, gt=0)
    bad_threshold: float = Field(default=0.3, ge=0, lt=1)


class SystradeConfig(_Strict):
    """The merged main configuration (defaults.yaml + private_config.yaml)."""

    timeseries_store: str | None = None
    state_store: str = "sqlite"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    store_timeout_seconds: float = Field(default=3.0, gt=0, le=600)
    lease_expiry_seconds: float = Field(default=300.0, ge=5)
    broker: Literal["sim", "ib"] = "sim"
    clock: Literal["real", "simulated"] = "real"
    base_currency: str = "USD"
    backup_directory: str | None = None
    csv_backup_directory: str | None = None
    #: off-system copies of the backups (``backup_offsystem``); None: not copied
    offsystem_backup_directory: str | None = None
    offsystem_backup_keep: int = Field(default=5, ge=1)
    offsystem_backup_encrypt: bool = False
    #: Fernet key (``cryptography``) for encrypted copies; a secret: private config only
    offsystem_backup_key: SecretStr | None = None
    intraday_frequency: Literal["H", "D"] = "H"
    max_price_spike: float = Field(default=8.0, gt=0)
    price_cleaning: PriceCleaningConfig = Field(default_factory=PriceCleaningConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    ib: IBConfig = Field(default_factory=IBConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    production_capital_method: Literal["full", "half", "fixed"] = "full"
    capital_large_change_limit: float = Field(default=0.10, gt=0)
    strategy_capital_allocation: StrategyCapitalAllocationConfig = Field(
        default_factory=StrategyCapitalAllocationConfig)
    backtest_state_retention_days: int = Field(default=5, ge=0)
    exclude_instrument_lists: ExcludeInstrumentListsConfig = Field(
        default_factory=ExcludeInstrumentListsConfig)
    duplicate_instruments: DuplicateInstrumentsConfig = Field(
        default_factory=DuplicateInstrumentsConfig)
    roll_status_auto_update: RollStatusAutoUpdateConfig = Field(
        default_factory=RollStatusAutoUpdateConfig)
    reporting: ReportingConfig = Field(default_factory=ReportingConfig)

    @property
    def ignored_instruments(self) -> frozenset[str]:
        """``exclude_instrument_lists.ignore_instruments``: out of every process and backtest."""
        return frozenset(self.exclude_instrument_lists.ignore_instruments)

    @field_validator("state_store")
    @classmethod
    def _state_store(cls, value: str) -> str:
        try:
            return check_state_url(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("base_currency")
    @classmethod
    def _ccy(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("expected a 3-letter currency code")
        return value.upper()


class MethodConfig(_Strict):
    """One method of a process: how often it runs (minutes, 0 = every loop), how many times
    per process session (−1 = unlimited), whether only when the process finishes, and keyword
    ``arguments`` passed to the method's function."""

    frequency: float = Field(default=0, ge=0)
    max_executions: int = Field(default=-1, ge=-1)
    run_on_completion_only: bool = False
    arguments: dict[str, Any] = Field(default_factory=dict)
    #: dotted path of the function to call; default: the registered method of this name
    function: str | None = None

    @field_validator("max_executions")
    @classmethod
    def _max_executions(cls, value: int) -> int:
        if value == 0:
            raise ValueError("expected -1 (unlimited) or at least 1")
        return value


class ProcessConfig(_Strict):
    """A ``run_*`` process: its window (HH:MM, local time of ``timezone``), the process it waits
    for, and its methods."""

    start_time: HHMM = "00:00"
    end_time: HHMM = "23:59"
    timezone: TimeZoneName = "UTC"
    previous_process: str | None = None
    run_on_weekends: bool = False
    methods: dict[str, MethodConfig] = Field(default_factory=dict)


class StrategyConfig(_Strict):
    """A strategy run by ``run_systems``.

    ``backtest_config``: the system's YAML config (pysystemtrade key names): an absolute path, a
    path relative to ``$SYSTRADE_HOME/private``, or ``package:<path>`` inside the package (e.g.
    ``package:systems/provided/futures_system.yaml``). ``system``: dotted path of the function
    that runs the system, called with the validated config and the data
    (default ``systems.run_backtest.run_backtest_on_data``, the classic futures system).
    ``instruments``: limit the strategy to these instruments (default: every instrument the
    config weights)."""

    backtest_config: str
    system: str = "systems.run_backtest.run_backtest_on_data"
    instruments: list[str] | None = None


class ControlConfig(_Strict):
    """The merged control configuration (control_config.yaml + private_control_config.yaml)."""

    process_configuration: dict[str, ProcessConfig] = Field(default_factory=dict)
    strategy_list: dict[str, StrategyConfig] = Field(default_factory=dict)
