"""The simulated broker's own SQLite file: orders, executions, positions, cash.

The broker is an external party, so this file is independent of the trading system's stores
(``<home>/sim_broker/broker.sqlite``). WAL journal, one ``BEGIN IMMEDIATE``
transaction per broker operation: a process killed at any point leaves either the whole
operation or none of it, and ids (``AUTOINCREMENT``) are allocated atomically.
Times are stored as int64 nanoseconds since 1970 UTC.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_ref TEXT NOT NULL DEFAULT '',
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    order_type TEXT NOT NULL,
    limit_price REAL,
    status TEXT NOT NULL,
    filled_quantity INTEGER NOT NULL DEFAULT 0,
    avg_fill_price REAL,
    commission REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    placed_ns INTEGER NOT NULL,
    arrival_ns INTEGER NOT NULL,
    cancel_effective_ns INTEGER,
    processed_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    legs TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    ref INTEGER NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    exec_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price REAL NOT NULL,
    commission REAL NOT NULL,
    currency TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    leg INTEGER NOT NULL DEFAULT 0,
    bid REAL,
    ask REAL
);
CREATE INDEX IF NOT EXISTS executions_time ON executions(time_ns);
CREATE TABLE IF NOT EXISTS positions (
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    average_price REAL NOT NULL,
    PRIMARY KEY (instrument_code, contract_date)
);
CREATE TABLE IF NOT EXISTS cash (
    currency TEXT PRIMARY KEY,
    amount REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fx_trades (
    trade_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_ref TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    ccy1 TEXT NOT NULL,
    ccy2 TEXT NOT NULL,
    quantity REAL NOT NULL,
    rate REAL NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS option_orders (
    order_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_ref TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    option_right TEXT NOT NULL,
    strike REAL NOT NULL,
    expiry TEXT NOT NULL,
    option_code TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL,
    filled_quantity INTEGER NOT NULL DEFAULT 0,
    avg_fill_price REAL,
    commission REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    placed_ns INTEGER NOT NULL,
    arrival_ns INTEGER NOT NULL,
    fill_ns INTEGER,
    order_type TEXT NOT NULL DEFAULT 'MARKET',
    limit_price REAL,
    cancel_effective_ns INTEGER,
    processed_ns INTEGER,
    updated_ns INTEGER
);
CREATE INDEX IF NOT EXISTS option_orders_status ON option_orders(status);
CREATE TABLE IF NOT EXISTS option_executions (
    exec_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES option_orders(order_id),
    quantity INTEGER NOT NULL,
    price REAL NOT NULL,
    commission REAL NOT NULL,
    currency TEXT NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS option_executions_time ON option_executions(time_ns);
CREATE UNIQUE INDEX IF NOT EXISTS option_executions_once ON option_executions(order_id, time_ns);
CREATE TABLE IF NOT EXISTS option_positions (
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    option_right TEXT NOT NULL,
    strike REAL NOT NULL,
    expiry TEXT NOT NULL,
    option_code TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    average_price REAL NOT NULL,
    PRIMARY KEY (instrument_code, contract_date, option_right, strike, expiry, option_code)
);
CREATE TABLE IF NOT EXISTS option_settlements (
    settlement_id INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    option_right TEXT NOT NULL,
    strike REAL NOT NULL,
    expiry TEXT NOT NULL,
    option_code TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    intrinsic REAL NOT NULL,
    final_price REAL NOT NULL,
    pnl REAL NOT NULL,
    currency TEXT NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settlements (
    settlement_id INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_code TEXT NOT NULL,
    contract_date TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price REAL NOT NULL,
    pnl REAL NOT NULL,
    currency TEXT NOT NULL,
    time_ns INTEGER NOT NULL
);
"""


class BrokerStore:
    """Thin, typed access to the broker's SQLite file. Not shared between threads."""

    def __init__(self, path: Path, synchronous: str = "NORMAL"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._conn.execute("PRAGMA busy_timeout=60000")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._create_schema()

    def _create_schema(self) -> None:
        statements = [s.strip() for s in SCHEMA.split(";") if s.strip()]
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)
            columns = [r["name"] for r in conn.execute("PRAGMA table_info(orders)")]
            if "account" not in columns:  # a file written before accounts existed
                conn.execute("ALTER TABLE orders ADD COLUMN account TEXT NOT NULL DEFAULT ''")
            if "legs" not in columns:  # a file written before spread orders existed
                conn.execute("ALTER TABLE orders ADD COLUMN legs TEXT NOT NULL DEFAULT ''")
            columns = [r["name"] for r in conn.execute("PRAGMA table_info(executions)")]
            if "leg" not in columns:  # 0: an outright's execution; 1, 2: a spread's legs
                conn.execute("ALTER TABLE executions ADD COLUMN leg INTEGER NOT NULL DEFAULT 0")
            # one execution per order, leg and instant (before spreads: per order and instant)
            conn.execute("DROP INDEX IF EXISTS executions_once")
            conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS executions_once_per_leg"
                         " ON executions(order_id, leg, time_ns)")
            columns = [r["name"] for r in conn.execute("PRAGMA table_info(executions)")]
            for name in ("bid", "ask"):  # a file written before the book at fill was kept
                if name not in columns:
                    conn.execute(f"ALTER TABLE executions ADD COLUMN {name} REAL")
            self._migrate_option_orders(conn)

    #: columns added to ``option_orders`` when limit orders came (a file written before has
    #: market orders only, each filled in one execution recorded on the order itself)
    OPTION_ORDER_COLUMNS = (("order_type", "TEXT NOT NULL DEFAULT 'MARKET'"),
                            ("limit_price", "REAL"), ("cancel_effective_ns", "INTEGER"),
                            ("processed_ns", "INTEGER"), ("updated_ns", "INTEGER"))

    @classmethod
    def _migrate_option_orders(cls, conn: sqlite3.Connection) -> None:
        """Add the limit-order columns to an older file (idempotent). The executions of its
        filled orders are added by the broker, which knows their currency
        (:meth:`~sysbrokers.sim.option_trading.SimOptionTrading._migrate_option_executions`)."""
        columns = [r["name"] for r in conn.execute("PRAGMA table_info(option_orders)")]
        for name, kind in cls.OPTION_ORDER_COLUMNS:
            if name not in columns:
                conn.execute(f"ALTER TABLE option_orders ADD COLUMN {name} {kind}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    closed = False

    def close(self) -> None:
        self._conn.close()
        self.closed = True

    # ---- meta ------------------------------------------------------------------------------
    @staticmethod
    def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
