"""Reading and writing time series as CSV: damaged files refused, our own files lossless.

Writing: timestamps naive in UTC as ``YYYY-MM-DD HH:MM:SS`` (with ``.ffffff`` only when some
timestamp has sub-second precision); floats in Python's shortest round-trip form.

Reading (:func:`read_timeseries_csv`) refuses, with the file, the line and the reason, and before
anything is returned:

- a NUL byte anywhere (pandas would stop a field there: ``1\\x002.5`` reads as ``1``);
- a last line with no line end (a file cut short: ``1.5`` cut to ``1`` is still a number);
- a line with more or fewer fields than the header (a line cut short, e.g. mid-timestamp);
- a column named twice in the header (which of the two holds the data would be a guess);
- a timestamp that is not ``YYYY-MM-DD`` optionally followed by `` HH:MM:SS[.f]`` (or ``T``) and
  an offset (``Z``, ``+01:00``, ``-0500``). Each row's offset is applied to that row; a timestamp
  without one is UTC (as pysystemtrade writes them);
- two rows at the same instant (after their offsets: ``23:00+01:00`` and ``22:00`` are one);
- with ``not_after`` (the importer: now plus a day), a timestamp later than it (a price dated
  2099 would sit after every bar the daily updates bring and stop them for good);
- a non-numeric value in a numeric column; an empty field (or ``NaN``/``NA``) is a missing value;
- a value breaking one of the caller's :class:`ValueRule` (e.g. prices must be finite).

A header-only file reads as an empty frame (an empty stored series must survive a backup);
refusing it is the importer's business. Rows may come in any order (stores sort them).

Floats are parsed one of two ways (:class:`FloatParsing`): ``EXACT`` (default) reads what the
writer wrote bit for bit; ``PYSYSTEMTRADE`` is pandas' default parser, the one pysystemtrade's
``pd.read_csv`` uses. The default parser is not correctly rounded: ``2.631`` and
``2.6310000000000002`` both read as 2.631 (so PRICE - CARRY is exactly 0 where pysystemtrade
finds 0), and about a third of arbitrary doubles come back one unit in the last place off, whatever
text is written. So pysystemtrade's files are imported with ``PYSYSTEMTRADE`` and our backups are
restored with ``EXACT``.
"""
from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData

# date, then optionally time (HH:MM:SS with an optional fraction), then optionally an offset
_TIMESTAMP = (r"^\s*(?P<base>\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)?)"
              r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?\s*$")
_PLAIN_FORMAT = "%Y-%m-%d %H:%M:%S"  # what pysystemtrade and our writer write: the fast path


class FloatParsing(enum.Enum):
    """How numbers are parsed (module docstring)."""

    EXACT = "round_trip"       # bit-identical with the writer: our own files (backups)
    PYSYSTEMTRADE = "default"  # pandas' default parser, as pysystemtrade reads its files

    @property
    def pandas_option(self) -> str | None:
        return None if self is FloatParsing.PYSYSTEMTRADE else self.value


@dataclass(frozen=True)
class ValueRule:
    """A check on the values of some numeric or text columns.

    ``bad(values)`` returns a boolean array, True where a value breaks the rule; ``reason`` ends
    the message (``value 'inf' <reason>``). Missing values are passed too: a rule decides itself
    whether NaN is allowed.
    """

    columns: tuple[str, ...]
    reason: str
    bad: Callable[[pd.Series], np.ndarray]


def check_csv_lines(data: bytes, path: Path) -> np.ndarray:
    """Physical line numbers (1-based) of the data rows, after structural checks: no NUL byte, a
    line end after the last line, every non-blank line with as many fields as the header."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InvalidData(f"{path}: line {line}: NUL byte: binary data or a damaged file")
    if not data.strip():
        raise InvalidData(f"{path}: empty file (not even a header)")
    if not data.endswith(b"\n"):
        line = data.count(b"\n") + 1
        raise InvalidData(f"{path}: line {line}: no line end after the last line: the file "
                          "looks cut short")
    if b'"' in data:
        return _data_lines_quoted(data, path)
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    has_cr = np.zeros(len(ends), dtype=bool)
    nonempty = lengths > 0
    has_cr[nonempty] = raw[ends[nonempty] - 1] == ord("\r")
    blank = (lengths - has_cr) == 0
    commas = np.flatnonzero(raw == ord(","))
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    line_numbers = np.arange(1, len(ends) + 1)[~blank]
    fields = fields[~blank]
    expected = fields[0]
    wrong = np.flatnonzero(fields != expected)
    if len(wrong):
        first = wrong[0]
        raise InvalidData(f"{path}: line {line_numbers[first]}: {fields[first]} fields, the "
                          f"header has {expected}: a line cut short or a stray comma")
    return line_numbers[1:]


def check_header(data: bytes, path: Path) -> None:
    """Refuse a header naming a column twice (pandas would silently rename the second
    ``price`` to ``price.1`` and the reader keep only the first)."""
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    seen: set[str] = set()
    for name in next(csv.reader([first]), []):
        if name in seen:
            raise InvalidData(f"{path}: line 1: column {name!r} appears twice in the header")
        seen.add(name)


def _data_lines_quoted(data: bytes, path: Path) -> np.ndarray:
    """As :func:`check_csv_lines` for files with quoted fields (JSON text in backups)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{path}: not UTF-8 text: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    lines: list[int] = []
    expected = None
    start = 1
    try:
        for record in reader:
            if record and not (len(record) == 1 and record[0] == ""):
                if expected is None:
                    expected = len(record)
                elif len(record) != expected:
                    raise InvalidData(f"{path}: line {start}: {len(record)} fields, the header "
                                      f"has {expected}: a line cut short or a stray comma")
                else:
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidData(f"{path}: line {reader.line_num}: not readable as CSV: {exc}") from None
    return np.asarray(lines, dtype=np.int64)


def _parse_timestamps(text: pd.Series, lines: np.ndarray, path: Path,
                      column: str) -> pd.DatetimeIndex:
    """UTC timestamps from ISO text, each row's offset applied (module docstring)."""
    text = text.fillna("").astype(str)
    if len(text) and (text.str.len() == 19).all():  # fast path: all plain naive seconds
        stamps = pd.to_datetime(text, format=_PLAIN_FORMAT, errors="coerce")
        if not stamps.isna().any():
            return pd.DatetimeIndex(stamps).tz_localize("UTC")
    parts = text.str.extract(_TIMESTAMP)
    base = pd.to_datetime(parts["base"], format="ISO8601", errors="coerce")
    bad = base.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidData(f"{path}: line {lines[first]}: cannot read {text.iloc[first]!r} as a "
                          f"timestamp in column {column} (expected YYYY-MM-DD HH:MM:SS, "
                          "optionally with an offset such as +01:00; no offset means UTC)")
    offset = parts["offset"].fillna("Z")
    minutes = np.zeros(len(text), dtype=np.int64)
    for value in offset.unique():
        if value == "Z":
            continue
        digits = value[1:].replace(":", "")
        amount = int(digits[:2]) * 60 + int(digits[2:])
        minutes[(offset == value).to_numpy()] = amount if value[0] == "+" else -amount
    utc = base - pd.to_timedelta(minutes, unit="min")
    return pd.DatetimeIndex(utc).tz_localize("UTC")


def _check_unique(index: pd.DatetimeIndex, lines: np.ndarray, path: Path) -> None:
    repeated = index.duplicated(keep="first")
    if not repeated.any():
        return
    later = int(np.flatnonzero(repeated)[0])
    earlier = int(np.flatnonzero(index == index[later])[0])
    stamp = index[later].strftime("%Y-%m-%d %H:%M:%S")
    raise InvalidData(f"{path}: line {lines[later]}: same instant as line {lines[earlier]} "
                      f"({stamp} UTC): duplicate rows")


def _check_not_after(index: pd.DatetimeIndex, lines: np.ndarray, path: Path,
                     not_after: pd.Timestamp) -> None:
    late = np.flatnonzero(index > not_after)
    if not len(late):
        return
    more = f" (and {len(late) - 1} more)" if len(late) > 1 else ""
    stamp = index[late[0]].strftime("%Y-%m-%d %H:%M:%S")
    limit = pd.Timestamp(not_after).strftime("%Y-%m-%d %H:%M")
    raise InvalidData(f"{path}: line {lines[late[0]]}: {stamp} UTC is in the future (later "
                      f"than {limit} UTC){more}")


def _field_text(data: bytes, line: int, position: int) -> str:
    """The text of field ``position`` (0-based) on physical ``line`` (1-based), as written."""
    text = data.split(b"\n", line)[line - 1].decode("utf-8", errors="replace").rstrip("\r")
    fields = next(csv.reader([text]), [])
    return fields[position] if position < len(fields) else ""


def _check_rules(data: bytes, columns: list[str], frame: pd.DataFrame,
                 rules: Sequence[ValueRule], lines: np.ndarray, path: Path) -> None:
    for rule in rules:
        for column in rule.columns:
            bad = np.asarray(rule.bad(frame[column]), dtype=bool)
            if not bad.any():
                continue
            where = np.flatnonzero(bad)
            more = f" (and {len(where) - 1} more)" if len(where) > 1 else ""
            line = int(lines[where[0]])
            shown = _field_text(data, line, columns.index(column))
            raise InvalidData(f"{path}: line {line}: column {column}: value {shown!r} "
                              f"{rule.reason}{more}")


def read_timeseries_csv(
    path: Path,
    index_column: str,
    required_columns: list[str],
    text_columns: tuple[str, ...] = (),
    rules: Sequence[ValueRule] = (),
    floats: FloatParsing = FloatParsing.EXACT,
    not_after: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Read a CSV with a timestamp column into a frame with a UTC index named ``DATETIME``.

    Only ``required_columns`` are returned: numeric ones as float, ``text_columns`` as text.
    Raises :class:`InvalidData` naming the file, the line and the reason for any of the faults
    in the module docstring.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidData(f"{path}: file not found")
    data = path.read_bytes()
    lines = check_csv_lines(data, path)
    check_header(data, path)
    dtypes = {c: str for c in (index_column, *text_columns)}
    try:
        raw = pd.read_csv(io.BytesIO(data), float_precision=floats.pandas_option, dtype=dtypes,
                          keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidData(f"{path}: not a readable CSV: {exc}") from None
    missing = [c for c in [index_column, *required_columns] if c not in raw.columns]
    if missing:
        raise InvalidData(f"{path}: missing columns {', '.join(missing)}; found "
                          f"{', '.join(map(str, raw.columns))}")
    if len(raw) != len(lines):  # the checks above make this impossible; never guess lines
        raise InvalidData(f"{path}: {len(raw)} rows read from {len(lines)} data lines")
    index = _parse_timestamps(raw[index_column], lines, path, index_column)
    _check_unique(index, lines, path)
    if not_after is not None:
        _check_not_after(index, lines, path, not_after)
    frame = raw[required_columns].copy()
    for column in required_columns:
        if column in text_columns:
            continue
        if frame[column].dtype.kind in "fiu":
            frame[column] = frame[column].astype(float)
            continue
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad_values = (converted.isna() & frame[column].notna()).to_numpy()
        if bad_values.any():
            first = int(np.flatnonzero(bad_values)[0])
            raise InvalidData(
                f"{path}: line {lines[first]}: column {column} has non-numeric value "
                f"{frame[column].iloc[first]!r}"
            )
        frame[column] = converted.astype(float)
    _check_rules(data, list(map(str, raw.columns)), frame, rules, lines, path)
    frame.index = pd.DatetimeIndex(index, name="DATETIME")
    return frame


def write_timeseries_csv(frame: pd.DataFrame, path: Path, index_label: str) -> Path:
    """Write a frame with a UTC index as CSV (naive UTC timestamps); atomic file replace. An
    empty frame is written as its header line alone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    index = out.index
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    if len(index):
        unit = "us" if (index.microsecond != 0).any() else "s"
        text = np.char.replace(
            np.datetime_as_string(index.values.astype("datetime64[ns]"), unit=unit), "T", " ")
    else:  # an empty series is a header-only file (numpy cannot format a zero-size array)
        text = np.array([], dtype=str)
    out.index = pd.Index(text, name=index_label)
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=True)
    tmp.replace(path)
    return path
