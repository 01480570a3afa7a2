"""The dashboard's Flask application: read-only pages over one data blob.

Only GET (and HEAD) routes exist: nothing here can change the home. Pages reload themselves
every ``refresh_seconds`` (an HTML meta refresh: no JavaScript). Every response forbids scripts
and outside resources (Content-Security-Policy), framing and caching. With a password, every
request (pages, style sheet, report files) needs HTTP basic authentication; without it the
answer is 401.

Every read of the blob runs on one thread of its own (a single-worker executor), whatever
server thread answers the request: some connections (the simulated broker's SQLite book) may
only be used by the thread that opened them, and the stores' objects are not all safe to build
from two threads at once. Reads are therefore serialised; a page reads in well under a second.
"""
from __future__ import annotations

import hmac
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from flask import Flask, Response, abort, render_template, request, send_file
from jinja2 import Undefined

from sysproduction.dashboard import panels
from sysproduction.dashboard.figures import account_curve_figure, buffers_figure, svg_data_uri
from sysproduction.dashboard.panels import DashboardSettings, PanelError

#: (endpoint, title) of the pages, in the navigation bar's order
PAGES = (("overview", "Overview"), ("processes", "Processes"), ("positions", "Positions"),
         ("orders", "Orders"), ("capital", "Capital"), ("rolls", "Rolls"),
         ("prices", "Prices"), ("activity", "Alerts & logs"), ("reports", "Reports"))

PAGE_POLICY = ("default-src 'none'; img-src 'self' data:; style-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: report files (run_reports' HTML) carry their own inline style and embedded PNG figures
REPORT_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
REALM = "systrade dashboard"


def _table(frame: Any, index: bool = True) -> str:
    """An HTML table of a DataFrame (cells escaped; floats with two decimals; NaN as -)."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if frame.empty:
        return "<p class='none'>(none)</p>"
    text = frame.to_html(float_format="{:,.2f}".format, border=0, na_rep="-", index=index,
                         classes="grid")
    return text.replace(' style="text-align: right;"', "")  # inline styles break the CSP


def create_app(data, settings: DashboardSettings, user: str = "systrade",
               password: str | None = None, reader: ThreadPoolExecutor | None = None) -> Flask:
    """The application over ``data`` (a :class:`~sysdata.data_blob.DataBlob`, kept open by
    the caller). ``password``: require HTTP basic authentication as ``user``. ``reader``: the
    single-worker executor every read runs on (default: a new one, shut down by the caller
    through ``app.extensions["systrade_reader"]``)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 0  # nothing is ever posted
    reader = reader or ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-read")
    app.extensions["systrade_reader"] = reader
    base = data.config.base_currency

    # the filters show a value they cannot read as it is: one bad stored document (a log
    # record, a process record) must not turn the whole page into a 500
    @app.template_filter("money")
    def _money(value) -> str:
        if value is None:
            return "-"
        try:
            return f"{float(value):,.2f}"
        except (TypeError, ValueError):
            return str(value)

    @app.template_filter("when")
    def _when(value) -> str:
        if value is None or value == "" or isinstance(value, Undefined):
            return "-"
        try:
            return f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"
        except (TypeError, ValueError):
            return str(value)

    app.jinja_env.globals.update(table=_table, PanelError=PanelError, pages=PAGES,
                                 refresh=settings.refresh_seconds, base=base,
                                 is_error=lambda v: isinstance(v, PanelError))

    @app.before_request
    def _authenticate():
        if password is None:
            return None
        given = request.authorization
        if (given is not None and given.type == "basic"
                and hmac.compare_digest((given.username or "").encode(), user.encode())
                and hmac.compare_digest((given.password or "").encode(), password.encode())):
            return None
        return Response("authentication required\n", 401,
                        {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
                        mimetype="text/plain")

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def read(page) -> dict[str, Any]:
        return reader.submit(page, data, settings).result()

    def figure(name: str, build) -> str | PanelError:
        # drawn on the reader thread too: matplotlib does not promise thread safety
        return reader.submit(panels.panel, name, lambda: svg_data_uri(build())).result()

    def curve_svg(curve) -> str | PanelError | None:
        """The account curve drawn (overview and capital pages); None when there is none."""
        if not isinstance(curve, pd.Series) or curve.empty:
            return None
        return figure("account curve", lambda: account_curve_figure(curve, base))

    @app.get("/")
    def overview():
        view = read(panels.overview)
        view["curve_svg"] = curve_svg(view["curve"])
        return render_template("overview.html", page="overview", **view)

    @app.get("/processes")
    def processes():
        return render_template("processes.html", page="processes", **read(panels.processes))

    @app.get("/positions")
    def positions():
        view = read(panels.positions)
        optimal = view["optimal"]
        view["buffers_svg"] = (figure("buffers", lambda: buffers_figure(optimal))
                               if isinstance(optimal, pd.DataFrame) and not optimal.empty
                               else None)
        return render_template("positions.html", page="positions", **view)

    @app.get("/orders")
    def orders():
        return render_template("orders.html", page="orders", **read(panels.orders))

    @app.get("/capital")
    def capital():
        view = read(panels.capital)
        view["curve_svg"] = curve_svg(view["curve"])
        return render_template("capital.html", page="capital", **view)

    @app.get("/rolls")
    def rolls():
        return render_template("rolls.html", page="rolls", **read(panels.rolls))

    @app.get("/prices")
    def prices():
        return render_template("prices.html", page="prices", **read(panels.prices))

    @app.get("/activity")
    def activity():
        return render_template("activity.html", page="activity", **read(panels.activity))

    @app.get("/reports")
    def reports():
        now = reader.submit(data.now).result()
        return render_template("reports.html", page="reports", now=now,
                               folders=panels.report_files(data.home))

    @app.get("/reports/<date>/<name>")
    def report_file(date: str, name: str):
        path = panels.report_path(data.home, date, name)
        if path is None:
            abort(404)
        response = send_file(path, max_age=0)
        response.headers["Content-Security-Policy"] = REPORT_POLICY
        return response

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    return app
