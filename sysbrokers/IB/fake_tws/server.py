"""The fake TWS server: asyncio TCP on 127.0.0.1, backed by the simulated market and broker.

One :class:`FakeTws` serves any number of API clients. Everything (sockets, the market, the
broker) runs on one event loop; :class:`FakeTwsThread` runs that loop in a background thread for
tests and callers that are not asynchronous, and creates the broker *on that thread* (the
simulated broker's SQLite connection is not shared between threads).

What a connection goes through (server version 178, see ``docs/ib.md``):

1. the client sends ``API\\0`` and the framed ``v157..178``; the server answers
   ``[178, connection time]`` (nothing may precede it);
2. the client sends startApi ``[71, 2, clientId, optCapab]``; a client id already connected gets
   error 326 and the socket is closed; otherwise the server sends managedAccounts, nextValidId
   and the farm-status messages 2104/2106/2158 (reqId -1);
3. requests are answered from the dispatch table :attr:`FakeTws.HANDLERS`; unsupported request
   ids are logged and ignored (as TWS ignores what it does not understand).

Faults are scripted with :meth:`FakeTws.fail_next` (one-shot error for the next request of a
message id), :meth:`FakeTws.broadcast_error` (1100/1101/1102, farm codes) and
:meth:`FakeTws.drop_connections` (hard socket drop).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sysbrokers.broker import Broker
from sysbrokers.errors import UnknownContract
from sysbrokers.IB.fake_tws import messages as m
from sysbrokers.IB.fake_tws.catalogue import Catalogue, ContractQuery
from sysbrokers.IB.fake_tws.history import (
    BAR_SIZES,
    HistoryRequestError,
    bars_for,
    parse_duration,
    parse_end,
    window_text,
)
from sysbrokers.IB.fake_tws.messages import In
from sysbrokers.IB.fake_tws.orders import OrderDesk
from sysbrokers.IB.fake_tws.quotes import quote_now
from sysbrokers.IB.fake_tws.wire import (
    API_PREFIX,
    CLIENT_MIN_VERSION,
    MAX_FRAME,
    SERVER_VERSION,
    ProtocolError,
    decode_payload,
    encode_message,
    parse_version_range,
)
from sysbrokers.sim.market import MarketModel
from syscore.clock import Clock

log = logging.getLogger(__name__)

ERR_CLIENT_ID_IN_USE = 326
ERR_HMDS = 162
ERR_VALIDATION = 321
FARM_OK_CODES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
ACCOUNT_SUMMARY_TAGS = (
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "BuyingPower",
    "AvailableFunds",
    "ExcessLiquidity",
    "InitMarginReq",
    "MaintMarginReq",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "UnrealizedPnL",
)


@dataclass(frozen=True)
class HistoryPacing:
    """IB's historical-data pacing, enforced by the fake (real seconds; scale the window down
    for tests and benchmarks): at most ``max_requests`` requests in any ``window_seconds``,
    identical requests (same contract, end, duration, bar size, data type) at least
    ``identical_gap_seconds`` apart, counted over every client. A request that breaks a rule
    gets only error 162 "Historical data request pacing violation" and is not counted.
    ``slack_seconds`` forgives that much timing difference between the client's clock and the
    moment the request arrives (IB's own limits are not exact either)."""

    max_requests: int = 60
    window_seconds: float = 600.0
    identical_gap_seconds: float = 15.0
    slack_seconds: float = 0.05


@dataclass(frozen=True)
class FakeTwsConfig:
    """Behaviour of the fake TWS (defaults in brackets).

    * ``accounts`` [("DU1234567",)]: managed accounts; the first one holds the simulated
      broker's positions and cash;
    * ``first_order_id`` [1]: nextValidId for a client id never seen;
    * ``tws_zone`` ["UTC"]: the TWS login time zone used in intraday bar dates, execution
      times and the connection time (real TWS uses the login zone, e.g. ``US/Eastern``);
    * ``send_farm_status`` [True]: send 2104/2106/2158 after startApi, as TWS does;
    * ``poll_interval`` [0.2 s]: how often the server reports the broker's fills and order
      changes on its own (it also does after every request, and on :meth:`FakeTws.pump`);
      0 disables the timer;
    * ``history_pacing`` [None]: IB's historical-data pacing enforced (:class:`HistoryPacing`);
      None: not enforced (script 162 with :meth:`FakeTws.fail_next`).
    """

    accounts: tuple[str, ...] = ("DU1234567",)
    first_order_id: int = 1
    tws_zone: str = "UTC"
    send_farm_status: bool = True
    poll_interval: float = 0.2
    history_pacing: HistoryPacing | None = None

    def __post_init__(self) -> None:
        if not self.accounts or not all(self.accounts):
            raise ValueError("at least one non-empty account is required")


@dataclass(frozen=True)
class ScriptedError:
    code: int
    text: str


@dataclass(eq=False)
class _Session:
    """One API connection."""

    writer: asyncio.StreamWriter
    peer: str
    client_id: int | None = None
    options: str = ""
    subscribed_positions: bool = False
    subscribed_account: bool = False
    market_data_type: int = 1
    streams: dict[int, tuple[Any, Any]] = field(
        default_factory=dict
    )  # reqId -> (listing, last quote)
    split_chunk: int = 0  # > 0: write frames in pieces of this many bytes (fault injection)
    _backlog: deque[bytes] = field(default_factory=deque)
    _flusher: asyncio.Task | None = None

    def send(self, fields: list[object]) -> None:
        if self.writer.is_closing():
            return
        data = encode_message(fields)
        if not self.split_chunk and not self._backlog:
            self.writer.write(data)
            return
        size = self.split_chunk or len(data)
        self._backlog.extend(data[i : i + size] for i in range(0, len(data), size))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Write queued pieces one by one, yielding between them so they leave separately."""
        while self._backlog and not self.writer.is_closing():
            self.writer.write(self._backlog.popleft())
            await self.writer.drain()
            await asyncio.sleep(0.001)


@dataclass
class ReceivedMessage:
    """One message received by the server (for assertions in tests)."""

    client_id: int | None
    fields: tuple[str, ...]

    @property
    def msg_id(self) -> int:
        return int(self.fields[0]) if self.fields and self.fields[0].isdigit() else -1


class FakeTws:
    """A TWS API server on the simulated market (see the module docstring).

    ``broker`` answers positions and account values (orders come later); it may be ``None``
    for a data-only server (positions empty, account values absent).
    """

    def __init__(
        self,
        market: MarketModel,
        clock: Clock,
        broker: Broker | None = None,
        config: FakeTwsConfig | None = None,
    ):
        self.market = market
        self.clock = clock
        self.broker = broker
        self.config = config if config is not None else FakeTwsConfig()
        self.catalogue = Catalogue(market)
        self.received: deque[ReceivedMessage] = deque(maxlen=10_000)
        self._sessions: set[_Session] = set()
        self._clients: dict[int, _Session] = {}
        self._next_order_id: dict[int, int] = {}
        self._scripted: dict[int, deque[ScriptedError]] = {}
        self._server: asyncio.base_events.Server | None = None
        self._poller: asyncio.Task | None = None
        self._sent_positions: dict[int, float] = {}
        self._stalled = False
        self._stalled_requests: deque[tuple[_Session, list[str]]] = deque()
        self._split_chunk = 0
        self.desk = OrderDesk(self)
        self._history_times: deque[float] = deque()
        self._history_last: dict[tuple[str, ...], float] = {}
        self.history_requests = 0  # historical-data requests answered (not refused for pacing)
        self.pacing_violations = 0  # refused with 162 for pacing
        self.port: int | None = None

    # ================================================================= lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0 = ephemeral) and return the bound port."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("fake TWS listening on %s:%s", host, self.port)
        if self.config.poll_interval > 0 and self.broker is not None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        return self.port

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval)
            try:
                self.pump()
            except Exception:  # a broken poll must not kill the server
                log.exception("fake TWS: pump failed")

    def pump(self) -> None:
        """Report what the broker did since the last pump (fills, status changes, positions)
        and quote changes to streaming market-data subscribers."""
        self.desk.pump()
        self._pump_quotes()

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # ================================================================= scripting
    def go_down(self) -> None:
        """The Gateway is gone: stop listening (a reconnect is refused) and drop every client,
        until the server is stopped."""
        if self._server is not None:
            self._server.close()
        self.drop_connections()

    def fail_next(self, msg_id: int, code: int, text: str) -> None:
        """The next request with message id ``msg_id`` is answered by error ``code`` only."""
        self._scripted.setdefault(msg_id, deque()).append(ScriptedError(code, text))

    def commission_before_execution(self, on: bool = True) -> None:
        """Send each later fill's commission report before its execDetails (TWS does not
        promise the order)."""
        self.desk.commission_first = on

    def correct_execution(self, exec_id: str, price: float | None = None,
                          shares: float | None = None) -> str:
        """IB corrects an execution: the same stem, the last part of the execId one higher
        (``....01.01`` -> ``....01.02``), the new price and/or quantity. The correction replaces
        the original in later reqExecutions answers and is pushed to the order's client with
        its commission report (0). Returns the new execId."""
        return self.desk.correct(exec_id, price, shares)

    def broadcast_error(self, code: int, text: str) -> None:
        """Send a system message (reqId -1) to every connected client, e.g. 1100 or 2103."""
        for session in list(self._clients.values()):
            session.send(m.error(-1, code, text))

    def stall(self) -> None:
        """Stop answering: requests are recorded and queued, sockets stay open."""
        self._stalled = True

    def resume(self) -> None:
        """Answer the requests queued while stalled, in order, and carry on."""
        self._stalled = False
        while self._stalled_requests:
            session, fields = self._stalled_requests.popleft()
            if session in self._sessions:
                self._handle(session, fields)

    def split_frames(self, chunk: int) -> None:
        """Write every later message in pieces of ``chunk`` bytes (0 = whole frames)."""
        self._split_chunk = chunk
        for session in self._sessions:
            session.split_chunk = chunk

    def drop_connections(self) -> None:
        """Close every client socket at once (a hard disconnect)."""
        for session in list(self._sessions):
            session.writer.transport.abort()
        self._sessions.clear()
        self._clients.clear()

    @property
    def connected_client_ids(self) -> list[int]:
        return sorted(self._clients)

    # ================================================================= connection
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername"))
        session = _Session(writer, peer, split_chunk=self._split_chunk)
        self._sessions.add(session)
        try:
            await self._handshake(reader, session)
            while True:
                fields = await _read_frame(reader)
                self._dispatch(session, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError as exc:
            log.warning("fake TWS: closing %s: %s", peer, exc)
        finally:
            self._forget(session)
            if not writer.is_closing():
                writer.close()

    async def _handshake(self, reader: asyncio.StreamReader, session: _Session) -> None:
        prefix = await reader.readexactly(len(API_PREFIX))
        if prefix != API_PREFIX:
            raise ProtocolError(f"expected {API_PREFIX!r}, got {prefix!r}")
        hello = await _read_frame(reader)
        low, high, session.options = parse_version_range(hello[0] if hello else "")
        if high < CLIENT_MIN_VERSION or low > SERVER_VERSION:
            raise ProtocolError(f"client versions {low}..{high} do not include {SERVER_VERSION}")
        version = min(high, SERVER_VERSION)
        if version < CLIENT_MIN_VERSION:
            raise ProtocolError(f"negotiated version {version} below {CLIENT_MIN_VERSION}")
        session.send([version, self._connection_time()])

    def _connection_time(self) -> str:
        zone = self.config.tws_zone
        return self.clock.now().tz_convert(zone).strftime("%Y%m%d %H:%M:%S ") + zone

    def _forget(self, session: _Session) -> None:
        self._sessions.discard(session)
        if session.client_id is not None and self._clients.get(session.client_id) is session:
            del self._clients[session.client_id]

    def _start_api(self, session: _Session, fields: list[str]) -> None:
        client_id = int(fields[2])
        if client_id in self._clients:
            session.send(
                m.error(
                    -1,
                    ERR_CLIENT_ID_IN_USE,
                    "Unable to connect as the client id is already in use. Retry with a unique client id.",
                )
            )
            session.writer.close()
            return
        session.client_id = client_id
        self._clients[client_id] = session
        session.send(m.managed_accounts(list(self.config.accounts)))
        session.send(m.next_valid_id(self._next_id(client_id)))
        if self.config.send_farm_status:
            for code, text in FARM_OK_CODES:
                session.send(m.error(-1, code, text))

    def _next_id(self, client_id: int) -> int:
        return self._next_order_id.setdefault(client_id, self.config.first_order_id)

    def next_order_id(self, client_id: int) -> int:
        """The lowest order id this client may still use."""
        return self._next_id(client_id)

    def bump_order_id(self, client_id: int, at_least: int) -> None:
        self._next_order_id[client_id] = max(self._next_id(client_id), at_least)

    def client_session(self, client_id: int) -> _Session | None:
        return self._clients.get(client_id)

    def now(self) -> pd.Timestamp:
        return self._now()

    # ================================================================= dispatch
    def _dispatch(self, session: _Session, fields: list[str]) -> None:
        self.received.append(ReceivedMessage(session.client_id, tuple(fields)))
        try:
            msg_id = int(fields[0])
        except (IndexError, ValueError):
            raise ProtocolError(f"bad message id in {fields[:3]!r}") from None
        if msg_id == In.START_API:
            if session.client_id is None:
                self._start_api(session, fields)
            return
        if session.client_id is None:
            raise ProtocolError(f"request {msg_id} before startApi")
        if self._stalled:
            self._stalled_requests.append((session, fields))
            return
        self._handle(session, fields)

    def _handle(self, session: _Session, fields: list[str]) -> None:
        msg_id = int(fields[0])
        scripted = self._scripted.get(msg_id)
        if scripted:
            fault = scripted.popleft()
            session.send(m.error(_request_id(msg_id, fields), fault.code, fault.text))
            return
        handler = self.HANDLERS.get(msg_id)
        if handler is None:
            log.info("fake TWS: ignoring unsupported request %s", fields[:3])
            return
        try:
            handler(self, session, fields)
            if msg_id in _PUMP_AFTER:
                self.pump()
        except (IndexError, ValueError) as exc:
            log.warning("fake TWS: malformed request %s: %s", fields[:4], exc)
            session.send(
                m.error(
                    _request_id(msg_id, fields),
                    ERR_VALIDATION,
                    f"Error validating request.-'bN' : cause - {exc}",
                )
            )

    # ================================================================= simple requests
    def _now(self) -> pd.Timestamp:
        return self.clock.now().tz_convert("UTC")

    def _on_current_time(self, session: _Session, fields: list[str]) -> None:
        session.send(m.current_time(int(self._now().value // 10**9)))

    def _on_req_ids(self, session: _Session, fields: list[str]) -> None:
        session.send(m.next_valid_id(self._next_id(session.client_id)))

    def _on_open_orders(self, session: _Session, fields: list[str]) -> None:
        self.desk.open_orders(session, all_clients=int(fields[0]) == In.REQ_ALL_OPEN_ORDERS)

    def _on_place_order(self, session: _Session, fields: list[str]) -> None:
        if self.broker is None:
            session.send(
                m.error(int(fields[1]), 201, "Order rejected - reason:this fake TWS has no broker")
            )
            return
        self.desk.place(session, fields)

    def _on_cancel_order(self, session: _Session, fields: list[str]) -> None:
        self.desk.cancel(session, fields)

    def _on_global_cancel(self, session: _Session, fields: list[str]) -> None:
        self.desk.global_cancel(session, fields)

    def _on_completed_orders(self, session: _Session, fields: list[str]) -> None:
        session.send(m.completed_orders_end())

    def _on_executions(self, session: _Session, fields: list[str]) -> None:
        self.pump()  # fills booked since the last pump are part of the answer
        self.desk.executions(session, fields)

    def _on_market_data_type(self, session: _Session, fields: list[str]) -> None:
        session.market_data_type = int(fields[2])

    def _ignore(self, session: _Session, fields: list[str]) -> None:
        """Cancels and subscriptions that need no answer."""

    # ================================================================= market data
    def _on_mkt_data(self, session: _Session, fields: list[str]) -> None:
        req_id = int(fields[2])
        query = ContractQuery.from_fields(fields[3:15])
        rest = fields[15:]
        if rest and rest[0] not in ("", "0"):
            rest = rest[4:]  # delta-neutral contract present
        else:
            rest = rest[1:]
        snapshot = len(rest) > 1 and rest[1] not in ("", "0")
        now_ns = self._now().value
        listings = self.catalogue.resolve(query, now_ns)
        if len(listings) != 1:
            session.send(m.no_security_definition(req_id))
            return
        listing = listings[0]
        try:
            quote = quote_now(self.market, listing, now_ns)
        except UnknownContract:
            session.send(m.no_security_definition(req_id))
            return
        details = self.catalogue.details(listing, now_ns)
        session.send(m.tick_req_params(req_id, details.min_tick, listing.contract.exchange, 3))
        session.send(m.market_data_type(req_id, 1))
        _send_quote(session, req_id, quote)
        if snapshot:
            session.send(m.tick_snapshot_end(req_id))
        else:
            session.streams[req_id] = (listing, quote)

    def _on_cancel_mkt_data(self, session: _Session, fields: list[str]) -> None:
        session.streams.pop(int(fields[2]), None)

    def _pump_quotes(self) -> None:
        now_ns = None
        for session in list(self._clients.values()):
            for req_id, (listing, last) in list(session.streams.items()):
                now_ns = self._now().value if now_ns is None else now_ns
                try:
                    quote = quote_now(self.market, listing, now_ns)
                except UnknownContract:
                    session.streams.pop(req_id, None)  # expired while streaming
                    continue
                if quote != last:
                    session.streams[req_id] = (listing, quote)
                    _send_quote(session, req_id, quote)

    # ================================================================= contracts
    def _on_contract_details(self, session: _Session, fields: list[str]) -> None:
        req_id = int(fields[2])
        query = ContractQuery.from_fields(fields[3:15], fields[15])
        now_ns = self._now().value
        listings = self.catalogue.resolve(query, now_ns)
        if not listings:
            session.send(m.no_security_definition(req_id))
            return
        for listing in listings:
            session.send(m.contract_details(req_id, self.catalogue.details(listing, now_ns)))
        session.send(m.contract_details_end(req_id))

    # ================================================================= history
    def _paced_out(self, key: tuple[str, ...]) -> bool:
        """Whether a historical-data request breaks :attr:`FakeTwsConfig.history_pacing`
        (else it is counted)."""
        pacing = self.config.history_pacing
        if pacing is None:
            self.history_requests += 1
            return False
        now = time.monotonic()
        times = self._history_times
        while times and times[0] <= now - pacing.window_seconds + pacing.slack_seconds:
            times.popleft()
        last = self._history_last.get(key)
        if len(times) >= pacing.max_requests or (
                last is not None
                and now - last < pacing.identical_gap_seconds - pacing.slack_seconds):
            self.pacing_violations += 1
            return True
        times.append(now)
        self._history_last[key] = now
        self.history_requests += 1
        return False

    def _on_historical_data(self, session: _Session, fields: list[str]) -> None:
        req_id = int(fields[1])
        if self._paced_out(tuple(fields[2:20])):
            session.send(m.error(req_id, 162, "Historical Market Data Service error message:"
                                              "Historical data request pacing violation"))
            return
        query = ContractQuery.from_fields(fields[2:14], fields[14])
        end_text, bar_size, duration, use_rth, what, fmt = fields[15:21]
        now = self._now()
        listings = self.catalogue.resolve(query, now.value)
        if len(listings) != 1:
            session.send(m.no_security_definition(req_id))
            return
        listing = listings[0]
        zone = self.config.tws_zone
        try:
            frequency = BAR_SIZES.get(bar_size.strip().lower())
            if frequency is None:
                raise HistoryRequestError(
                    ERR_VALIDATION,
                    f"Error validating request.-'bP' : cause - Invalid bar size {bar_size!r}",
                )
            wanted = "TRADES" if listing.is_future else "MIDPOINT"
            if what.upper() != wanted:
                c = listing.contract
                raise HistoryRequestError(
                    ERR_HMDS,
                    "Historical Market Data Service error message:No historical market data for "
                    f"{c.symbol}/{c.sec_type}@{c.exchange} {what}",
                )
            end = parse_end(end_text, now, zone)
            start = parse_duration(duration, end)
            bars = bars_for(
                self.market,
                listing,
                frequency,
                start,
                end,
                now,
                int(fmt or 1),
                zone,
                self.catalogue.fx_sessions,
            )
        except HistoryRequestError as exc:
            session.send(m.error(req_id, exc.code, exc.text))
            return
        if not bars:
            session.send(
                m.error(
                    req_id,
                    ERR_HMDS,
                    "Historical Market Data Service error message:HMDS query returned no data",
                )
            )
            return
        session.send(
            m.historical_data(
                req_id, window_text(start, zone), window_text(min(end, now), zone), bars
            )
        )

    # ================================================================= account
    def _account_rows(self) -> list[tuple[str, str, str]]:
        """(key, value, currency) for the primary account from the broker."""
        if self.broker is None:
            return []
        av = self.broker.get_account_value()
        now_ns = self._now().value
        base = av.base_currency
        total_cash = 0.0
        rows: list[tuple[str, str, str]] = [("AccountCode", self.config.accounts[0], "")]
        for ccy in sorted(set(av.cash) | set(av.unrealised_pnl)):
            rate = float(self.market.fx_rate(ccy, base, np.array([now_ns]))[0])
            cash = float(av.cash.get(ccy, 0.0))
            total_cash += cash * rate
            rows += [
                ("CashBalance", _num(cash, 4), ccy),  # FX conversions: not whole cents
                ("ExchangeRate", _num(rate), ccy),
                ("UnrealizedPnL", _num(float(av.unrealised_pnl.get(ccy, 0.0))), ccy),
            ]
        unreal_base = av.net_liquidation - total_cash
        rows += [
            ("AccountType", "INDIVIDUAL", ""),
            ("Currency", base, base),
            ("CashBalance", _num(total_cash), "BASE"),
            ("TotalCashValue", _num(total_cash), base),
            ("NetLiquidation", _num(av.net_liquidation), base),
            ("UnrealizedPnL", _num(unreal_base), "BASE"),
            ("InitMarginReq", _num(av.margin_used), base),
            ("FullInitMarginReq", _num(av.margin_used), base),
            ("MaintMarginReq", _num(av.margin_used * 0.8), base),
            ("FullMaintMarginReq", _num(av.margin_used * 0.8), base),
            ("AvailableFunds", _num(av.available_funds), base),
            ("ExcessLiquidity", _num(av.net_liquidation - av.margin_used * 0.8), base),
            ("BuyingPower", _num(4 * av.available_funds), base),
        ]
        return rows

    def _positions(self) -> list[tuple[m.WireContract, int, float, float, float]]:
        """(contract, quantity, average cost, mark price, point value) of broker positions."""
        if self.broker is None:
            return []
        now_ns = self._now().value
        out = []
        for pos in self.broker.get_positions():
            listing = self.catalogue.future(pos.instrument_code, pos.contract_date)
            spec = self.market.spec(pos.instrument_code)
            t = self.market.last_open_instant(pos.instrument_code, now_ns)
            mark = float(
                self.market.mid_price(pos.instrument_code, pos.contract_date, np.array([t]))[0]
            )
            out.append(
                (
                    listing.contract,
                    pos.quantity,
                    pos.average_price * spec.multiplier,
                    mark,
                    spec.multiplier,
                )
            )
        return out

    def _on_positions(self, session: _Session, fields: list[str]) -> None:
        session.subscribed_positions = True
        account = self.config.accounts[0]
        for contract, qty, avg_cost, _, _ in self._positions():
            session.send(m.position(account, contract, float(qty), avg_cost))
            self._sent_positions[contract.con_id] = float(qty)
        session.send(m.position_end())

    def push_portfolio(self) -> None:
        """After fills: positions to reqPositions subscribers (0 for a closed position) and
        account values / portfolio to reqAccountUpdates subscribers."""
        position_sessions = [s for s in self._clients.values() if s.subscribed_positions]
        account_sessions = [s for s in self._clients.values() if s.subscribed_account]
        if not position_sessions and not account_sessions:
            return
        account = self.config.accounts[0]
        positions = self._positions()
        current = {c.con_id: (c, float(q), cost) for c, q, cost, _, _ in positions}
        closed = [cid for cid in self._sent_positions if cid not in current]
        for session in position_sessions:
            for c, qty, cost in current.values():
                session.send(m.position(account, c, qty, cost))
            for cid in closed:
                c = self.catalogue.by_con_id(cid).contract
                session.send(m.position(account, c, 0.0, 0.0))
        rows = self._account_rows() if account_sessions else []
        for session in account_sessions:
            self._send_account_and_portfolio(session, account, rows, positions)
            for cid in closed:
                c = self.catalogue.by_con_id(cid).contract
                session.send(m.portfolio_value(c, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, account))
        self._sent_positions = {cid: q for cid, (_, q, _) in current.items()}

    @staticmethod
    def _send_account_and_portfolio(
        session: _Session,
        account: str,
        rows: list[tuple[str, str, str]],
        positions: list[tuple[m.WireContract, int, float, float, float]],
    ) -> None:
        """The account values (``rows``, from :meth:`_account_rows`) and one portfolio row per
        position (from :meth:`_positions`), as reqAccountUpdates sends them."""
        for key, value, ccy in rows:
            session.send(m.account_value(key, value, ccy, account))
        for contract, qty, avg_cost, mark, point in positions:
            value = qty * mark * point
            session.send(
                m.portfolio_value(
                    contract, float(qty), mark, value, avg_cost, value - qty * avg_cost, 0.0,
                    account,
                )
            )

    def _on_cancel_positions(self, session: _Session, fields: list[str]) -> None:
        session.subscribed_positions = False

    def _on_account_updates(self, session: _Session, fields: list[str]) -> None:
        subscribe, account = fields[2] not in ("0", ""), fields[3]
        session.subscribed_account = subscribe
        if not subscribe:
            return
        account = account or self.config.accounts[0]
        if account == self.config.accounts[0]:
            self._send_account_and_portfolio(
                session, account, self._account_rows(), self._positions()
            )
        session.send(
            m.account_update_time(self._now().tz_convert(self.config.tws_zone).strftime("%H:%M"))
        )
        session.send(m.account_download_end(account))

    def _on_account_updates_multi(self, session: _Session, fields: list[str]) -> None:
        req_id, account, model = int(fields[2]), fields[3], fields[4]
        if account in ("", self.config.accounts[0]):
            for key, value, ccy in self._account_rows():
                session.send(
                    m.account_update_multi(
                        req_id, account or self.config.accounts[0], key, value, ccy, model
                    )
                )
        session.send(m.account_update_multi_end(req_id))

    def _on_account_summary(self, session: _Session, fields: list[str]) -> None:
        req_id, tags = int(fields[2]), {t for t in fields[4].split(",") if t}
        account = self.config.accounts[0]
        rows = self._account_rows()
        base = next((v for k, v, _ in rows if k == "Currency"), "")
        for key, value, ccy in rows:
            if key not in ACCOUNT_SUMMARY_TAGS or (tags and key not in tags):
                continue
            if ccy not in ("", base):
                continue
            session.send(m.account_summary(req_id, account, key, value, ccy))
        session.send(m.account_summary_end(req_id))

    HANDLERS: dict[int, Callable[[FakeTws, _Session, list[str]], None]] = {
        In.REQ_CURRENT_TIME: _on_current_time,
        In.REQ_MKT_DATA: _on_mkt_data,
        In.CANCEL_MKT_DATA: _on_cancel_mkt_data,
        In.REQ_IDS: _on_req_ids,
        In.REQ_OPEN_ORDERS: _on_open_orders,
        In.REQ_ALL_OPEN_ORDERS: _on_open_orders,
        In.REQ_AUTO_OPEN_ORDERS: _ignore,
        In.REQ_COMPLETED_ORDERS: _on_completed_orders,
        In.PLACE_ORDER: _on_place_order,
        In.CANCEL_ORDER: _on_cancel_order,
        In.REQ_GLOBAL_CANCEL: _on_global_cancel,
        In.REQ_EXECUTIONS: _on_executions,
        In.REQ_MARKET_DATA_TYPE: _on_market_data_type,
        In.REQ_CONTRACT_DETAILS: _on_contract_details,
        In.REQ_HISTORICAL_DATA: _on_historical_data,
        In.CANCEL_HISTORICAL_DATA: _ignore,
        In.REQ_POSITIONS: _on_positions,
        In.CANCEL_POSITIONS: _on_cancel_positions,
        In.REQ_ACCOUNT_UPDATES: _on_account_updates,
        In.REQ_ACCOUNT_UPDATES_MULTI: _on_account_updates_multi,
        In.CANCEL_ACCOUNT_UPDATES_MULTI: _ignore,
        In.REQ_ACCOUNT_SUMMARY: _on_account_summary,
        In.CANCEL_ACCOUNT_SUMMARY: _ignore,
    }


_PUMP_AFTER = frozenset(
    {In.PLACE_ORDER, In.CANCEL_ORDER, In.REQ_GLOBAL_CANCEL, In.REQ_CURRENT_TIME}
)
"""Requests after which the server reports broker changes at once (besides its poll timer)."""


def _send_quote(session: _Session, req_id: int, q) -> None:
    session.send(m.tick_price(req_id, 1, q.bid, q.bid_size))
    session.send(m.tick_price(req_id, 2, q.ask, q.ask_size))
    session.send(m.tick_size(req_id, 0, q.bid_size))
    session.send(m.tick_size(req_id, 3, q.ask_size))


def _num(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}"


def _request_id(msg_id: int, fields: list[str]) -> int:
    """The request id a scripted error should carry (-1 when the request has none)."""
    try:
        if msg_id == In.REQ_HISTORICAL_DATA:
            return int(fields[1])
        if msg_id in (
            In.REQ_CONTRACT_DETAILS,
            In.REQ_MKT_DATA,
            In.REQ_EXECUTIONS,
            In.REQ_ACCOUNT_SUMMARY,
            In.REQ_ACCOUNT_UPDATES_MULTI,
        ):
            return int(fields[2])
        if msg_id in (In.PLACE_ORDER,):
            return int(fields[1])
        if msg_id == In.CANCEL_ORDER:
            return int(fields[2])
    except (IndexError, ValueError):
        pass
    return -1


async def _read_frame(reader: asyncio.StreamReader) -> list[str]:
    header = await reader.readexactly(4)
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    return decode_payload(await reader.readexactly(length))


class FakeTwsThread:
    """Run a :class:`FakeTws` on its own event loop in a daemon thread.

    ``broker_factory`` is called on the server thread (the simulated broker's SQLite connection
    must be used by the thread that opened it). Use as a context manager; :meth:`call` runs a
    function on the server thread and returns its result (e.g. ``t.call(lambda f:
    f.fail_next(20, 162, ...))``).
    """

    def __init__(
        self,
        market: MarketModel,
        clock: Clock,
        broker_factory: Callable[[], Broker] | None = None,
        config: FakeTwsConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self._args = (market, clock, broker_factory, config)
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-tws", daemon=True)
        self._error: BaseException | None = None
        self.fake: FakeTws | None = None
        self.port: int | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            market, clock, factory, config = self._args
            broker = factory() if factory is not None else None
            self.fake = FakeTws(market, clock, broker, config)
            self.port = self._loop.run_until_complete(self.fake.start(self._host, self._port))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self.fake.stop())
            if self.fake.broker is not None:
                self.fake.broker.close()
            self._loop.close()

    def start(self, timeout: float = 30.0) -> FakeTwsThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("fake TWS did not start")
        if self._error is not None:
            raise self._error
        return self

    def call(self, fn: Callable[[FakeTws], Any], timeout: float = 30.0) -> Any:
        """Run ``fn(fake)`` on the server thread and return its result."""

        async def run() -> Any:
            return fn(self.fake)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> FakeTwsThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
