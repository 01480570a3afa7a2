"""Step 1: handshake, startup sync, client-id registry — through the real ib_async client."""

from __future__ import annotations

import logging
import socket
import struct

import ib_async
import pytest
from ib_async import IB

from sysbrokers.IB.fake_tws import wire


def test_installed_ib_async_speaks_the_version_range_we_emulate():
    """Fidelity guard: an ib_async upgrade that changes its range must be looked at by a human
    (new message formats above 178: error time 194, historicalDataEnd 196, protobuf 201)."""
    assert ib_async.client.Client.MinClientVersion == wire.CLIENT_MIN_VERSION == 157
    assert ib_async.client.Client.MaxClientVersion == wire.CLIENT_MAX_VERSION == 178
    assert wire.SERVER_VERSION == 178


def test_connect_completes_with_every_startup_request_answered(ib, fake_tws, caplog):
    assert ib.isConnected()
    assert ib.client.serverVersion() == 178
    assert ib.managedAccounts() == ["DU1234567"]
    assert ib.client.getReqId() >= 1
    received = fake_tws.call(lambda f: [r.msg_id for r in f.received])
    # the startup sync ib_async sends: startApi, positions, open orders, completed orders,
    # account updates, account updates multi, executions
    assert {71, 61, 5, 99, 6, 76, 7} <= set(received)
    assert "timed out" not in caplog.text


def test_connect_is_fast_enough_that_no_sync_request_timed_out(fake_tws, caplog):
    caplog.set_level(logging.INFO, logger="ib_async")
    ib = IB()
    try:
        ib.connect("127.0.0.1", fake_tws.port, clientId=7, timeout=5)
        assert ib.isConnected()
    finally:
        ib.disconnect()
    assert "request timed out" not in caplog.text
    assert "API connection ready" in caplog.text


def test_farm_status_messages_reach_the_client(fake_tws):
    ib = IB()
    codes = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append((req_id, code))
    try:
        ib.connect("127.0.0.1", fake_tws.port, clientId=3, timeout=5)
        ib.sleep(0)  # let queued messages be handled
        ib.reqCurrentTime()  # a round trip: everything sent before it has been processed
    finally:
        ib.disconnect()
    assert {(-1, 2104), (-1, 2106), (-1, 2158)} <= set(codes)


def test_duplicate_client_id_gets_error_326_and_is_refused(connect, fake_tws):
    first = connect(5)
    second = IB()
    messages: list[str] = []
    second.client.apiError += messages.append
    codes = []
    second.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    with pytest.raises((TimeoutError, ConnectionError)):
        second.connect("127.0.0.1", fake_tws.port, clientId=5, timeout=1)
    assert first.isConnected()
    assert 326 in codes
    assert any("already in use" in msg for msg in messages)
    assert fake_tws.call(lambda f: f.connected_client_ids) == [5]


def test_client_id_is_free_again_after_disconnect(connect, fake_tws):
    ib = connect(9)
    ib.disconnect()
    again = connect(9)
    assert again.isConnected()


def test_current_time_is_the_injected_clock(ib, clock):
    assert ib.reqCurrentTime().timestamp() == clock.now().timestamp()


def _raw_handshake(port: int, hello: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(wire.API_PREFIX + wire.frame(hello))
    return sock


def _read_message(sock: socket.socket) -> list[str]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    (length,) = struct.unpack(">I", exactly(4))
    return wire.decode_payload(exactly(length))


def test_server_hello_is_exactly_version_and_time(fake_tws):
    with _raw_handshake(fake_tws.port, b"v157..178") as sock:
        version, conn_time = _read_message(sock)
    assert version == "178"
    assert conn_time.endswith(" UTC") and len(conn_time.split()[0]) == 8


def test_frames_split_byte_by_byte_are_reassembled(fake_tws):
    sock = socket.create_connection(("127.0.0.1", fake_tws.port), timeout=5)
    with sock:
        data = wire.API_PREFIX + wire.frame(b"v157..178\0")
        data += wire.encode_message([71, 2, 11, ""]) + wire.encode_message([49, 1])
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
        seen = [_read_message(sock)[0] for _ in range(7)]
    assert seen[0] == "178"
    assert {"15", "9", "49"} <= set(seen)


def test_a_client_below_version_157_is_refused(fake_tws):
    with _raw_handshake(fake_tws.port, b"v100..150") as sock:
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed without a hello


def test_garbage_closes_only_that_socket(connect, fake_tws):
    ib = connect(1)
    with _raw_handshake(fake_tws.port, b"v157..178") as sock:
        _read_message(sock)  # hello
        sock.sendall(wire.encode_message(["not-a-number", "x"]))
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed
    with _raw_handshake(fake_tws.port, b"v157..178") as sock:
        _read_message(sock)
        sock.sendall(b"\xff\xff\xff\xff")  # a 4 GB frame is refused, not buffered
        sock.settimeout(5)
        assert sock.recv(100) == b""
    assert ib.isConnected() and ib.reqCurrentTime() is not None
