"""Server -> client messages at server version 178, as field lists (pure functions, no I/O).

Each builder returns the fields of one message, first the message id, then (where real TWS sends
one) the per-message version field that ib_async counts but ignores. Messages that ib_async
unpacks into a fixed number of names (nextValidId, managedAccounts, tickPrice, position,
updatePortfolio, commissionReport) must have exactly these fields: extras break them.
The field orders follow ib_async 2.1's ``decoder.py``; the tests decode every builder's output
with ib_async's own ``Decoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sysbrokers.IB.fake_tws.wire import UNSET_DOUBLE


class In:
    """Client -> server message ids."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCOUNT_UPDATES = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DETAILS = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_HISTORICAL_DATA = 20
    CANCEL_HISTORICAL_DATA = 25
    REQ_CURRENT_TIME = 49
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_COMPLETED_ORDERS = 99


class Out:
    """Server -> client message ids."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERROR = 4
    OPEN_ORDER = 5
    ACCOUNT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCOUNT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCOUNTS = 15
    HISTORICAL_DATA = 17
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCOUNT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    TICK_REQ_PARAMS = 81
    COMPLETED_ORDERS_END = 102


@dataclass(frozen=True)
class WireContract:
    """A contract as the fake describes it on the wire (IB's own terms)."""

    con_id: int
    symbol: str
    sec_type: str  # FUT | CASH
    last_trade_date: str  # YYYYMMDD for futures, "" for CASH
    multiplier: str  # "" for CASH
    exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    primary_exchange: str = ""

    def block11(self) -> list[object]:
        """The 11-field contract block of openOrder, execDetails and position."""
        return [
            self.con_id,
            self.symbol,
            self.sec_type,
            self.last_trade_date,
            0.0,  # strike
            "",  # right
            self.multiplier,
            self.exchange,
            self.currency,
            self.local_symbol,
            self.trading_class,
        ]


@dataclass(frozen=True)
class WireContractDetails:
    contract: WireContract
    market_name: str
    min_tick: float
    order_types: str
    valid_exchanges: str
    price_magnifier: int
    long_name: str
    contract_month: str
    time_zone_id: str
    trading_hours: str
    liquid_hours: str
    last_trade_time: str = ""
    under_symbol: str = ""
    under_sec_type: str = ""
    real_expiration_date: str = ""


def server_hello(connection_time: str) -> list[object]:
    """Handshake reply: exactly two fields, nothing else may precede it."""
    from sysbrokers.IB.fake_tws.wire import SERVER_VERSION

    return [SERVER_VERSION, connection_time]


def next_valid_id(order_id: int) -> list[object]:
    return [Out.NEXT_VALID_ID, 1, order_id]


def managed_accounts(accounts: list[str]) -> list[object]:
    return [Out.MANAGED_ACCOUNTS, 1, ",".join(accounts)]


def error(req_id: int, code: int, text: str, advanced_reject_json: str = "") -> list[object]:
    """reqId -1 for system messages; an order id for order errors."""
    return [Out.ERROR, 2, req_id, code, text, advanced_reject_json]


def no_security_definition(req_id: int) -> list[object]:
    """Error 200, TWS's answer to a request for a contract it cannot identify uniquely."""
    return error(req_id, 200, "No security definition has been found for the request")


def current_time(epoch_seconds: int) -> list[object]:
    return [Out.CURRENT_TIME, 1, epoch_seconds]


def contract_details(req_id: int, d: WireContractDetails) -> list[object]:
    c = d.contract
    last = c.last_trade_date
    if last and d.last_trade_time:
        last = f"{last} {d.last_trade_time} {d.time_zone_id}"
    return [
        Out.CONTRACT_DATA,
        req_id,
        c.symbol,
        c.sec_type,
        last,
        0.0,  # strike
        "",  # right
        c.exchange,
        c.currency,
        c.local_symbol,
        d.market_name,
        c.trading_class,
        c.con_id,
        d.min_tick,
        c.multiplier,
        d.order_types,
        d.valid_exchanges,
        d.price_magnifier,
        0,  # underConId
        d.long_name,
        c.primary_exchange,
        d.contract_month,
        "",  # industry
        "",  # category
        "",  # subcategory
        d.time_zone_id,
        d.trading_hours,
        d.liquid_hours,
        "",  # evRule
        "",  # evMultiplier
        0,  # secIdCount
        0,  # aggGroup
        d.under_symbol,
        d.under_sec_type,
        "",  # marketRuleIds
        d.real_expiration_date,
        "",  # stockType
        1,  # minSize
        1,  # sizeIncrement
        1,  # suggestedSizeIncrement
    ]


def contract_details_end(req_id: int) -> list[object]:
    return [Out.CONTRACT_DATA_END, 1, req_id]


@dataclass(frozen=True)
class WireBar:
    date: str
    open: float
    high: float
    low: float
    close: float
    volume: float  # -1 for MIDPOINT
    wap: float  # -1 for MIDPOINT
    count: int  # -1 for MIDPOINT


def historical_data(req_id: int, start: str, end: str, bars: list[WireBar]) -> list[object]:
    """All bars in one message; at server version 178 it also ends the request."""
    out: list[object] = [Out.HISTORICAL_DATA, req_id, start, end, len(bars)]
    for b in bars:
        out += [b.date, b.open, b.high, b.low, b.close, b.volume, b.wap, b.count]
    return out


def position(account: str, c: WireContract, quantity: float, avg_cost: float) -> list[object]:
    return [Out.POSITION_DATA, 3, account, *c.block11(), quantity, avg_cost]


def position_end() -> list[object]:
    return [Out.POSITION_END, 1]


def account_value(key: str, value: str, currency: str, account: str) -> list[object]:
    return [Out.ACCOUNT_VALUE, 2, key, value, currency, account]


def portfolio_value(
    c: WireContract,
    quantity: float,
    market_price: float,
    market_value: float,
    average_cost: float,
    unrealised: float,
    realised: float,
    account: str,
) -> list[object]:
    """updatePortfolio: the contract block carries primaryExchange, not exchange."""
    return [
        Out.PORTFOLIO_VALUE,
        8,
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date,
        0.0,
        "",
        c.multiplier,
        c.primary_exchange,
        c.currency,
        c.local_symbol,
        c.trading_class,
        quantity,
        market_price,
        market_value,
        average_cost,
        unrealised,
        realised,
        account,
    ]


def account_update_time(hh_mm: str) -> list[object]:
    return [Out.ACCOUNT_UPDATE_TIME, 1, hh_mm]


def account_download_end(account: str) -> list[object]:
    return [Out.ACCOUNT_DOWNLOAD_END, 1, account]


def account_update_multi(
    req_id: int, account: str, key: str, value: str, currency: str, model_code: str = ""
) -> list[object]:
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, model_code, key, value, currency]


def account_update_multi_end(req_id: int) -> list[object]:
    return [Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[object]:
    return [Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> list[object]:
    return [Out.ACCOUNT_SUMMARY_END, 1, req_id]


def open_order_end() -> list[object]:
    return [Out.OPEN_ORDER_END, 1]


def completed_orders_end() -> list[object]:
    return [Out.COMPLETED_ORDERS_END]


def exec_details_end(req_id: int) -> list[object]:
    return [Out.EXECUTION_DATA_END, 1, req_id]


def tick_req_params(
    req_id: int, min_tick: float, bbo_exchange: str = "", perms: int = 3
) -> list[object]:
    return [Out.TICK_REQ_PARAMS, req_id, min_tick, bbo_exchange, perms]


def market_data_type(req_id: int, data_type: int) -> list[object]:
    return [Out.MARKET_DATA_TYPE, 1, req_id, data_type]


def tick_price(
    req_id: int, tick_type: int, price: float, size: float, attr_mask: int = 0
) -> list[object]:
    return [Out.TICK_PRICE, 6, req_id, tick_type, price, size, attr_mask]


def tick_size(req_id: int, tick_type: int, size: float) -> list[object]:
    return [Out.TICK_SIZE, 6, req_id, tick_type, size]


def tick_snapshot_end(req_id: int) -> list[object]:
    return [Out.TICK_SNAPSHOT_END, 1, req_id]


@dataclass(frozen=True)
class WireOrder:
    """What the fake echoes of a client's order in openOrder."""

    order_id: int
    client_id: int
    perm_id: int
    action: str  # BUY | SELL
    total_quantity: float
    order_type: str  # MKT | LMT
    lmt_price: float | None
    tif: str
    account: str
    order_ref: str
    parent_id: int = 0
    outside_rth: bool = False


def open_order(c: WireContract, o: WireOrder, status: str,
               combo_legs: tuple[tuple[int, int, str, str], ...] = ()) -> list[object]:
    """openOrder for a MKT/LMT order (no scale, hedge, algo or conditions): 135 fields at 178
    for a plain order, TWS's own ``None`` strings for deltaNeutralOrderType/adjustedOrderType.
    ``combo_legs`` (a BAG order): ``(conId, ratio, action, exchange)`` per leg, each sent as
    the 8 fields of a combo leg."""
    unset = ""
    legs: list[object] = [len(combo_legs)]
    for con_id, ratio, action, exchange in combo_legs:
        legs += [con_id, ratio, action, exchange, 0, 0, "", -1]
    lmt = o.lmt_price if o.lmt_price is not None else UNSET_DOUBLE
    return [
        Out.OPEN_ORDER,
        o.order_id,
        *c.block11(),
        o.action,
        o.total_quantity,
        o.order_type,
        lmt,
        0.0,  # auxPrice
        o.tif,
        "",  # ocaGroup
        o.account,
        "",  # openClose (blank for futures)
        0,  # origin customer
        o.order_ref,
        o.client_id,
        o.perm_id,
        o.outside_rth,
        False,  # hidden
        0.0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # sharesAllocation (deprecated)
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        unset,  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        unset,  # startingPrice
        unset,  # stockRefPrice
        unset,  # delta
        unset,  # stockRangeLower
        unset,  # stockRangeUpper
        0,  # displaySize
        False,  # blockOrder
        False,  # sweepToFill
        False,  # allOrNone
        unset,  # minQty
        3,  # ocaType
        False,  # eTradeOnly
        False,  # firmQuoteOnly
        unset,  # nbboPriceCap
        o.parent_id,
        0,  # triggerMethod
        unset,  # volatility
        0,  # volatilityType
        "None",  # deltaNeutralOrderType, as TWS sends it (truthy: 8 fields follow)
        unset,  # deltaNeutralAuxPrice
        0,  # deltaNeutralConId
        "",  # deltaNeutralSettlingFirm
        "",  # deltaNeutralClearingAccount
        "",  # deltaNeutralClearingIntent
        "?",  # deltaNeutralOpenClose
        0,  # deltaNeutralShortSale
        0,  # deltaNeutralShortSaleSlot
        "",  # deltaNeutralDesignatedLocation
        0,  # continuousUpdate
        0,  # referencePriceType
        unset,  # trailStopPrice
        unset,  # trailingPercent
        unset,  # basisPoints
        unset,  # basisPointsType
        "",  # comboLegsDescrip
        *legs,  # comboLegCount, then 8 fields per leg
        0,  # orderComboLegCount
        0,  # smartComboRoutingParamsCount
        unset,  # scaleInitLevelSize
        unset,  # scaleSubsLevelSize
        unset,  # scalePriceIncrement
        "",  # hedgeType
        False,  # optOutSmartRouting
        "",  # clearingAccount
        "",  # clearingIntent
        False,  # notHeld
        0,  # deltaNeutralContractPresent
        "",  # algoStrategy
        False,  # solicited
        False,  # whatIf
        status,
        "",  # initMarginBefore
        "",  # maintMarginBefore
        "",  # equityWithLoanBefore
        "",  # initMarginChange
        "",  # maintMarginChange
        "",  # equityWithLoanChange
        "",  # initMarginAfter
        "",  # maintMarginAfter
        "",  # equityWithLoanAfter
        unset,  # commission
        unset,  # minCommission
        unset,  # maxCommission
        "",  # commissionCurrency
        "",  # warningText
        False,  # randomizeSize
        False,  # randomizePrice
        0,  # conditionCount
        "None",  # adjustedOrderType
        unset,  # triggerPrice
        unset,  # trailStopPrice
        unset,  # lmtPriceOffset
        unset,  # adjustedStopPrice
        unset,  # adjustedStopLimitPrice
        unset,  # adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",  # softDollarTier name
        "",  # softDollarTier value
        "",  # softDollarTier displayName
        unset,  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        False,  # discretionaryUpToLimitPrice
        False,  # usePriceMgmtAlgo
        0,  # duration
        0,  # postToAts
        False,  # autoCancelParent
        unset,  # minTradeQty
        unset,  # minCompeteSize
        unset,  # competeAgainstBestOffset
        unset,  # midOffsetAtWhole
        unset,  # midOffsetAtHalf
    ]


def order_status(
    order_id: int,
    status: str,
    filled: float,
    remaining: float,
    avg_fill_price: float,
    perm_id: int,
    parent_id: int,
    last_fill_price: float,
    client_id: int,
    why_held: str = "",
    mkt_cap_price: float = 0.0,
) -> list[object]:
    return [
        Out.ORDER_STATUS,
        order_id,
        status,
        filled,
        remaining,
        avg_fill_price,
        perm_id,
        parent_id,
        last_fill_price,
        client_id,
        why_held,
        mkt_cap_price,
    ]


@dataclass(frozen=True)
class WireExecution:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    time: str  # "YYYYMMDD HH:MM:SS <tz>"
    account: str
    exchange: str
    side: str  # BOT | SLD
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str


def exec_details(req_id: int, c: WireContract, e: WireExecution) -> list[object]:
    """reqId -1 for live fills, the request id for reqExecutions replies."""
    return [
        Out.EXECUTION_DATA,
        req_id,
        e.order_id,
        *c.block11(),
        e.exec_id,
        e.time,
        e.account,
        e.exchange,
        e.side,
        e.shares,
        e.price,
        e.perm_id,
        e.client_id,
        0,  # liquidation
        e.cum_qty,
        e.avg_price,
        e.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        0,  # lastLiquidity
        False,  # pendingPriceRevision (server version >= 178)
    ]


def exec_details_end_for(req_id: int) -> list[object]:
    return exec_details_end(req_id)


def commission_report(
    exec_id: str, commission: float, currency: str, realised_pnl: float | None
) -> list[object]:
    """Exactly 8 fields. UNSET realised P&L and yield as TWS sends them for opening fills."""
    return [
        Out.COMMISSION_REPORT,
        1,
        exec_id,
        commission,
        currency,
        UNSET_DOUBLE if realised_pnl is None else realised_pnl,
        UNSET_DOUBLE,  # yield
        "",  # yieldRedemptionDate
    ]
