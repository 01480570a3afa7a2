"""The dashboard's plots: matplotlib figures (Agg, no pyplot: safe in a server thread) rendered
to SVG and embedded in the page as ``data:`` URIs, so a page needs no JavaScript, no other
request and no network."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

SIZE = (7.0, 3.0)  # inches


def svg_data_uri(figure: Figure) -> str:
    """``data:image/svg+xml;base64,...`` of ``figure``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def account_curve_figure(curve: pd.Series, currency: str) -> Figure:
    """Accumulated p&l per UTC day (``curve``: the account-curve report's series)."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    axes.plot(curve.index, curve.values, marker="o" if len(curve) < 30 else None)
    axes.axhline(0.0, color="grey", linewidth=0.5)
    axes.set_title("Account curve (accumulated p&l)")
    axes.set_ylabel(currency)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return figure


def buffers_figure(optimal: pd.DataFrame) -> Figure:
    """Per strategy/instrument the buffer (lower..upper) as a bar and the actual position as a
    dot (``optimal``: the reconcile report's optimal-vs-actual table)."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    labels = [f"{s}/{i}" for s, i in zip(optimal["strategy"], optimal["instrument"],
                                         strict=True)]
    x = list(range(len(labels)))
    axes.vlines(x, optimal["lower"], optimal["upper"], linewidth=10, alpha=0.4,
                label="buffer")
    colours = ["red" if out else "black" for out in optimal["outside_buffer"]]
    axes.scatter(x, optimal["actual"], color=colours, zorder=3, label="actual (red: outside)")
    axes.set_xticks(x, labels)
    axes.set_xlim(-0.5, len(x) - 0.5)
    axes.set_ylabel("contracts")
    axes.set_title("Positions vs buffers")
    axes.legend()
    return figure
