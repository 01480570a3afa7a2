"""Migration in: load pysystemtrade's CSV layout into the stores.

``import_pysystemtrade_csv(source_dir)`` loads whatever of the layout it finds: instrument
configs (older ``instrumentconfig.csv`` with ``Slippage`` or newer with ``spreadcosts.csv``),
roll configs, multiple and adjusted prices, spot FX, roll calendars and the IB mapping.

- A folder holding none of those files is an error (:class:`InvalidData`), not an empty success.
- Each file is validated completely before anything is written from it. A bad file is rejected
  whole with file, line and reason (see :mod:`sysdata.csv.timeseries_csv` and the rules in
  :mod:`sysdata.csv.pysystemtrade_layout`: damaged lines, NUL bytes, unreadable or duplicate
  timestamps, non-finite prices or beyond ``MAX_ABS_PRICE``, FX rates not above zero or below
  ``MIN_FX_RATE``, invalid contract ids); a header-only price file is rejected (nothing stored); the rest goes on.
- Prices are parsed as pysystemtrade parses them (pandas' default float parser), so a backtest
  from the stores sees the same doubles as one from the CSV files.
- Prices of an instrument configured neither in the store nor in the source's ``csvconfig`` are
  rejected as an unknown instrument. A price file equal to the series already stored is
  ``unchanged`` (so a rerun after fixing one file only loads that one); a different one is not
  replaced without ``overwrite`` (``--overwrite true``) and is reported as rejected. Configs are
  always updated.

The returned :class:`ImportReport` prints as the command's report: totals, per kind and overall,
then every rejected file or row with its reason, then notes. It is ``ok`` only when nothing was
rejected; the command exits non-zero otherwise.

    python run.py sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv --source_dir DIR [--overwrite true]
"""
from __future__ import annotations

import enum
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from syscore.exceptions import InvalidData, MissingData
from sysdata.csv import pysystemtrade_layout as layout
from sysdata.csv.timeseries_csv import FloatParsing
from sysdata.data_blob import DataBlob
from sysdata.price_frames import contract_id_text
from syslogdiag.handlers import NOT_ON_CONSOLE
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.sysinit.import")

PROCESS = "import_pysystemtrade_csv"
INSTRUMENT_CONFIG = "instrument config"
ROLL_CONFIG = "roll config"
IB_MAPPING = "IB mapping"
FX_CONFIG = "FX config"
MULTIPLE = "multiple prices"
ADJUSTED = "adjusted prices"
ROLL_CALENDAR = "roll calendar"
FX_PRICES = "FX prices"
FUTURE_SLACK = pd.Timedelta(days=1)
"""How far past the clock's now a price row may be dated (a bar stamped by a later time zone's
close); anything later is refused with file and line."""
KINDS = (INSTRUMENT_CONFIG, ROLL_CONFIG, IB_MAPPING, FX_CONFIG, MULTIPLE, ADJUSTED, ROLL_CALENDAR,
         FX_PRICES)

CONFIG_FILES = (f"{layout.CONFIG_DIR}/instrumentconfig.csv", f"{layout.CONFIG_DIR}/rollconfig.csv",
                *(f"{d}/{name}" for d in layout.IB_DIRS
                  for name in ("ib_config_futures.csv", "ib_config_spot_FX.csv")))
PRICE_DIRS = (layout.MULTIPLE_DIR, layout.ADJUSTED_DIR, layout.ROLL_CALENDAR_DIR, layout.FX_DIR)


class Outcome(enum.Enum):
    """What became of one configuration row or price file."""

    LOADED = "loaded"
    UNCHANGED = "unchanged"  # a price file equal to the series already stored: nothing to do
    REJECTED = "rejected"


@dataclass(frozen=True)
class ImportItem:
    """One thing loaded, unchanged or rejected: its kind (``KINDS``), instrument or FX code, and
    for a loaded series its row count, for a rejected one the reason."""

    kind: str
    code: str
    outcome: Outcome
    rows: int | None = None
    reason: str = ""

    @property
    def loaded(self) -> bool:
        return self.outcome is Outcome.LOADED


@dataclass(frozen=True)
class ImportNote:
    """Something changed on the way in that the operator should know (e.g. a reordered cycle)."""

    kind: str
    code: str
    text: str


@dataclass
class ImportReport:
    """What was loaded and what was rejected; ``str()`` is the command's report."""

    source: Path = Path(".")
    items: list[ImportItem] = field(default_factory=list)
    note_items: list[ImportNote] = field(default_factory=list)

    def add_loaded(self, kind: str, code: str, rows: int | None = None) -> None:
        self.items.append(ImportItem(kind, code, Outcome.LOADED, rows))

    def add_unchanged(self, kind: str, code: str, rows: int) -> None:
        self.items.append(ImportItem(kind, code, Outcome.UNCHANGED, rows))

    def add_rejected(self, kind: str, code: str, reason: str) -> None:
        item = ImportItem(kind, code, Outcome.REJECTED, reason=reason)
        self.items.append(item)
        # the report prints every rejection on stdout: logged for the file only, not twice
        log.warning("rejected %s %s: %s", code, kind, self._short(reason), extra=NOT_ON_CONSOLE)

    def add_note(self, kind: str, code: str, text: str) -> None:
        self.note_items.append(ImportNote(kind, code, text))

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not any(item.outcome is Outcome.REJECTED for item in self.items)

    def count(self, kind: str | None = None, outcome: Outcome = Outcome.LOADED) -> int:
        return sum(1 for item in self.items
                   if item.outcome is outcome and (kind is None or item.kind == kind))

    def _totals(self, kind: str | None = None) -> str:
        unchanged = self.count(kind, Outcome.UNCHANGED)
        return (f"{self.count(kind, Outcome.LOADED)} loaded, "
                + (f"{unchanged} unchanged, " if unchanged else "")
                + f"{self.count(kind, Outcome.REJECTED)} rejected")

    # per-code views (what was loaded, rejected or noted for one instrument or FX code)
    @property
    def loaded(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for item in self.items:
            if item.loaded:
                out[item.code].append(item.kind if item.rows is None
                                      else f"{item.kind} ({item.rows} rows)")
        return out

    @property
    def rejected(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for item in self.items:
            if item.outcome is Outcome.REJECTED:
                out[item.code].append(f"{item.kind}: {self._short(item.reason)}")
        return out

    @property
    def notes(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for note in self.note_items:
            out[note.code].append(note.text)
        return out

    def _short(self, reason: str) -> str:
        """A reason with file paths relative to the source folder."""
        prefix = f"{self.source}/"
        return reason.replace(prefix, "") if str(self.source) != "." else reason

    def render(self) -> str:
        """Totals (overall, then per kind found; ``unchanged`` only when some are), rejected
        items, notes; plain text."""
        lines = [f"{PROCESS} from {self.source}: {self._totals()}"]
        for kind in KINDS:
            if any(item.kind == kind for item in self.items):
                lines.append(f"  {kind}: {self._totals(kind)}")
        failed = [item for item in self.items if item.outcome is Outcome.REJECTED]
        if failed:
            lines.append("rejected (nothing of these was stored):")
            lines += [f"  {item.code} {item.kind}: {self._short(item.reason)}" for item in failed]
        if self.note_items:
            lines.append("notes:")
            lines += [f"  {note.code} {note.kind}: {note.text}" for note in self.note_items]
        return "\n".join(lines)

    @property
    def summary(self) -> str:
        """The totals line (the report's first line)."""
        return f"{PROCESS} from {self.source}: {self._totals()}"

    def __str__(self) -> str:
        return self.render()


def import_pysystemtrade_csv(source_dir: str, overwrite: bool = False,
                             data: DataBlob | None = None) -> ImportReport:
    """Load a pysystemtrade CSV folder into the stores (module docstring). Price series already
    stored are replaced only with ``overwrite``; configs are always updated."""
    source = Path(source_dir).expanduser()
    if not source.is_dir():
        raise InvalidData(f"source directory not found: {source}")
    check_layout(source)
    with blob_for(data, PROCESS) as blob:
        report = ImportReport(source)
        _import_configs(source, blob, report)
        loaded = _import_prices(source, blob, report, overwrite)
        from sysbrokers.sim.configured import write_imported_anchor
        for code in loaded:  # the simulator continues the imported history (docs/sim)
            write_imported_anchor(blob, code)
        return report


def check_layout(source: Path) -> None:
    """Raise :class:`InvalidData` (one line) when ``source`` holds no file of the layout."""
    if any((source / name).is_file() for name in CONFIG_FILES):
        return
    if any(layout.codes_in(source / directory) for directory in PRICE_DIRS):
        return
    hint = ""
    gzipped = sorted(p for d in (layout.CONFIG_DIR, *PRICE_DIRS)
                     for p in (source / d).glob("*.csv.gz")) if source.is_dir() else []
    if gzipped:
        hint = (f"; found gzipped files such as {gzipped[0].relative_to(source)}: unpack them "
                "first (gunzip)")
    raise InvalidData(
        f"{source} holds nothing of pysystemtrade's CSV layout (expected "
        f"{layout.CONFIG_DIR}/instrumentconfig.csv, {layout.CONFIG_DIR}/rollconfig.csv, "
        f"sysbrokers_IB/ or *.csv files in {', '.join(PRICE_DIRS)}){hint}")


def _import_configs(source: Path, data: DataBlob, report: ImportReport) -> None:
    config_dir = source / layout.CONFIG_DIR
    if (config_dir / "instrumentconfig.csv").exists():
        _config_file(report, INSTRUMENT_CONFIG, config_dir / "instrumentconfig.csv",
                     lambda: layout.read_instrument_config(config_dir),
                     lambda configs: data.instruments.add_many(configs),
                     lambda c: c.instrument_code)
    if (config_dir / "rollconfig.csv").exists():
        def read_roll():
            loaded, rejected, notes = layout.read_roll_config(config_dir)
            for item in notes:
                report.add_note(ROLL_CONFIG, item.code, item.reason)
            return list(loaded.items()), rejected

        def write_roll(pairs):
            for code, parameters in pairs:
                data.roll_parameters.add(code, parameters)

        _config_file(report, ROLL_CONFIG, config_dir / "rollconfig.csv", read_roll, write_roll,
                     lambda pair: pair[0])
    ib_dir = layout.find_ib_dir(source)
    if ib_dir is not None:
        if (ib_dir / "ib_config_futures.csv").exists():
            _config_file(report, IB_MAPPING, ib_dir / "ib_config_futures.csv",
                         lambda: layout.read_ib_futures_config(ib_dir),
                         data.broker_config.add_ib_futures, lambda c: c.instrument_code)
        if (ib_dir / "ib_config_spot_FX.csv").exists():
            _config_file(report, FX_CONFIG, ib_dir / "ib_config_spot_FX.csv",
                         lambda: layout.read_fx_config(ib_dir),
                         data.broker_config.add_fx_pairs, lambda p: p.code)


def _config_file(report: ImportReport, kind: str, path: Path, read, write, code_of) -> None:
    """Read one configuration file (rows failing validation are rejected one by one; a damaged
    file is rejected whole under its file name) and write the good rows."""
    try:
        good, rejected = read()
    except InvalidData as exc:
        report.add_rejected(kind, path.name, str(exc))
        return
    write(good)
    for item in good:
        report.add_loaded(kind, code_of(item))
    for item in rejected:
        report.add_rejected(kind, item.code, item.reason)


def _import_prices(source: Path, data: DataBlob, report: ImportReport,
                   overwrite: bool = False) -> list[str]:
    """Import every price file; the codes whose multiple prices were written."""
    loaded_multiple: list[str] = []
    floats = FloatParsing.PYSYSTEMTRADE
    # prices dated after tomorrow are refused (a roll calendar legitimately looks ahead)
    not_after = data.now() + FUTURE_SLACK
    families = [
        (layout.MULTIPLE_DIR, MULTIPLE,
         functools.partial(layout.read_multiple_prices, not_after=not_after),
         data.multiple_prices, True),
        (layout.ADJUSTED_DIR, ADJUSTED,
         functools.partial(layout.read_adjusted_prices, not_after=not_after),
         data.adjusted_prices, True),
        (layout.ROLL_CALENDAR_DIR, ROLL_CALENDAR, layout.read_roll_calendar, data.roll_calendars,
         True),
        (layout.FX_DIR, FX_PRICES, functools.partial(layout.read_fx_prices, not_after=not_after),
         data.fx_prices, False),
    ]
    for directory, kind, reader, target, needs_instrument in families:
        for code in layout.codes_in(source / directory):
            path = source / directory / f"{code}.csv"
            if needs_instrument and not data.instruments.has(code):
                report.add_rejected(kind, code, f"{path}: unknown instrument {code} (no "
                                                "instrument config)")
                continue
            try:
                frame = reader(path, floats=floats)
                if frame.empty:
                    raise InvalidData(f"{path}: no data rows (header only)")
                if target.has(code) and not overwrite:
                    if same_as_stored(target.read(code), frame):
                        report.add_unchanged(kind, code, len(frame))
                    else:
                        report.add_rejected(kind, code, "already stored and different, not "
                                                        "replaced (--overwrite true replaces it)")
                    continue
                target.write(code, frame)
            except (InvalidData, MissingData) as exc:
                report.add_rejected(kind, code, str(exc))
                continue
            report.add_loaded(kind, code, len(frame))
            if kind == MULTIPLE:
                loaded_multiple.append(code)
    return loaded_multiple


def same_as_stored(stored: pd.DataFrame, frame: pd.DataFrame) -> bool:
    """True when ``frame`` (as read from a file) would store exactly ``stored``: same UTC
    timestamps, same doubles bit for bit (NaN where NaN), same contract ids."""
    frame = frame.sort_index()
    if list(stored.columns) != list(frame.columns) or not stored.index.equals(frame.index):
        return False
    for column in frame.columns:
        left, right = stored[column], frame[column]
        if right.dtype.kind == "f":
            if not np.array_equal(left.to_numpy(dtype=float), right.to_numpy(), equal_nan=True):
                return False
        else:
            try:
                right = contract_id_text(right, column)
            except InvalidData:
                return False
            if not (left.astype(str).to_numpy() == right.astype(str).to_numpy()).all():
                return False
    return True
