"""EXO settings, as data: products, EXOs and roll regimes.

File: ``$SYSTRADE_HOME/private/exo_settings.yaml`` (validated by pydantic; an error names the
file, the key and the reason)::

    products:
      GOLD: {decision_time: "19:45", timezone: UTC}
    exos:
      - {name: GOLD_ContFut, product: GOLD, kind: continuous_future}
      - {name: GOLD_CallSpread, product: GOLD, kind: call_spread}
      - name: GOLD_SmartIchi
        product: GOLD
        kind: smart
        bullish: [{type: future}]
        bearish: [{type: future, quantity: -1}]
        neutral: []
    roll_regimes:
      default: {roll_months: [1,2,3,4,5,6,7,8,9,10,11,12], days_before_expiration: 2}
      products: {GOLD: {roll_months: [2,4,6,8,10,12], days_before_expiration: 5}}

Every product with an EXO gets a ``<product>_ContFut`` continuous-future EXO automatically if
the list has none (SmartEXOs read it), built first.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from syscore.config import validation_message
from syscore.exceptions import ConfigError
from syscore.time_of_day import HHMM, TimeZoneName
from sysexo.engine import ExoDefinition
from sysexo.roll_regimes import RollRegimes

SETTINGS_FILE = "exo_settings.yaml"


class ProductSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_time: HHMM = "20:00"   #: HH:MM in ``timezone``: when the day's prices are taken
    timezone: TimeZoneName = "UTC"


class ExoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    products: dict[str, ProductSettings] = Field(default_factory=dict)
    exos: list[ExoDefinition] = Field(default_factory=list)
    roll_regimes: RollRegimes = Field(default_factory=RollRegimes)

    @model_validator(mode="after")
    def _consistent(self) -> ExoSettings:
        names = [e.name for e in self.exos]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate EXO names: {', '.join(duplicated)}")
        unknown = sorted({e.product for e in self.exos} - set(self.products))
        if unknown:
            raise ValueError(f"EXOs on products not listed under products: {', '.join(unknown)}")
        for exo in self.exos:
            if exo.kind != "smart":
                exo.template()  # unknown kinds fail here
        return self

    def ordered_exos(self, product: str | None = None) -> list[ExoDefinition]:
        """EXOs of ``product`` (or all), each product's continuous future first (added when
        missing). ConfigError for a ``product`` not listed under ``products``."""
        if product is not None and product not in self.products:
            raise ConfigError(f"EXO settings: product {product!r} is not listed under products "
                              f"(listed: {', '.join(sorted(self.products)) or 'none'})")
        out: list[ExoDefinition] = []
        products = [product] if product else sorted({e.product for e in self.exos})
        for code in products:
            mine = [e for e in self.exos if e.product == code]
            base = [e for e in mine if e.kind == "continuous_future"] or [ExoDefinition(
                name=f"{code}_ContFut", product=code, kind="continuous_future")]
            out += base + [e for e in mine if e.kind != "continuous_future"]
        return out


def load_exo_settings(path: Path) -> ExoSettings:
    """Read and validate ``path``; ConfigError naming the file, key and reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no EXO settings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return ExoSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, path, data)) from None
