"""Render a :class:`~sysproduction.reporting.report.Report` to plain text or to one
self-contained HTML page (tables as HTML tables, figures as embedded PNG)."""
from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from sysproduction.reporting.report import (  # noqa: E402
    FigureSection,
    Report,
    TableSection,
    TextSection,
)


def _header(report: Report) -> str:
    return f"{report.title}  ({report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC)"


def cash_number(value: float) -> str:
    """Two decimals with thousands separators: ``1,250.50``."""
    return f"{value:,.2f}"


def points_number(value: float) -> str:
    """As many decimals as the number has, 2 to 6, thousands separators: ``0.005``,
    ``4,686.375``, ``0.12`` (price points: half a tick is not rounded away)."""
    text = f"{value:,.6f}"
    if "." not in text:  # nan, inf
        return text
    whole, decimals = text.split(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def _formatters(section: TableSection) -> dict:
    return {column: points_number for column in section.points_columns
            if column in section.table.columns
            and pd.api.types.is_float_dtype(section.table[column])}


def _table_text(section: TableSection) -> str:
    table = section.table
    if table.empty:
        return "(none)"
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.float_format", cash_number):
        return table.to_string(formatters=_formatters(section))


def to_text(report: Report) -> str:
    lines = [_header(report), "=" * len(_header(report)), ""]
    for section in report.sections:
        lines += [section.title, "-" * len(section.title)]
        if isinstance(section, TableSection):
            lines.append(_table_text(section))
            if section.note:
                lines.append(section.note)
        elif isinstance(section, TextSection):
            lines.append(section.text)
        elif isinstance(section, FigureSection):
            lines.append(f"[figure: {section.note or section.title}; see the HTML report]")
        lines.append("")
    return "\n".join(lines)


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def to_html(report: Report) -> str:
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
             f"<title>{html.escape(report.title)}</title>",
             "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:2px 6px;text-align:right}</style>",
             "</head><body>", f"<h1>{html.escape(_header(report))}</h1>"]
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if isinstance(section, TableSection):
            if section.table.empty:
                parts.append("<p>(none)</p>")
            else:
                parts.append(section.table.to_html(float_format=cash_number,
                                                   formatters=_formatters(section), border=0))
            if section.note:
                parts.append(f"<p>{html.escape(section.note)}</p>")
        elif isinstance(section, TextSection):
            parts.append(f"<pre>{html.escape(section.text)}</pre>")
        elif isinstance(section, FigureSection):
            encoded = base64.b64encode(figure_png(section.figure)).decode("ascii")
            parts.append(f"<img alt='{html.escape(section.title)}' "
                         f"src='data:image/png;base64,{encoded}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
