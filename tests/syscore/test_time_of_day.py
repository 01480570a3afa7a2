"""``"HH:MM"`` and time-zone names: one check, usable as pydantic field types."""
from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from syscore.config import validation_message
from syscore.exceptions import ConfigError, InvalidData
from syscore.time_of_day import HHMM, TimeZoneName, parse_hhmm, zone


class Window(BaseModel):
    start: HHMM = "09:00"
    timezone: TimeZoneName = "UTC"


def test_parse_and_zone():
    assert parse_hhmm("7:05") == dt.time(7, 5)
    assert zone("Europe/London").key == "Europe/London"
    with pytest.raises(InvalidData):
        parse_hhmm("24:00")
    with pytest.raises(ConfigError):
        zone("Nowhere/Town")


@pytest.mark.parametrize("data, key, found", [
    ({"start": "25:00"}, "start", "'25:00'"),
    ({"timezone": "Nowhere/Town"}, "timezone", "'Nowhere/Town'"),
])
def test_a_model_refuses_bad_values_at_load_naming_the_key(data, key, found):
    with pytest.raises(ValidationError) as info:
        Window.model_validate(data)
    message = validation_message(info.value, "x.yaml", data)
    assert message.startswith(f"x.yaml: key '{key}': expected ") and message.endswith(found)


def test_good_values_are_kept_as_text():
    window = Window.model_validate({"start": "22:30", "timezone": "Asia/Tokyo"})
    assert (window.start, window.timezone) == ("22:30", "Asia/Tokyo")


def test_times_are_kept_zero_padded_also_in_process_windows():
    from syscore.config_models import ProcessConfig

    assert Window.model_validate({"start": "7:05"}).start == "07:05"
    process = ProcessConfig.model_validate({"start_time": "7:00", "end_time": "9:5"})
    assert (process.start_time, process.end_time) == ("07:00", "09:05")
