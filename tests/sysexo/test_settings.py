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
