"""Migration in: load pysystemtrade's CSV layout into the stores.

``import_pysystemtrade_csv(source_dir)`` loads whatever of the layout it finds: instrument
configs (older ``instrumentconfig.csv`` with ``Slippage`` or newer with ``spreadcosts.csv``),
roll configs, multiple and adjusted prices, spot FX, roll calendars and the IB mapping. Each file
is validated completely before anything is written from it; a bad file is rejected with its
reason and the rest goes on. Prices of an instrument that is neither configured in the store nor
in the source's ``csvconfig`` are rejected as an unknown instrument.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from syscore.exceptions import InvalidData, MissingData
from sysdata.csv import pysystemtrade_layout as layout
from sysdata.data_blob import DataBlob
from sysproduction.process_helpers import blob_for

log = logging.getLogger("systrade.sysinit.import")


@dataclass
class ImportReport:
    """What was loaded and what was rejected, per instrument (or FX code)."""

    loaded: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    rejected: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add_loaded(self, code: str, what: str) -> None:
        self.loaded[code].append(what)

    def add_rejected(self, code: str, reason: str) -> None:
        self.rejected[code].append(reason)
        log.warning("rejected %s: %s", code, reason)

    def render(self) -> str:
        lines = []
        for code in sorted(set(self.loaded) | set(self.rejected) | set(self.notes)):
            parts = []
            if self.loaded.get(code):
                parts.append("loaded " + ", ".join(self.loaded[code]))
            if self.notes.get(code):
                parts.append("notes: " + "; ".join(self.notes[code]))
            if self.rejected.get(code):
                parts.append("REJECTED " + "; ".join(self.rejected[code]))
            lines.append(f"{code}: " + " | ".join(parts))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def import_pysystemtrade_csv(source_dir: str, overwrite: bool = False,
                             data: DataBlob | None = None) -> ImportReport:
    """Load a pysystemtrade CSV directory into the stores and report per instrument. Price
    series already stored are not replaced unless ``overwrite`` (configs are always updated)."""
    source = Path(source_dir).expanduser()
    if not source.is_dir():
        raise InvalidData(f"source directory not found: {source}")
    with blob_for(data, "import_pysystemtrade_csv") as blob:
        report = ImportReport()
        _import_configs(source, blob, report)
        _import_prices(source, blob, report, overwrite)
        log.info("import from %s finished:\n%s", source, report.render())
        return report


def _import_configs(source: Path, data: DataBlob, report: ImportReport) -> None:
    config_dir = source / layout.CONFIG_DIR
    if (config_dir / "instrumentconfig.csv").exists():
        configs, rejected = layout.read_instrument_config(config_dir)
        data.instruments.add_many(configs)
        _record(report, "instrument config", [c.instrument_code for c in configs], rejected)
    if (config_dir / "rollconfig.csv").exists():
        loaded, rejected, notes = layout.read_roll_config(config_dir)
        for code, parameters in loaded.items():
            data.roll_parameters.add(code, parameters)
        _record(report, "roll config", list(loaded), rejected)
        for item in notes:
            report.notes[item.code].append(item.reason)
    ib_dir = layout.find_ib_dir(source)
    if ib_dir is not None:
        if (ib_dir / "ib_config_futures.csv").exists():
            configs, rejected = layout.read_ib_futures_config(ib_dir)
            data.broker_config.add_ib_futures(configs)
            _record(report, "IB mapping", [c.instrument_code for c in configs], rejected)
        if (ib_dir / "ib_config_spot_FX.csv").exists():
            pairs, rejected = layout.read_fx_config(ib_dir)
            data.broker_config.add_fx_pairs(pairs)
            _record(report, "FX config", [p.code for p in pairs], rejected)


def _record(report: ImportReport, what: str, loaded: list[str],
            rejected: list[layout.Rejected]) -> None:
    for code in loaded:
        report.add_loaded(code, what)
    for item in rejected:
        report.add_rejected(item.code, item.reason)


def _import_prices(source: Path, data: DataBlob, report: ImportReport,
                   overwrite: bool = False) -> None:
    families = [
        (layout.MULTIPLE_DIR, "multiple prices", layout.read_multiple_prices, data.multiple_prices),
        (layout.ADJUSTED_DIR, "adjusted prices", layout.read_adjusted_prices, data.adjusted_prices),
        (layout.ROLL_CALENDAR_DIR, "roll calendar", layout.read_roll_calendar, data.roll_calendars),
    ]
    for directory, what, reader, target in families:
        for code in layout.codes_in(source / directory):
            if not data.instruments.has(code):
                report.add_rejected(code, f"{what}: unknown instrument {code!r} (no instrument config)")
                continue
            if target.has(code) and not overwrite:
                report.add_rejected(code, f"{what}: already stored; not replaced (overwrite=true "
                                          "replaces it)")
                continue
            try:
                frame = reader(source / directory / f"{code}.csv")
                target.write(code, frame)
            except (InvalidData, MissingData) as exc:
                report.add_rejected(code, f"{what}: {exc}")
                continue
            report.add_loaded(code, f"{what} ({len(frame)} rows)")
    for code in layout.codes_in(source / layout.FX_DIR):
        if data.fx_prices.has(code) and not overwrite:
            report.add_rejected(code, "FX prices: already stored; not replaced (overwrite=true "
                                      "replaces them)")
            continue
        try:
            frame = layout.read_fx_prices(source / layout.FX_DIR / f"{code}.csv")
            data.fx_prices.write(code, frame)
        except InvalidData as exc:
            report.add_rejected(code, f"FX prices: {exc}")
            continue
        report.add_loaded(code, f"FX prices ({len(frame)} rows)")
