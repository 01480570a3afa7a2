"""Configuration: defaults, private overrides, and one clear message per kind of bad input."""
from __future__ import annotations

import pytest

from syscore.config import load_config, load_control_config
from syscore.exceptions import ConfigError


def write_private(home, text: str, name: str = "private_config.yaml"):
    path = home / "private" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_load(systrade_home):
    config = load_config(systrade_home)
    assert config.state_store == "sqlite"
    assert config.broker == "sim"
    assert config.max_price_spike == 8.0
    assert config.price_cleaning.ignore_zero_prices is True
    assert config.price_cleaning.ignore_prices_with_zero_volumes_daily is False
    assert config.logging.level == "INFO"


def test_private_overrides_merge_deeply(systrade_home):
    write_private(systrade_home, "max_price_spike: 6\nlogging:\n  level: debug\n")
    config = load_config(systrade_home)
    assert config.max_price_spike == 6.0
    assert config.logging.level == "DEBUG"
    assert config.logging.console is True  # untouched sibling key keeps its default


def test_malformed_yaml_names_file_and_line(systrade_home):
    path = write_private(systrade_home, "logging:\n  level: [INFO\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert str(path) in message and "malformed YAML" in message and "line" in message


def test_unknown_key_reported(systrade_home):
    path = write_private(systrade_home, "max_price_spkie: 6\n")
    with pytest.raises(ConfigError, match="unknown key 'max_price_spkie'") as info:
        load_config(systrade_home)
    assert str(path) in str(info.value)


def test_unknown_nested_key_reported(systrade_home):
    write_private(systrade_home, "price_cleaning:\n  ignore_everything: true\n")
    with pytest.raises(ConfigError, match="unknown key 'price_cleaning.ignore_everything'"):
        load_config(systrade_home)


def test_wrong_type_names_key_expected_and_found(systrade_home):
    write_private(systrade_home, "max_price_spike: lots\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "key 'max_price_spike'" in message and "number" in message and "'lots'" in message


def test_bad_state_store_value(systrade_home):
    write_private(systrade_home, "state_store: postgres://x\n")
    with pytest.raises(ConfigError, match="mongodb://host:port/dbname"):
        load_config(systrade_home)


def test_top_level_not_a_mapping(systrade_home):
    write_private(systrade_home, "- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(systrade_home)


def test_secrets_hidden_in_repr_and_errors(systrade_home):
    write_private(systrade_home, "email:\n  password: hunter2\nib:\n  account: U1234567\n")
    config = load_config(systrade_home)
    assert "hunter2" not in repr(config) and "U1234567" not in repr(config)
    assert config.email.password.get_secret_value() == "hunter2"
    write_private(systrade_home, "email:\n  password: [hunter2]\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    assert "hunter2" not in str(info.value)


def test_a_flat_value_for_a_section_is_explained_in_config_words(systrade_home):
    """``ib: U7654321`` (a value where a section of keys belongs): the message says what the
    file needs, not pydantic's 'valid dictionary or instance of IBConfig'."""
    write_private(systrade_home, "ib: U7654321\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "U7654321" not in message
    assert "instance of" not in message and "IBConfig" not in message and "dictionary" not in message
    assert ("key 'ib': expected a section of keys (indented 'name: value' lines under 'ib:'); "
            "found <hidden>") in message


def test_control_config_validates_times(systrade_home):
    assert "run_systems" in load_control_config(systrade_home).process_configuration
    write_private(systrade_home,
                  "process_configuration:\n  run_systems:\n    start_time: '25:00'\n",
                  "private_control_config.yaml")
    with pytest.raises(ConfigError, match="process_configuration.run_systems.start_time"):
        load_control_config(systrade_home)


def test_control_config_validates_the_time_zone_at_load(systrade_home):
    write_private(systrade_home,
                  "process_configuration:\n  run_systems:\n    timezone: Mars/Olympus\n",
                  "private_control_config.yaml")
    with pytest.raises(ConfigError) as info:
        load_control_config(systrade_home)
    message = str(info.value)
    assert "private_control_config.yaml: key 'process_configuration.run_systems.timezone'" \
        in message and "IANA time zone" in message and "'Mars/Olympus'" in message


MONGO_URL = "mongodb://bob:s3cretPW@db-host:27017/systrade_live"
S3_URI = "s3://s3.example:bucket?access=AKIAXYZ&secret=TOPSECRETKEY&region=eu"


def test_store_url_credentials_hidden_in_repr_and_str(systrade_home):
    write_private(systrade_home, f"state_store: {MONGO_URL}\ntimeseries_store: '{S3_URI}'\n")
    config = load_config(systrade_home)
    assert config.state_store == MONGO_URL  # the field itself stays usable
    assert config.timeseries_store == S3_URI
    for shown in (repr(config), str(config)):
        for secret in ("s3cretPW", "AKIAXYZ", "TOPSECRETKEY"):
            assert secret not in shown
        assert "mongodb://bob:***@db-host:27017/systrade_live" in shown
        assert "s3://s3.example:bucket?access=***&secret=***&region=eu" in shown


def test_validation_errors_redact_urls_and_secret_keys(systrade_home):
    write_private(systrade_home, "state_store: 'postgres://bob:s3cretPW@db/x?token=TKN123'\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "key 'state_store'" in message and "found 'postgres://bob:***@db/x?token=***'" in message
    assert "s3cretPW" not in message and "TKN123" not in message
    write_private(systrade_home, "ib:\n  account: [U7654321]\nemail:\n  password: {a: pw9}\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "U7654321" not in message and "pw9" not in message
    assert "key 'ib.account'" in message and "found <hidden>" in message


@pytest.mark.parametrize("text, secret", [
    ("ib: U7654321\n", "U7654321"),
    ("email: hunter2\n", "hunter2"),
    ("email: [hunter2]\n", "hunter2"),
    ("email:\n  host: {pw: hunter2}\n", "hunter2"),
    ("ib:\n  port: hunter2\n", "hunter2"),
])
def test_a_secret_given_flat_is_never_echoed(systrade_home, text, secret):
    # a credential written straight under a secret-bearing section fails validation there: the
    # error names the file and key but never shows the value
    write_private(systrade_home, text)
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert secret not in message
    assert "private_config.yaml" in message and "found <hidden>" in message


def test_unknown_logging_component_is_a_config_error(systrade_home):
    write_private(systrade_home, "logging:\n  component_levels:\n    update_fx_pricse: DEBUG\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "key 'logging.component_levels'" in message
    # in the YAML's own terms: names, not Python lists and dicts
    assert "unknown components update_fx_pricse:" in message, message
    assert "found update_fx_pricse: DEBUG" in message, message
    assert not any(mark in message for mark in "[]{}"), message
    write_private(systrade_home, "logging:\n  component_levels:\n    update_fx_prices: DEBUG\n"
                                 "    systrade.sysdata.prices: WARNING\n    arcticdb: INFO\n"
                                 "    run_my_own_process: INFO\n"
                                 "    clean_truncate_backtest_states: ERROR\n")
    levels = load_config(systrade_home).logging.component_levels
    assert levels == {"update_fx_prices": "DEBUG", "systrade.sysdata.prices": "WARNING",
                      "arcticdb": "INFO", "run_my_own_process": "INFO",
                      "clean_truncate_backtest_states": "ERROR"}


def test_validation_error_of_a_mapping_masks_values_inside_it(systrade_home):
    # the validator rejects the whole mapping, so the whole mapping is the found value
    write_private(systrade_home, "logging:\n  component_levels:\n"
                                 "    sysdata: 'mongodb://bob:s3cretPW@h/x'\n"
                                 "    api_token: 'TKN123'\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "key 'logging.component_levels'" in message
    assert "sysdata: mongodb://bob:***@h/x" in message and "api_token: <hidden>" in message
    assert "s3cretPW" not in message and "TKN123" not in message


def test_secrets_from_environment_override_the_file(systrade_home, monkeypatch):
    write_private(systrade_home, "ib:\n  account: UFILE111\n")
    monkeypatch.setenv("SYSTRADE_IB_ACCOUNT", "UENV2222")
    monkeypatch.setenv("SYSTRADE_EMAIL_PASSWORD", "env-mail-pw")
    config = load_config(systrade_home)
    assert config.ib.account.get_secret_value() == "UENV2222"
    assert config.email.password.get_secret_value() == "env-mail-pw"
    assert "UENV2222" not in repr(config) and "env-mail-pw" not in repr(config)
    monkeypatch.setenv("SYSTRADE_IB_ACCOUNT", "")  # empty: the file's value stands
    monkeypatch.delenv("SYSTRADE_EMAIL_PASSWORD")
    config = load_config(systrade_home)
    assert config.ib.account.get_secret_value() == "UFILE111"
    assert config.email.password is None


def test_the_dashboard_password_is_a_secret_from_the_file_or_the_environment(systrade_home,
                                                                              monkeypatch):
    from syslogdiag.redaction import config_secrets

    monkeypatch.delenv("SYSTRADE_DASHBOARD_PASSWORD", raising=False)
    write_private(systrade_home, "dashboard:\n  password: file-dash-pw\n  port: 8061\n")
    config = load_config(systrade_home)
    assert config.dashboard.password.get_secret_value() == "file-dash-pw"
    assert config.dashboard.port == 8061 and config.dashboard.host == "127.0.0.1"
    assert "file-dash-pw" not in repr(config) and "file-dash-pw" in config_secrets(config)
    monkeypatch.setenv("SYSTRADE_DASHBOARD_PASSWORD", "env-dash-pw")
    assert load_config(systrade_home).dashboard.password.get_secret_value() == "env-dash-pw"
    monkeypatch.delenv("SYSTRADE_DASHBOARD_PASSWORD")
    write_private(systrade_home, "dashboard:\n  password: [leaked-dash-pw]\n")
    with pytest.raises(ConfigError) as error:
        load_config(systrade_home)
    assert "leaked-dash-pw" not in str(error.value)


def test_a_config_file_too_large_to_be_one_is_refused_at_once(systrade_home):
    """An 80 MB file at the config path (a log or a data file copied over it) kept every
    process busy parsing it for minutes before failing; it is refused by its size."""
    path = systrade_home / "private" / "private_config.yaml"
    with open(path, "w") as handle:
        handle.write("broker: sim\n")
        handle.truncate(80 * 1024 * 1024)  # sparse: cheap to make
    with pytest.raises(ConfigError, match=r"private_config\.yaml: 80 MB, too large for a "
                                          r"configuration file \(at most 1 MB\)"):
        load_config(systrade_home)


def test_a_config_path_that_is_not_a_regular_file_is_refused(systrade_home):
    """A FIFO at the config path blocked every process on its read until someone wrote to it.
    (A writer thread closes at once, so the old code read an empty config instead of hanging.)"""
    import os
    import threading
    path = systrade_home / "private" / "private_config.yaml"
    os.mkfifo(path)
    writer = threading.Thread(target=lambda: open(path, "w").close(), daemon=True)
    writer.start()
    try:
        with pytest.raises(ConfigError, match=r"private_config\.yaml: not a regular file"):
            load_config(systrade_home)
    finally:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer's open return
        writer.join(timeout=10)
    assert not writer.is_alive()


def test_a_yaml_error_without_a_position_is_one_line(systrade_home):
    """A NUL byte gave ``private_config.yaml:: malformed YAML: ...`` over two lines."""
    (systrade_home / "private" / "private_config.yaml").write_bytes(b"broker: sim\x00\n")
    with pytest.raises(ConfigError) as info:
        load_config(systrade_home)
    message = str(info.value)
    assert "\n" not in message and "::" not in message
    assert "private_config.yaml: malformed YAML: " in message
