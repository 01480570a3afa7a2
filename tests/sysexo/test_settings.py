"""EXO settings: bad values are refused when the file is read, naming the key."""
from __future__ import annotations

import pytest
import yaml

from syscore.exceptions import ConfigError
from sysexo.settings import load_exo_settings


def test_an_unknown_time_zone_is_refused_at_load_naming_the_key(tmp_path):
    path = tmp_path / "exo_settings.yaml"
    path.write_text(yaml.safe_dump({
        "products": {"GOLD": {"decision_time": "19:00", "timezone": "Europe/Londn"}},
        "exos": [{"name": "GOLD_CallSpread", "product": "GOLD", "kind": "call_spread"}]}))
    with pytest.raises(ConfigError, match=r"products\.GOLD\.timezone.*Europe/Londn"):
        load_exo_settings(path)
    path.write_text(yaml.safe_dump({"products": {"GOLD": {"timezone": "Europe/London"}}}))
    assert load_exo_settings(path).products["GOLD"].timezone == "Europe/London"


def test_asking_for_an_unlisted_product_is_refused(tmp_path):
    """A typo in --product must not build (and store) a series for another product."""
    path = tmp_path / "exo_settings.yaml"
    path.write_text(yaml.safe_dump({
        "products": {"GOLD": {}},
        "exos": [{"name": "GOLD_CallSpread", "product": "GOLD", "kind": "call_spread"}]}))
    settings = load_exo_settings(path)
    assert [e.name for e in settings.ordered_exos("GOLD")] == ["GOLD_ContFut", "GOLD_CallSpread"]
    with pytest.raises(ConfigError, match="product 'CORN' is not listed under products"):
        settings.ordered_exos("CORN")
