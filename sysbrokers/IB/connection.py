"""One ib_async connection to TWS / IB Gateway: client ids, fail-fast 326, reconnects, liveness.

Calls are synchronous: each request runs ib_async's event loop on the calling thread until it
is answered or ``timeout_seconds`` pass (:meth:`IBConnection.run`); messages that arrive in
between are dispatched to the handlers registered on ``ib`` (see :mod:`sysbrokers.IB.broker`).

* **Client ids** come from :class:`~sysbrokers.IB.client_ids.ClientIdAllocator`. When TWS answers
  error 326 (id already in use, e.g. by a session outside systrade) the connection attempt is
  abandoned at once (ib_async alone would wait for its whole connect timeout), the next free id
  is allocated and tried, and the refused id is released when a connection is made.
* **Reconnect**: :meth:`IBConnection.ensure_connected` reconnects a lost connection with the
  same client id, up to ``reconnect_attempts`` times, waiting ``reconnect_initial_seconds``
  then doubling up to ``reconnect_max_seconds``; then :class:`BrokerDisconnected`.
* **Blindness**: from the moment the socket drops, or TWS reports 1100 (IB servers lost), the
  connection is *blind* (:attr:`IBConnection.blind_since`, UTC from the injected clock) until a
  reconnect, or 1101/1102. :meth:`IBConnection.should_halt` says whether it has been blind for
  longer than ``disconnect_halt_seconds``: the point where trading must halt.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pandas as pd
from ib_async import IB, util

from sysbrokers.errors import AccountNotManaged, BrokerDisconnected, ClientIdInUse
from sysbrokers.IB.client_ids import ClientIdAllocator
from sysbrokers.IB.ib_logging import lower_handled_ib_async_logs
from syscore.clock import Clock
from syscore.config_models import IBConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

CLIENT_ID_IN_USE = 326
CONNECTIVITY_LOST = 1100
CONNECTIVITY_RESTORED = (1101, 1102)


class IBConnection:
    """See the module docstring. ``sleep`` (seconds) is injectable for the reconnect back-off."""

    def __init__(
        self,
        config: IBConfig,
        client_ids: ClientIdAllocator,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.client_ids = client_ids
        self.clock = clock
        self.sleep = sleep
        lower_handled_ib_async_logs()  # TWS errors the broker handles are not ERROR lines
        self.ib = IB()
        self.ib.RaiseRequestErrors = True  # a failed request raises RequestError (code, text)
        self.client_id: int | None = None
        self.blind_since: pd.Timestamp | None = None
        self.ever_connected = False
        self.closed = False
        self.on_disconnect: list[Callable[[str], None]] = []
        self.on_reconnect: list[Callable[[], None]] = []
        self._refused = False
        self.needs_reconcile = False
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    # ------------------------------------------------------------------ state
    def is_connected(self) -> bool:
        return self.ib.isConnected()

    @property
    def account(self) -> str:
        """The configured account, else the only managed account (a login managing several
        is refused at connect when none is configured), else ''."""
        if self.config.account is not None:
            return self.config.account.get_secret_value()
        accounts = self.ib.managedAccounts() if self.ib.isConnected() else []
        return accounts[0] if accounts else ""

    @property
    def disconnect_halt(self) -> pd.Timedelta:
        """How long the connection may be blind before trading must halt (``ib.disconnect_halt_seconds``)."""
        return pd.Timedelta(seconds=self.config.disconnect_halt_seconds)

    def blind_for(self, now: pd.Timestamp | None = None) -> pd.Timedelta:
        """How long the connection has been blind (zero when it is not)."""
        if self.blind_since is None:
            return pd.Timedelta(0)
        return (now if now is not None else self.clock.now()) - self.blind_since

    def should_halt(self, now: pd.Timestamp | None = None) -> bool:
        """Whether it has been blind for longer than the disconnect policy allows."""
        return self.blind_since is not None and self.blind_for(now) > self.disconnect_halt

    # ------------------------------------------------------------------ connect
    def connect(self) -> None:
        """Connect (idempotent). Allocates a client id if none is held; on 326 takes the next.
        :class:`BrokerDisconnected` if TWS cannot be reached."""
        if self.ib.isConnected():
            return
        self.closed = False
        refused: list[int] = []
        try:
            while True:
                if self.client_id is None:
                    self.client_id = self.client_ids.allocate()
                try:
                    self._connect_once(self.client_id)
                    break
                except ClientIdInUse:
                    log.warning("IB: client id %s is in use at TWS (326); trying the next one",
                                self.client_id)
                    refused.append(self.client_id)
                    self.client_id = None
        except BrokerDisconnected:
            if self.client_id is not None and not self.ever_connected:
                self.client_ids.release(self.client_id)
                self.client_id = None
            raise
        finally:
            for client_id in refused:
                self.client_ids.release(client_id)
        try:
            self._check_account()
        except AccountNotManaged:
            self.ib.disconnect()
            if not self.ever_connected and self.client_id is not None:
                self.client_ids.release(self.client_id)
                self.client_id = None
            raise
        was_blind = self.ever_connected
        self.ever_connected = True
        self.blind_since = None
        log.info("IB: connected to %s:%s as client id %s", self.config.host, self.config.port,
                 self.client_id)
        if was_blind:
            for callback in list(self.on_reconnect):
                callback()

    def _check_account(self) -> None:
        """:class:`AccountNotManaged` unless the configured ``ib.account`` is one of the
        login's managed accounts, or none is configured and the login manages exactly one.
        Account ids are secrets: the message names none."""
        managed = [a for a in self.ib.managedAccounts() if a]
        if self.config.account is not None:
            if self.config.account.get_secret_value() not in managed:
                raise AccountNotManaged(
                    f"the configured ib.account is not one of the {len(managed)} account(s) "
                    f"this IB login manages at {self.config.host}:{self.config.port}: check "
                    "ib.account (or SYSTRADE_IB_ACCOUNT)")
        elif len(managed) != 1:
            raise AccountNotManaged(
                f"this IB login at {self.config.host}:{self.config.port} manages "
                f"{len(managed)} accounts: set ib.account (or SYSTRADE_IB_ACCOUNT) to the one "
                "systrade trades")

    def _connect_once(self, client_id: int) -> None:
        self._refused = False
        try:
            util.run(self._connect_async(client_id))
        except ClientIdInUse:
            raise
        except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
            self.ib.disconnect()
            raise BrokerDisconnected(
                f"cannot connect to IB at {self.config.host}:{self.config.port} "
                f"(client id {client_id}): {exc or type(exc).__name__}") from None

    async def _connect_async(self, client_id: int) -> None:
        account = self.config.account.get_secret_value() if self.config.account else ""
        connecting = asyncio.ensure_future(self.ib.connectAsync(
            self.config.host, self.config.port, clientId=client_id,
            timeout=self.config.timeout_seconds, account=account))
        while not connecting.done():
            await asyncio.wait({connecting}, timeout=0.05)
            if self._refused:
                connecting.cancel()
                self.ib.disconnect()
                raise ClientIdInUse(f"IB client id {client_id} is already in use (326)")
        connecting.result()
        if self._refused:  # 326 raced the end of the handshake
            self.ib.disconnect()
            raise ClientIdInUse(f"IB client id {client_id} is already in use (326)")

    def ensure_connected(self) -> None:
        """Reconnect with back-off if the connection was lost (:class:`BrokerDisconnected` when
        every attempt failed or the connection was closed on purpose)."""
        if self.ib.isConnected():
            return
        if self.closed:
            raise BrokerDisconnected("the IB connection is closed")
        delay = self.config.reconnect_initial_seconds
        last: BrokerDisconnected | None = None
        for attempt in range(self.config.reconnect_attempts + 1):
            if attempt:
                self.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_seconds)
            try:
                self.connect()
                return
            except AccountNotManaged:
                raise  # the configuration is wrong: another attempt cannot help
            except BrokerDisconnected as exc:
                last = exc
                log.warning("IB: reconnect attempt %d failed: %s", attempt + 1, exc)
        raise BrokerDisconnected(f"IB connection lost and not restored: {last}")

    def disconnect(self) -> None:
        """Drop the socket (the client id stays ours: a later connect reuses it)."""
        self.ib.disconnect()

    def close(self) -> None:
        """Disconnect and release the client id."""
        self.closed = True
        self.ib.disconnect()
        if self.client_id is not None:
            self.client_ids.release(self.client_id)
            self.client_id = None

    # ------------------------------------------------------------------ requests
    def run(self, request: Callable[[], Awaitable[T]], what: str) -> T:
        """Send one request (``request()`` makes it) once connected, and run it to completion,
        bounded by ``timeout_seconds``."""
        self.ensure_connected()
        try:
            return util.run(asyncio.wait_for(request(), self.config.timeout_seconds))
        except asyncio.TimeoutError:
            raise BrokerDisconnected(
                f"IB did not answer {what} within {self.config.timeout_seconds:g} s") from None
        except ConnectionError as exc:
            raise BrokerDisconnected(f"IB connection lost during {what}: {exc}") from None

    def pump(self) -> None:
        """Dispatch the messages that have already arrived (no waiting)."""
        if self.ib.isConnected():
            try:
                util.run(asyncio.sleep(0))
            except ConnectionError:
                pass  # the socket dropped meanwhile: the disconnect handler has run

    def wait_until(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Dispatch messages until ``condition()`` holds or ``timeout`` seconds (default
        ``timeout_seconds``) pass; returns whether it holds."""
        deadline = time.monotonic() + (timeout if timeout is not None
                                       else self.config.timeout_seconds)
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0 or not self.ib.isConnected():
                return condition()
            try:
                self.ib.waitOnUpdate(timeout=min(left, 0.5))
            except ConnectionError:
                return condition()  # the socket dropped: the caller finds out
        return True

    def round_trip(self) -> None:
        """A request answered after everything TWS sent before it (reqCurrentTime)."""
        self.run(lambda: self.ib.reqCurrentTimeAsync(), "reqCurrentTime")

    def heartbeat(self, timeout: float = 5.0) -> bool:
        """A reqCurrentTime round trip within ``timeout`` seconds. A silent TWS (a stalled
        gateway keeps the socket open) counts as lost: the socket is dropped, the connection
        becomes blind and the next call reconnects. Returns whether TWS answered."""
        if not self.ib.isConnected():
            return False
        try:
            util.run(asyncio.wait_for(self.ib.reqCurrentTimeAsync(), timeout))
            return True
        except (asyncio.TimeoutError, ConnectionError):
            log.warning("IB: no heartbeat answer within %.1f s: dropping the connection",
                        timeout)
            self.ib.disconnect()
            return False

    # ------------------------------------------------------------------ events
    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        if code == CLIENT_ID_IN_USE:
            self._refused = True
        elif code == CONNECTIVITY_LOST:
            if self.blind_since is None:
                self.blind_since = self.clock.now()
            for callback in list(self.on_disconnect):
                callback(f"IB connectivity lost (1100): {text}")
        elif code in CONNECTIVITY_RESTORED:
            self.blind_since = None
            self.needs_reconcile = True  # acted on by the next call, outside the event loop

    def _on_disconnected(self) -> None:
        if self.closed or self._refused or not self.ever_connected:
            return
        if self.blind_since is None:
            self.blind_since = self.clock.now()
        log.warning("IB: connection to %s:%s lost", self.config.host, self.config.port)
        for callback in list(self.on_disconnect):
            callback("socket disconnected")
