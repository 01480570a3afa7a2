"""The EXO viewer: one self-contained HTML page of every EXO, to check backfills at a glance.

For each EXO: its series (cumulative P&L, account currency) with rollover days marked, its
SmartEXO regime when it has one, delta, and its current legs; a summary table on top (rows,
first and last day, last value, days since the last row). Figures are PNGs embedded in the page
(matplotlib, no network needed to view it).
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path

import pandas as pd

from sysexo.backfill import MAX_AGE_DAYS, MIN_ROWS, ExoStore, backfill_problem
from sysexo.settings import ExoSettings


def _figure(name: str, frame: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_regime = frame["regime"].notna().any()
    rows = 3 if has_regime else 2
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.2 * rows), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1, 1][:rows]})
    index = frame.index.tz_convert(None)
    axes[0].plot(index, frame["exo"], linewidth=1.0, color="#1f4e79")
    rolls = frame.index[frame["rollover"] > 0].tz_convert(None)
    for day in rolls:
        axes[0].axvline(day, color="#c55a11", linewidth=0.6, alpha=0.6)
    axes[0].set_title(f"{name}  (orange: rollovers)", fontsize=10)
    axes[0].set_ylabel("P&L")
    axes[1].plot(index, frame["delta"], linewidth=0.8, color="#548235")
    axes[1].set_ylabel("delta")
    if has_regime:
        axes[2].step(index, frame["regime"], where="post", linewidth=0.8, color="#7030a0")
        axes[2].set_ylabel("regime")
        axes[2].set_yticks([-1, 0, 1])
    for axis in axes:
        axis.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def render_viewer(store: ExoStore, settings: ExoSettings, today: dt.date) -> str:
    """The page's HTML."""
    sections, summary = [], []
    for definition in settings.ordered_exos():
        frame = store.series(definition.name)
        state, last_day = store.load(definition.name)
        name = html.escape(definition.name)
        if frame.empty:
            summary.append(f"<tr><td>{name}</td><td>{html.escape(definition.kind)}</td>"
                           f"<td>0</td><td colspan=4 class=warn>not backfilled</td></tr>")
            continue
        age = (today - frame.index[-1].date()).days
        stale = " class=warn" if backfill_problem(frame, today) else ""
        summary.append(
            f"<tr><td><a href='#{name}'>{name}</a></td><td>{html.escape(definition.kind)}</td>"
            f"<td{stale}>{len(frame)}</td><td>{frame.index[0]:%Y-%m-%d}</td>"
            f"<td>{frame.index[-1]:%Y-%m-%d}</td><td>{frame['exo'].iloc[-1]:,.2f}</td>"
            f"<td{stale}>{age}</td></tr>")
        legs = "".join(f"<li>{html.escape(str(i))}: {q:+g} @ {e:,.4g}</li>"
                       for i, (q, e) in state.position.legs.items()) or "<li>flat</li>"
        sections.append(
            f"<section id='{name}'><h2>{name}</h2>"
            f"<img alt='{name}' src='data:image/png;base64,{_figure(definition.name, frame)}'>"
            f"<p>position after {last_day}:</p><ul>{legs}</ul></section>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>EXO viewer</title>"
            "<style>body{font-family:sans-serif;margin:1.5em}td,th{padding:2px 8px;"
            "text-align:right}td:first-child,th:first-child{text-align:left}"
            ".warn{color:#c00;font-weight:bold}img{max-width:100%}</style></head><body>"
            f"<h1>EXO viewer</h1><p>as of {today}; red: fewer than {MIN_ROWS} rows or more "
            f"than {MAX_AGE_DAYS} days old</p><table><tr><th>EXO</th><th>kind</th><th>rows</th><th>first</th>"
            "<th>last</th><th>last value</th><th>days old</th></tr>"
            + "".join(summary) + "</table>" + "".join(sections) + "</body></html>")


def write_viewer(store: ExoStore, settings: ExoSettings, today: dt.date, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_viewer(store, settings, today), encoding="utf-8")
    tmp.replace(path)
    return path
