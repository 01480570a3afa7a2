"""Fidelity: every message kind the fake sends, decoded by ib_async's own Decoder at 178."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from ib_async.decoder import Decoder

from sysbrokers.IB.fake_tws import messages as m
from sysbrokers.IB.fake_tws import wire

FUT = m.WireContract(
    con_id=202224290,
    symbol="MES",
    sec_type="FUT",
    last_trade_date="20240315",
    multiplier="5",
    exchange="CME",
    currency="USD",
    local_symbol="MESH4",
    trading_class="MES",
)
DETAILS = m.WireContractDetails(
    contract=FUT,
    market_name="MES",
    min_tick=0.25,
    order_types="LMT,MKT",
    valid_exchanges="CME",
    price_magnifier=1,
    long_name="Micro E-mini S&P 500",
    contract_month="202403",
    time_zone_id="America/Chicago",
    trading_hours="20240102:1700-20240103:1600;20240106:CLOSED",
    liquid_hours="20240102:1700-20240103:1600",
    last_trade_time="08:30",
)
ORDER = m.WireOrder(
    order_id=7,
    client_id=1,
    perm_id=900007,
    action="BUY",
    total_quantity=3,
    order_type="LMT",
    lmt_price=4712.25,
    tif="DAY",
    account="DU1234567",
    order_ref="stack-42",
)
EXEC = m.WireExecution(
    exec_id="0000e0d5.6571.01.01",
    order_id=7,
    client_id=1,
    perm_id=900007,
    time="20240102 15:00:05 UTC",
    account="DU1234567",
    exchange="CME",
    side="BOT",
    shares=1,
    price=4712.25,
    cum_qty=1,
    avg_price=4712.25,
    order_ref="stack-42",
)


class _Ib:
    TimezoneTWS = None


class Recorder:
    """Stands in for ib_async's Wrapper: records every callback the Decoder makes."""

    ib = _Ib()
    defaultTimezone = dt.timezone.utc  # noqa: N815 - the name ib_async reads

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def record(*args):
            self.calls.append((name, args))

        return record


def decode(fields: list[object]) -> list[tuple[str, tuple]]:
    """Frame, unframe as ib_async's client does, and decode; the wrapper calls made."""
    framed = wire.encode_message(fields)
    assert int.from_bytes(framed[:4], "big") == len(framed) - 4
    payload = framed[4:]
    assert payload.endswith(b"\0")
    text = payload.decode(errors="backslashreplace").split("\0")
    text.pop()
    recorder = Recorder()
    decoder = Decoder(recorder, wire.SERVER_VERSION)
    decoder.interpret(text)
    return recorder.calls


def only(calls, name):
    found = [args for n, args in calls if n == name]
    assert len(found) == 1, calls
    return found[0]


def check_next_valid_id():
    assert only(decode(m.next_valid_id(17)), "nextValidId") == (17,)


def check_managed_accounts():
    assert only(decode(m.managed_accounts(["DU1", "DU2"])), "managedAccounts") == ("DU1,DU2",)


def check_error():
    req_id, code, text, advanced = only(decode(m.error(4, 200, "No security definition")), "error")
    assert (req_id, code, text, advanced) == (4, 200, "No security definition", "")


def check_current_time():
    assert only(decode(m.current_time(1704207600)), "currentTime") == (1704207600,)


def check_contract_details():
    req_id, cd = only(decode(m.contract_details(3, DETAILS)), "contractDetails")
    assert req_id == 3
    c = cd.contract
    assert (c.conId, c.symbol, c.secType, c.localSymbol) == (202224290, "MES", "FUT", "MESH4")
    assert c.lastTradeDateOrContractMonth == "20240315" and cd.lastTradeTime == "08:30"
    assert c.multiplier == "5" and cd.minTick == 0.25 and cd.priceMagnifier == 1
    assert cd.timeZoneId == "America/Chicago" and cd.contractMonth == "202403"
    assert cd.longName == "Micro E-mini S&P 500"
    assert cd.minSize == 1 and cd.sizeIncrement == 1
    assert len(cd.tradingSessions()) == 1


def check_contract_details_end():
    assert only(decode(m.contract_details_end(3)), "contractDetailsEnd") == (3,)


def check_historical_data():
    bars = [
        m.WireBar("20240102", 4700.0, 4720.5, 4690.25, 4712.25, 1234.0, 4708.3, 617),
        m.WireBar("1704207600", 1.1, 1.2, 1.0, 1.15, -1.0, -1.0, -1),
    ]
    calls = decode(m.historical_data(5, "20231203 15:00:00 UTC", "20240102 15:00:00 UTC", bars))
    got = [args[1] for n, args in calls if n == "historicalData"]
    assert [
        (b.date, b.open, b.high, b.low, b.close, b.volume, b.average, b.barCount) for b in got
    ] == [
        ("20240102", 4700.0, 4720.5, 4690.25, 4712.25, 1234.0, 4708.3, 617),
        ("1704207600", 1.1, 1.2, 1.0, 1.15, -1.0, -1.0, -1),
    ]
    assert only(calls, "historicalDataEnd")[0] == 5


def check_position():
    account, c, qty, avg = only(decode(m.position("DU1", FUT, -2.0, 23561.25)), "position")
    assert (account, c.localSymbol, c.exchange, qty, avg) == ("DU1", "MESH4", "CME", -2.0, 23561.25)


def check_position_end():
    assert only(decode(m.position_end()), "positionEnd") == ()


def check_account_value():
    args = only(
        decode(m.account_value("NetLiquidation", "1000.00", "USD", "DU1")), "updateAccountValue"
    )
    assert args == ("NetLiquidation", "1000.00", "USD", "DU1")


def check_portfolio_value():
    c, *rest = only(
        decode(m.portfolio_value(FUT, 3.0, 4712.0, 70680.0, 23500.0, 180.0, 0.0, "DU1")),
        "updatePortfolio",
    )
    assert c.localSymbol == "MESH4"
    assert rest == [3.0, 4712.0, 70680.0, 23500.0, 180.0, 0.0, "DU1"]


def check_account_update_time():
    assert only(decode(m.account_update_time("15:00")), "updateAccountTime") == ("15:00",)


def check_account_download_end():
    assert only(decode(m.account_download_end("DU1")), "accountDownloadEnd") == ("DU1",)


def check_account_update_multi():
    args = only(
        decode(m.account_update_multi(9, "DU1", "NetLiquidation", "5.00", "USD")),
        "accountUpdateMulti",
    )
    assert args == (9, "DU1", "", "NetLiquidation", "5.00", "USD")


def check_account_update_multi_end():
    assert only(decode(m.account_update_multi_end(9)), "accountUpdateMultiEnd") == (9,)


def check_account_summary():
    args = only(
        decode(m.account_summary(8, "DU1", "NetLiquidation", "5.00", "USD")), "accountSummary"
    )
    assert args == (8, "DU1", "NetLiquidation", "5.00", "USD")


def check_account_summary_end():
    assert only(decode(m.account_summary_end(8)), "accountSummaryEnd") == (8,)


def check_open_order():
    fields = m.open_order(FUT, ORDER, "Submitted")
    assert len(fields) == 135  # as a real TWS at server version 178 (136 below 177: faProfile)
    order_id, c, o, st = only(decode(fields), "openOrder")
    assert order_id == 7 and c.localSymbol == "MESH4"
    assert (o.action, o.totalQuantity, o.orderType, o.lmtPrice) == ("BUY", 3.0, "LMT", 4712.25)
    assert (o.clientId, o.permId, o.orderRef, o.account) == (1, 900007, "stack-42", "DU1234567")
    assert st.status == "Submitted"


def check_open_order_end():
    assert only(decode(m.open_order_end()), "openOrderEnd") == ()


def check_order_status():
    args = only(
        decode(m.order_status(7, "Submitted", 1, 2, 4712.25, 900007, 0, 4712.25, 1)), "orderStatus"
    )
    assert args == (7, "Submitted", 1.0, 2.0, 4712.25, 900007, 0, 4712.25, 1, "", 0.0)


def check_exec_details():
    req_id, c, ex = only(decode(m.exec_details(-1, FUT, EXEC)), "execDetails")
    assert req_id == -1 and c.localSymbol == "MESH4"
    assert (ex.execId, ex.orderId, ex.side, ex.shares, ex.price) == (
        "0000e0d5.6571.01.01",
        7,
        "BOT",
        1.0,
        4712.25,
    )
    assert (ex.permId, ex.clientId, ex.cumQty, ex.orderRef) == (900007, 1, 1.0, "stack-42")
    assert ex.time == dt.datetime(2024, 1, 2, 15, 0, 5, tzinfo=dt.timezone.utc)


def check_exec_details_end():
    assert only(decode(m.exec_details_end(11)), "execDetailsEnd") == (11,)


def check_commission_report():
    (report,) = only(decode(m.commission_report("x.1", 1.86, "USD", None)), "commissionReport")
    assert (report.execId, report.commission, report.currency) == ("x.1", 1.86, "USD")
    # UNSET realised P&L, as TWS sends it on an opening fill
    assert report.realizedPNL == wire.UNSET_DOUBLE or math.isclose(
        report.realizedPNL, wire.UNSET_DOUBLE
    )


def check_completed_orders_end():
    assert only(decode(m.completed_orders_end()), "completedOrdersEnd") == ()


def check_tick_req_params():
    assert only(decode(m.tick_req_params(4, 0.25, "", 3)), "tickReqParams") == (4, 0.25, "", 3)


def check_market_data_type():
    assert only(decode(m.market_data_type(4, 1)), "marketDataType") == (4, 1)


def check_tick_price():
    assert only(decode(m.tick_price(4, 1, 4712.0, 12.0)), "priceSizeTick") == (4, 1, 4712.0, 12.0)


def check_tick_size():
    assert only(decode(m.tick_size(4, 0, 12.0)), "tickSize") == (4, 0, 12.0)


def check_tick_snapshot_end():
    assert only(decode(m.tick_snapshot_end(4)), "tickSnapshotEnd") == (4,)


CHECKS = {
    m.Out.NEXT_VALID_ID: check_next_valid_id,
    m.Out.MANAGED_ACCOUNTS: check_managed_accounts,
    m.Out.ERROR: check_error,
    m.Out.CURRENT_TIME: check_current_time,
    m.Out.CONTRACT_DATA: check_contract_details,
    m.Out.CONTRACT_DATA_END: check_contract_details_end,
    m.Out.HISTORICAL_DATA: check_historical_data,
    m.Out.POSITION_DATA: check_position,
    m.Out.POSITION_END: check_position_end,
    m.Out.ACCOUNT_VALUE: check_account_value,
    m.Out.PORTFOLIO_VALUE: check_portfolio_value,
    m.Out.ACCOUNT_UPDATE_TIME: check_account_update_time,
    m.Out.ACCOUNT_DOWNLOAD_END: check_account_download_end,
    m.Out.ACCOUNT_UPDATE_MULTI: check_account_update_multi,
    m.Out.ACCOUNT_UPDATE_MULTI_END: check_account_update_multi_end,
    m.Out.ACCOUNT_SUMMARY: check_account_summary,
    m.Out.ACCOUNT_SUMMARY_END: check_account_summary_end,
    m.Out.OPEN_ORDER: check_open_order,
    m.Out.OPEN_ORDER_END: check_open_order_end,
    m.Out.ORDER_STATUS: check_order_status,
    m.Out.EXECUTION_DATA: check_exec_details,
    m.Out.EXECUTION_DATA_END: check_exec_details_end,
    m.Out.COMMISSION_REPORT: check_commission_report,
    m.Out.COMPLETED_ORDERS_END: check_completed_orders_end,
    m.Out.TICK_REQ_PARAMS: check_tick_req_params,
    m.Out.MARKET_DATA_TYPE: check_market_data_type,
    m.Out.TICK_PRICE: check_tick_price,
    m.Out.TICK_SIZE: check_tick_size,
    m.Out.TICK_SNAPSHOT_END: check_tick_snapshot_end,
}


def test_every_outgoing_message_kind_has_a_decoder_check():
    declared = {v for k, v in vars(m.Out).items() if not k.startswith("_")}
    assert declared == set(CHECKS)


@pytest.mark.parametrize("msg_id", sorted(CHECKS))
def test_message_decodes_with_ib_async(msg_id):
    CHECKS[msg_id]()


def test_handshake_reply_has_exactly_two_fields():
    fields = m.server_hello("20240102 15:00:00 UTC")
    assert fields == [178, "20240102 15:00:00 UTC"]


def test_golden_real_tws_error_frame_parses_like_ours():
    """A real TWS 321 error (recorded at server version 176, see the protocol notes) has the
    same layout as the fake's error message."""
    real = "4\x002\x00220\x00321\x00Error validating request.-'bN' : cause - Missing order exchange.\x00\x00"
    ours = wire.encode_fields(
        m.error(220, 321, "Error validating request.-'bN' : cause - Missing order exchange.")
    )
    assert ours.decode() == real


def test_cash_fx_execution_and_order_decode_with_fractional_quantities():
    """A cash conversion (CASH on IDEALPRO) is not a whole number of units: ib_async must read
    the quantity, the rate and the pair as the fake sends them."""
    from sysbrokers.IB.fake_tws.catalogue import Catalogue
    from sysbrokers.sim.market import default_market

    pair = Catalogue(default_market()).fx("EUR", "USD").contract
    fx_exec = m.WireExecution(
        exec_id="000f4241.simfx.0000000001.01.01", order_id=9, client_id=1, perm_id=1000001,
        time="20240109 15:00:00 UTC", account="DU1234567", exchange="IDEALPRO", side="SLD",
        shares=1234.5, price=1.0927825, cum_qty=1234.5, avg_price=1.0927825,
        order_ref="systrade/fx/3")
    req_id, c, ex = only(decode(m.exec_details(5, pair, fx_exec)), "execDetails")
    assert (req_id, c.secType, c.symbol, c.currency, c.exchange) == (
        5, "CASH", "EUR", "USD", "IDEALPRO")
    assert (ex.side, ex.shares, ex.price, ex.cumQty, ex.orderRef) == (
        "SLD", 1234.5, 1.0927825, 1234.5, "systrade/fx/3")
    fx_order = m.WireOrder(order_id=9, client_id=1, perm_id=1000001, action="SELL",
                           total_quantity=1234.5, order_type="MKT", lmt_price=None, tif="DAY",
                           account="DU1234567", order_ref="systrade/fx/3")
    order_id, contract, order, state = only(decode(m.open_order(pair, fx_order, "Filled")),
                                            "openOrder")
    assert order_id == 9
    assert (contract.secType, contract.localSymbol) == ("CASH", "EUR.USD")
    assert (order.totalQuantity, order.action, order.orderType) == (1234.5, "SELL", "MKT")
    assert state.status == "Filled"
