"""What the stack handler knows of the market during one pass: asked once, used many times.

A :class:`MarketView` caches, for one pass, each contract's details and top of book, and each
instrument's trading state (open, seconds to the close) from the broker, so that working a
thousand orders in fifty instruments asks the broker fifty times, not a thousand. Build a new
one every pass (prices move). Broker errors are raised to the caller each time they are asked
for (a missing quote is not cached as a value).
"""
from __future__ import annotations

import pandas as pd

from sysbrokers.errors import BrokerError
from sysbrokers.objects import BidAsk, BrokerContractDetails
from sysdata.data_blob import DataBlob
from sysexecution.algos import Quote

#: how far ahead trading hours are read to find the current session's close
_HOURS_AHEAD = pd.Timedelta(days=4)


class MarketView:
    """One pass's cached view of the market (see module docstring)."""

    def __init__(self, data: DataBlob):
        self.data = data
        self.now = data.now()
        self._details: dict[tuple[str, str], BrokerContractDetails] = {}
        self._quotes: dict[tuple[str, str], BidAsk] = {}
        self._open: dict[str, bool] = {}
        self._to_close: dict[str, float | None] = {}

    def details(self, code: str, contract_date: str) -> BrokerContractDetails:
        key = (code, contract_date)
        if key not in self._details:
            self._details[key] = self.data.broker.get_contract_details(code, contract_date)
        return self._details[key]

    def bid_ask(self, code: str, contract_date: str) -> BidAsk:
        key = (code, contract_date)
        if key not in self._quotes:
            self._quotes[key] = self.data.broker.get_bid_ask(code, contract_date)
        return self._quotes[key]

    def quote(self, code: str, contract_date: str) -> Quote:
        """The algo's view of the top of book; an invalid (empty) quote when the broker has
        none."""
        try:
            book = self.bid_ask(code, contract_date)
        except BrokerError:
            return Quote(None, None)
        return Quote(book.bid, book.ask, book.bid_size, book.ask_size)

    def is_open(self, code: str) -> bool:
        """Whether the market trades now; False when the broker cannot tell."""
        if code not in self._open:
            try:
                self._open[code] = bool(self.data.broker.is_open(code, self.now))
            except BrokerError:
                self._open[code] = False
        return self._open[code]

    def seconds_to_close(self, code: str) -> float | None:
        """Seconds from now to the end of the session trading now; ``None`` when closed or
        unknown."""
        if code not in self._to_close:
            seconds = None
            try:
                hours = self.data.broker.get_trading_hours(code, self.now,
                                                           self.now + _HOURS_AHEAD)
            except BrokerError:
                hours = None
            for session in hours.sessions if hours else ():
                if session.contains(self.now):
                    seconds = (session.close - self.now).total_seconds()
                    break
            self._to_close[code] = seconds
        return self._to_close[code]
