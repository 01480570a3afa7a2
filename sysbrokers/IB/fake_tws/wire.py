"""TWS socket framing and field text, as ib_async 2.1 speaks it at server version 178.

After the 4-byte ``API\\0`` prefix, every message in both directions is a 4-byte big-endian
payload length followed by the payload: text fields, each terminated by NUL (so a payload ends
with NUL). Field text: ints and floats in decimal, bools as ``1``/``0``, ``None`` as empty.

ib_async's advertised client version range is pinned here (:data:`CLIENT_MIN_VERSION`,
:data:`CLIENT_MAX_VERSION`); the server answers :data:`SERVER_VERSION`. Formats above 178
(error time at 194, historicalDataEnd at 196, protobuf from 201) are not spoken.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence

API_PREFIX = b"API\0"
CLIENT_MIN_VERSION = 157
CLIENT_MAX_VERSION = 178
SERVER_VERSION = 178
MAX_FRAME = 16 * 1024 * 1024  # refuse absurd lengths rather than buffer them

UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1


class ProtocolError(ValueError):
    """The peer sent bytes that are not a valid TWS API message."""


def field_text(value: object) -> str:
    """Text of one field (no NUL). Floats print without a trailing ``.0`` when integral."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "Infinite" if value > 0 else "-Infinite"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def encode_fields(fields: Iterable[object]) -> bytes:
    """Payload of one message: each field's text followed by NUL."""
    return "".join(field_text(f) + "\0" for f in fields).encode("utf-8")


def frame(payload: bytes) -> bytes:
    """Length-prefix a payload."""
    return struct.pack(">I", len(payload)) + payload


def encode_message(fields: Sequence[object]) -> bytes:
    """A complete framed message from its fields."""
    for f in fields:
        if isinstance(f, str) and "\0" in f:
            raise ProtocolError(f"field contains NUL: {f!r}")
    return frame(encode_fields(fields))


def decode_payload(payload: bytes) -> list[str]:
    """Fields of one payload (the trailing NUL's empty element is dropped)."""
    parts = payload.decode("utf-8", errors="backslashreplace").split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def parse_version_range(text: str) -> tuple[int, int, str]:
    """``'v157..178'`` or ``'v157..178 +PACEAPI'`` -> (min, max, options)."""
    head, _, options = text.partition(" ")
    if not head.startswith("v"):
        raise ProtocolError(f"client hello {text!r} does not start with 'v'")
    lo, sep, hi = head[1:].partition("..")
    try:
        low = int(lo)
        high = int(hi) if sep else low
    except ValueError:
        raise ProtocolError(f"client hello {text!r} is not a version range") from None
    return low, high, options.strip()
