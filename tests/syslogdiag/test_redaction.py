"""Credentials in store URLs are masked wherever a URL can reach an operator."""
from __future__ import annotations

import pytest

from syscore.exceptions import StoreError
from syscore.redaction import is_secret_key, redact_url, redact_value, url_secrets
from sysdata.timeseries.arctic_store import TimeSeriesStore
from syslogdiag import redact_url as logdiag_redact_url
from syslogdiag.redaction import config_secrets


@pytest.mark.parametrize("url, shown", [
    ("mongodb://bob:s3cretPW@db:27017/x", "mongodb://bob:***@db:27017/x"),
    # an unescaped '@' or '/' in the password is still masked as a whole
    ("mongodb://bob:p@ss/w@h1,h2/db?authSource=admin", "mongodb://bob:***@h1,h2/db?authSource=admin"),
    ("s3://s3.example:bucket?access=AKIAXYZ&secret=TOPSECRETKEY&region=eu",
     "s3://s3.example:bucket?access=***&secret=***&region=eu"),
    ("s3s://h:b?aws_secret_access_key=K1&aws_access_key_id=K2&path_prefix=p",
     "s3s://h:b?aws_secret_access_key=***&aws_access_key_id=***&path_prefix=p"),
    ("azure://DefaultEndpointsProtocol=https;AccountName=me;AccountKey=abc==;Container=c",
     "azure://DefaultEndpointsProtocol=https;AccountName=me;AccountKey=***;Container=c"),
    ("https://x/y?token=t1&password=p1&sig=z", "https://x/y?token=***&password=***&sig=***"),
    ("lmdb:///home/me/arctic", "lmdb:///home/me/arctic"),
    ("mongodb://bob@db/x", "mongodb://bob@db/x"),
    ("sqlite", "sqlite"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert logdiag_redact_url is redact_url  # one implementation, re-exported
    for secret in url_secrets(url):
        assert secret not in shown


def test_redact_url_none():
    assert redact_url(None) is None


@pytest.mark.parametrize("key, secret", [
    ("password", True), ("ib.account", True), ("email_password", True), ("api_token", True),
    ("aws_secret_access_key", True), ("AccountKey", True), ("state_store", False),
    ("max_price_spike", False), ("monkey", False), ("authSource", False),
])
def test_is_secret_key(key, secret):
    assert is_secret_key(key) is secret


def test_redact_value_nested():
    value = {"host": "smtp", "password": "pw9", "stores": ["mongodb://u:pw8@h/x"]}
    assert redact_value(value) == {"host": "smtp", "password": "<hidden>",
                                   "stores": ["mongodb://u:***@h/x"]}
    assert redact_value("U123", "ib.account") == "<hidden>"


def test_config_secrets_include_url_credentials():
    from syscore.config_models import SystradeConfig

    config = SystradeConfig(state_store="mongodb://bob:s3cretPW@db/x",
                            timeseries_store="s3://h:b?access=AKIAXYZ&secret=TOPSECRETKEY")
    assert set(config_secrets(config)) == {"s3cretPW", "AKIAXYZ", "TOPSECRETKEY"}


def test_time_series_store_error_does_not_show_credentials():
    # ArcticDB quotes the whole URI in its own message: both places are masked
    with pytest.raises(StoreError) as info:
        TimeSeriesStore("bogus://bob:pw123xyz@host/lib?secret=TOPSECRETKEY")
    message = str(info.value)
    assert "pw123xyz" not in message and "TOPSECRETKEY" not in message
    assert "cannot open time-series store bogus://bob:***@host/lib?secret=***" in message
