"""Masking credentials in store URLs and configuration values (no logging, no I/O).

Used wherever a URL or configuration value may reach an operator: configuration reprs and
validation errors (:mod:`syscore.config`), store errors (``sysdata``), and log redaction
(:mod:`syslogdiag.redaction`, which re-exports :func:`redact_url`).

* :func:`redact_url` turns ``mongodb://bob:s3cret@host/db`` into ``mongodb://bob:***@host/db``
  and ``s3://host:bucket?access=AKIA&secret=xyz`` into ``s3://host:bucket?access=***&secret=***``
  (also ``;``-separated ``Key=Value`` pairs such as an Azure ``AccountKey``).
* :func:`is_secret_param` says whether a URL parameter (``secret``, ``access``, ``token``,
  ``AccountKey``, ...) holds a credential; :func:`is_secret_key` whether a configuration key
  (``password``, ``account``, ``secret``, ``token``, ...) does.
* :func:`redact_value` masks a configuration value for display: URL-like strings via
  :func:`redact_url`, values of secret-named keys inside mappings as ``<hidden>``.
"""
from __future__ import annotations

import re
from typing import Any

MASK = "***"
HIDDEN = "<hidden>"

# substrings of a URL parameter name that mark its value as a credential
_SECRET_KEY_PARTS = ("password", "passwd", "secret", "token", "access", "credential", "apikey",
                     "api_key")
# configuration keys are secret for these too (``ib.account``); an account *name* inside a URL
# (Azure ``AccountName``) is not a credential and is left visible
_SECRET_CONFIG_PARTS = ("account",)
# configuration sections whose every value counts as secret-bearing in messages: a credential
# given flat (``ib: U7654321``, ``email: hunter2``) lands on the section key itself
SECRET_SECTIONS = ("ib", "email")
# words of a key name that mark a credential ("key", "AccountKey", "SharedAccessSignature")
_SECRET_KEY_WORDS = ("key", "pwd", "sas", "sig", "signature")

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_PAIR = re.compile(r"(?P<lead>^|[?&;])(?P<key>[A-Za-z0-9_.\-]+)=(?P<value>[^&;#]*)")


def is_secret_param(name: str) -> bool:
    """Whether a URL query (or ``;``-separated) parameter name names a credential."""
    lowered = str(name).lower()
    if any(part in lowered for part in _SECRET_KEY_PARTS):
        return True
    words = _WORDS.findall(str(name))
    return any(word.lower() in _SECRET_KEY_WORDS for word in words)


def is_secret_key(name: str) -> bool:
    """Whether a configuration key (one part of a dotted path) names a secret value."""
    lowered = str(name).lower()
    return is_secret_param(name) or any(part in lowered for part in _SECRET_CONFIG_PARTS)


def is_secret_path(key: str) -> bool:
    """Whether a dotted configuration key path may hold a secret: it starts with a section of
    :data:`SECRET_SECTIONS` (``ib``, ``email``), or any part names a secret
    (:func:`is_secret_key`: password, account, secret, token, ...)."""
    parts = [p for p in str(key).split(".") if p]
    if parts and parts[0].lower() in SECRET_SECTIONS:
        return True
    return any(is_secret_key(part) for part in parts)


def looks_like_url(value: Any) -> bool:
    """A string with a ``scheme://`` prefix."""
    return isinstance(value, str) and bool(_SCHEME.match(value.strip()))


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(scheme://user:, password, @rest)`` for a URL with a password, else ``None``.

    The authority ends at the first ``?``; its *last* ``@`` separates the credentials, so an
    unescaped ``@`` or ``/`` inside the password is still masked as a whole."""
    match = _SCHEME.match(url)
    if not match:
        return None
    start = match.end()
    query_at = url.find("?", start)
    end = len(url) if query_at < 0 else query_at
    at = url.rfind("@", start, end)
    if at < 0:
        return None
    colon = url.find(":", start, at)
    if colon < 0:
        return None
    return url[:colon + 1], url[colon + 1:at], url[at:]


def url_secrets(url: str | None) -> list[str]:
    """The credential values inside ``url``: its password and the values of secret-named
    query (or ``;``-separated) parameters."""
    if not url or not isinstance(url, str):
        return []
    found = []
    parts = _split_userinfo(url)
    if parts is not None and parts[1]:
        found.append(parts[1])
    for match in _PAIR.finditer(url):
        if is_secret_param(match.group("key")) and match.group("value"):
            found.append(match.group("value"))
    return found


def redact_url(url: str | None) -> str | None:
    """``url`` with its password (``user:***@``) and the values of secret-named parameters
    (``secret=***``) masked; other text is unchanged. ``None`` stays ``None``."""
    if url is None:
        return None
    text = str(url)
    parts = _split_userinfo(text)
    if parts is not None and parts[1]:
        text = f"{parts[0]}{MASK}{parts[2]}"

    def mask(match: re.Match) -> str:
        if is_secret_param(match.group("key")) and match.group("value"):
            return f"{match.group('lead')}{match.group('key')}={MASK}"
        return match.group(0)

    return _PAIR.sub(mask, text)


def redact_with_url(text: str, url: str | None) -> str:
    """``text`` (say an error message that may quote ``url``) with ``url``'s credentials
    masked wherever they appear."""
    text = str(text)
    for secret in sorted(set(url_secrets(url)), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return redact_url(text) or ""


def redact_value(value: Any, key: str = "") -> Any:
    """A display-safe copy of a configuration value found at ``key`` (dotted path).

    A secret-bearing key path (:func:`is_secret_path`) hides the whole value (``<hidden>``);
    URL-like strings are passed through :func:`redact_url`; mappings and sequences are redacted
    item by item."""
    if key and is_secret_path(key):
        return HIDDEN if value is not None else None
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, dict):
        return {k: redact_value(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
