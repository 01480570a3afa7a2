"""``systrade dashboard`` served on a scenario home, driven in headless Chromium: every page
loads (HTTP 200) without console errors, its figures render, the key numbers are in the DOM
and on a screenshot, the pages refresh themselves, a password is enforced, and the stores are
not written."""
from __future__ import annotations

import base64
import subprocess
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

from tests.sysproduction.dashboard.chromium import HEADLESS_FLAGS, Browser
from tests.sysproduction.dashboard.conftest import (
    LOG_MESSAGE,
    DashboardProcess,
    store_snapshot,
)

PAGES = ("", "processes", "positions", "orders", "capital", "rolls", "prices", "activity",
         "reports", "reports/2024-01-06/pnl.html", "reports/2024-01-06/status.html")
FIGURES = {"": ["account-curve"], "capital": ["account-curve"], "positions": ["buffers"]}
TEXT = "document.body.innerText"


def _figure_sizes(browser: Browser) -> list[list[float]]:
    """Per ``img`` on the page: natural width and height (decoded image) and rendered width
    and height (layout)."""
    return browser.evaluate(
        "Array.from(document.images).map(i => [i.id, i.naturalWidth, i.naturalHeight, "
        "i.getBoundingClientRect().width, i.getBoundingClientRect().height])")


def test_every_page_loads_without_console_errors_and_figures_render(served, chromium,
                                                                     tmp_path):
    server, _ = served
    with Browser(tmp_path / "profile") as browser:
        for page in PAGES:
            visit = browser.visit(server.url + page)
            assert visit.status == 200, page
            assert visit.errors == [], (page, visit.errors)
            sizes = {s[0]: s[1:] for s in _figure_sizes(browser)}
            for figure in FIGURES.get(page, []):
                assert figure in sizes, (page, sizes)
                assert min(sizes[figure]) > 50, (page, figure, sizes[figure])
        # the report's own embedded PNG plots render too
        browser.visit(server.url + "reports/2024-01-06/pnl.html")
        assert [s for s in _figure_sizes(browser) if min(s[1:]) > 50]


def test_key_numbers_are_in_the_pages_and_on_the_screenshot(served, chromium, tmp_path):
    server, _ = served
    with Browser(tmp_path / "profile", width=1280, height=900) as browser:
        overview = browser.visit(server.url)
        assert overview.errors == []
        tiles = {name: browser.evaluate(f"document.getElementById('tile-{name}').innerText")
                 for name in ("capital", "breaks", "orders", "crashed", "alerts")}
        assert "102,800.00 USD" in tiles["capital"]  # 100,000 + accumulated p&l 2,800
        # ours vs broker (who holds nothing): CORN 202403 -1, GILT 202403 2; GILT 1 vs 2
        assert tiles["breaks"].split()[-1] == "3"
        assert tiles["orders"].split()[-1] == "1"
        assert "run_stack_handler" in tiles["crashed"]
        assert tiles["alerts"].split()[-1] == "1"
        assert browser.evaluate("document.querySelector('meta[http-equiv=refresh]')"
                                ".content") == "600"
        shot = browser.screenshot(tmp_path / "overview.png")
        box = browser.evaluate("(() => { const r = document.getElementById('tile-capital')"
                               ".getBoundingClientRect(); return [r.x, r.y, r.width, "
                               "r.height]; })()")

        browser.visit(server.url + "positions")
        text = browser.evaluate(TEXT)
        assert "Breaks: 3" in text
        assert browser.evaluate("document.getElementById('break-count').innerText") == "3"
        gilt = browser.evaluate("Array.from(document.querySelectorAll('#positions tr'))"
                                ".filter(r => r.cells[0].innerText == 'GILT')"
                                ".map(r => [r.className, r.innerText])[0]")
        assert gilt[0] == "bad" and "s1: 1" in gilt[1] and "202403: 2" in gilt[1]
        assert "broker positions not read" not in text

        browser.visit(server.url + "orders")
        assert "GILT" in browser.evaluate("document.getElementById('orders-instrument')"
                                          ".innerText")
        browser.visit(server.url + "capital")
        assert "102,800.00" in browser.evaluate("document.getElementById('capital').innerText")
        browser.visit(server.url + "rolls")
        rolls = browser.evaluate(TEXT)
        assert "Passive" in rolls and "20240500" in rolls
        browser.visit(server.url + "prices")
        assert "2024-01-05" in browser.evaluate(TEXT)
        browser.visit(server.url + "activity")
        activity = browser.evaluate(TEXT)
        assert "Price spike in CORN" in activity and LOG_MESSAGE in activity
        browser.visit(server.url + "reports")
        assert browser.evaluate("Array.from(document.links).map(a => a.pathname)"
                                ".includes('/reports/2024-01-06/pnl.html')")

    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (900, 1280)
    assert image.std() > 10  # not blank
    x, y, w, h = (int(v) for v in box)
    tile = image[y:y + h, x:x + w]
    assert w > 50 and h > 20 and tile.std() > 10  # the capital tile's text is drawn


def test_dump_dom_of_the_overview_holds_the_key_numbers(served, chromium, tmp_path):
    server, _ = served
    result = subprocess.run([chromium, *HEADLESS_FLAGS, f"--user-data-dir={tmp_path}",
                             "--dump-dom", server.url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "102,800.00 USD" in dom
    assert 'id="account-curve"' in dom and "data:image/svg+xml;base64," in dom


def test_a_password_is_required_and_pages_refresh_themselves(home, chromium, tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text("correct horse\n")
    server = DashboardProcess(home, "--password-file", str(password_file), "--refresh", "5")
    try:
        assert "password required" in server.first_line

        def status(credentials: str | None) -> int:
            request = urllib.request.Request(server.url + "capital")
            if credentials is not None:
                token = base64.b64encode(credentials.encode()).decode()
                request.add_header("Authorization", f"Basic {token}")
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return answer.status
            except urllib.error.HTTPError as exc:
                if credentials is None:
                    assert "Basic" in exc.headers["WWW-Authenticate"]
                return exc.code

        assert status(None) == 401
        assert status("systrade:wrong") == 401
        assert status("someone:correct horse") == 401
        assert status("systrade:correct horse") == 200
        with Browser(tmp_path / "profile") as browser:
            token = base64.b64encode(b"systrade:correct horse").decode()
            browser.set_headers({"Authorization": f"Basic {token}"})
            first = browser.visit(server.url)
            assert first.status == 200 and first.errors == []
            again = browser.wait_reload(timeout=60)  # the meta refresh, 5 s
            assert again.status == 200 and again.errors == []
    finally:
        assert server.stop() == 0


def test_the_dashboard_never_writes_to_the_stores(served, home):
    """Runs after the browser tests of this module (file order): every page has been read."""
    server, before = served
    with urllib.request.urlopen(server.url + "positions", timeout=60) as answer:
        assert answer.status == 200
    assert server.stop() == 0  # SIGTERM: a clean stop, stores closed
    assert store_snapshot(home) == before
