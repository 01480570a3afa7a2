"""Drive Debian's headless Chromium through the DevTools protocol (websocket-client).

:class:`Browser` starts ``chromium --headless --disable-gpu --no-sandbox`` with a free
remote-debugging port, attaches to its page and offers :meth:`Browser.visit` (navigate, wait for
the load event, collect the document's HTTP status and every console error, uncaught exception
and browser log error), :meth:`Browser.evaluate` and :meth:`Browser.screenshot`. Every wait is
bounded by a deadline on a condition (a protocol message), never a sleep.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = "chromium"
HEADLESS_FLAGS = ("--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                  "--no-default-browser-check", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--metrics-recording-only", "--mute-audio",
                  "--hide-scrollbars")


def chromium_path() -> str | None:
    return shutil.which(CHROMIUM)


@dataclass
class Visit:
    """What one page load gave: the document's HTTP ``status`` and the ``errors`` (console
    errors, uncaught exceptions, browser log errors such as a refused resource), as text."""

    url: str
    status: int | None = None
    errors: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium with one page (use as a context manager)."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 1000,
                 timeout: float = 60.0):
        self.timeout = timeout
        self.profile = Path(profile)
        self.profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [chromium_path() or CHROMIUM, *HEADLESS_FLAGS, "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            port = self._devtools_port()
            self.socket = websocket.create_connection(self._page_socket(port),
                                                      timeout=timeout, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": False})
        except BaseException:
            self.close()
            raise

    # --- start-up ---------------------------------------------------------------------------
    def _deadline_passed(self, deadline: float, what: str) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"chromium: {what} not seen within {self.timeout} s")
        if self.process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {self.process.returncode}")

    def _devtools_port(self) -> int:
        """The port Chromium writes to ``DevToolsActivePort`` in its profile once listening."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while True:
            if marker.exists():
                lines = marker.read_text().splitlines()
                if lines and lines[0].strip().isdigit():
                    return int(lines[0])
            self._deadline_passed(deadline, "DevToolsActivePort")
            # the file appears once Chromium listens: wait on the process, not a sleep
            try:
                self.process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass

    def _page_socket(self, port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                    timeout=self.timeout) as answer:
            targets = json.load(answer)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise RuntimeError("chromium has no page target")
        return pages[0]["webSocketDebuggerUrl"]

    # --- protocol ---------------------------------------------------------------------------
    def _receive(self, deadline: float) -> dict[str, Any]:
        self._deadline_passed(deadline, "a DevTools message")
        self.socket.settimeout(max(0.1, deadline - time.monotonic()))
        return json.loads(self.socket.recv())

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``method``; its result (events received meanwhile are kept)."""
        self._next_id += 1
        ident = self._next_id
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def _wait_event(self, method: str, deadline: float) -> dict[str, Any]:
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == method:
                    return self._events.pop(index)
            message = self._receive(deadline)
            if "method" in message:
                self._events.append(message)

    # --- use --------------------------------------------------------------------------------
    def set_headers(self, headers: dict[str, str]) -> None:
        """Send these HTTP headers with every request (e.g. ``Authorization``)."""
        self.send("Network.setExtraHTTPHeaders", {"headers": headers})

    def visit(self, url: str) -> Visit:
        """Load ``url``, wait for its load event, and report status and errors."""
        self._events.clear()
        visit = Visit(url)
        self.send("Page.navigate", {"url": url})
        self._wait_event("Page.loadEventFired", time.monotonic() + self.timeout)
        # the errors of this load are the events received so far; a marker round trip makes
        # sure every event Chromium sent before it has arrived
        self.evaluate("1")
        self._collect(visit)
        return visit

    def wait_reload(self, timeout: float) -> Visit:
        """Wait (at most ``timeout`` s) for the page to load again by itself (meta refresh)."""
        visit = Visit("(reload)")
        self._wait_event("Page.loadEventFired", time.monotonic() + timeout)
        self.evaluate("1")
        self._collect(visit)
        return visit

    def _collect(self, visit: Visit) -> None:
        for event in self._events:
            params = event.get("params", {})
            method = event["method"]
            if method == "Network.responseReceived" and params.get("type") == "Document":
                visit.status = int(params["response"]["status"])
            elif method == "Runtime.exceptionThrown":
                visit.errors.append("exception: " + json.dumps(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error",
                                                                                   "assert"):
                visit.errors.append("console: " + json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                visit.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        self._events.clear()

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value)."""
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """A PNG of the viewport written to ``path``."""
        answer = self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(answer["data"]))
        return path

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
