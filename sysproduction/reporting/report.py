"""The report objects: a :class:`Report` is a title, a period and titled sections; a section holds
a table (DataFrame), text, or a figure (a matplotlib Figure, rendered by the renderers).

Times are tz-aware UTC. Reports are built once and not changed (frozen dataclasses)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class TableSection:
    """``points_columns``: columns in price points (prices, spreads, slippage), shown with as
    many decimals as they have, 2 to 6 (``0.005``, ``4,686.375``: half a tick is not rounded
    away); every other number is shown with two decimals (``1,250.50``)."""

    title: str
    table: pd.DataFrame
    note: str = ""
    points_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextSection:
    title: str
    text: str


@dataclass(frozen=True)
class FigureSection:
    """``figure``: a matplotlib Figure (built with the Agg backend); the text renderer prints
    ``note`` in its place."""

    title: str
    figure: Any
    note: str = ""


Section = TableSection | TextSection | FigureSection


@dataclass(frozen=True)
class Report:
    """``name``: the registry name; ``start``/``end``: the period covered (UTC)."""

    name: str
    title: str
    start: pd.Timestamp
    end: pd.Timestamp
    sections: tuple[Section, ...]

    def section(self, title: str) -> Section:
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(f"report {self.name} has no section {title!r}")

    def table(self, title: str) -> pd.DataFrame:
        section = self.section(title)
        if not isinstance(section, TableSection):
            raise KeyError(f"section {title!r} of report {self.name} is not a table")
        return section.table

    @property
    def figures(self) -> list[FigureSection]:
        return [s for s in self.sections if isinstance(s, FigureSection)]
