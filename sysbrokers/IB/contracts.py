"""Our instruments and contract months as IB contracts, and back.

The mapping is the IB futures configuration in the state store
(:class:`sysdata.broker_config.IBFuturesConfig`, loaded by ``init_from_sim_universe`` or
imported from pysystemtrade's ``ib_config_futures.csv``): IB symbol, exchange, currency,
multiplier, price magnifier (``price_multiplier``) and ``ignore_weekly``.

* Contract months and expiries come from IB's contract details (``contractMonth``,
  ``realExpirationDate``), never from our own rules.
* Prices are passed through unchanged: IB quotes a contract with a price magnifier in the
  magnified unit (grains in cents), which is our unit; the value of one of our price points is
  the IB multiplier divided by the magnifier (5000 / 100 = 50 USD per cent for corn).
* No match (error 200 or an empty answer) and several matches (weeklies, several trading
  classes) both raise :class:`UnknownContract` with one line saying which; with
  ``ignore_weekly`` only the trading class equal to the IB symbol is kept.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ib_async import Contract, ContractDetails, Forex, Future, RequestError

from sysbrokers.errors import UnknownContract
from sysbrokers.IB.connection import IBConnection
from sysbrokers.IB.hours import WeeklyHours
from sysbrokers.objects import BrokerContractDetails
from syscore.exceptions import InvalidData
from sysdata.broker_config import IBFuturesConfig
from sysobjects.contracts import validate_contract_date

log = logging.getLogger(__name__)

NO_SECURITY_DEFINITION = 200


@dataclass(frozen=True)
class IBContract:
    """One futures contract known to IB: our names, IB's contract and details."""

    instrument_code: str
    contract_date: str  # 'YYYYMM', IB's contractMonth
    contract: Contract
    details: ContractDetails
    config: IBFuturesConfig

    @property
    def magnifier(self) -> float:
        return float(self.details.priceMagnifier or 1)

    @property
    def point_value(self) -> float:
        """Value of one of our price points in the contract currency."""
        return float(self.contract.multiplier or 1) / self.magnifier

    def broker_details(self) -> BrokerContractDetails:
        d, c = self.details, self.contract
        expiry_text = (d.realExpirationDate or c.lastTradeDateOrContractMonth)[:8]
        return BrokerContractDetails(
            instrument_code=self.instrument_code,
            contract_date=self.contract_date,
            expiry=dt.datetime.strptime(expiry_text, "%Y%m%d").date(),
            multiplier=self.point_value,
            currency=c.currency,
            tick_size=float(d.minTick),
            exchange=c.exchange,
            description=d.longName or "",
        )

    def hours(self) -> WeeklyHours:
        return WeeklyHours.from_ib(self.details.tradingHours, self.details.timeZoneId)


class ContractResolver:
    """Contract look-ups through one :class:`IBConnection`, cached by conId and month."""

    def __init__(self, connection: IBConnection, mapping: list[IBFuturesConfig]):
        self.connection = connection
        self.mapping = {c.instrument_code: c for c in mapping}
        self._by_month: dict[tuple[str, str], IBContract] = {}
        self._by_con_id: dict[int, IBContract] = {}
        self._fx: dict[tuple[str, str], tuple[Contract, ContractDetails]] = {}

    def instruments(self) -> list[str]:
        return sorted(self.mapping)

    def config(self, instrument_code: str) -> IBFuturesConfig:
        try:
            return self.mapping[instrument_code]
        except KeyError:
            raise UnknownContract(f"no IB mapping for instrument {instrument_code!r}") from None

    def _template(self, cfg: IBFuturesConfig, month: str = "") -> Future:
        multiplier = ""
        if cfg.ib_multiplier:
            m = float(cfg.ib_multiplier)
            multiplier = str(int(m)) if m.is_integer() else repr(m)
        return Future(symbol=cfg.ib_symbol, lastTradeDateOrContractMonth=month,
                      exchange=cfg.ib_exchange, currency=cfg.ib_currency or "",
                      multiplier=multiplier)

    def _details(self, contract: Contract, what: str) -> list[ContractDetails]:
        try:
            return self.connection.run(lambda: self.connection.ib.reqContractDetailsAsync(contract),
                                       f"contract details of {what}")
        except RequestError as exc:
            if exc.code == NO_SECURITY_DEFINITION:
                return []
            raise UnknownContract(f"IB error {exc.code} for {what}: {exc.message}") from None

    def _keep(self, cfg: IBFuturesConfig, found: list[ContractDetails]) -> list[ContractDetails]:
        if cfg.ignore_weekly:
            found = [d for d in found
                     if (d.contract.tradingClass or cfg.ib_symbol) == cfg.ib_symbol]
        return found

    def _wrap(self, cfg: IBFuturesConfig, d: ContractDetails) -> IBContract:
        c = d.contract
        month = (d.contractMonth or c.lastTradeDateOrContractMonth)[:6]
        item = IBContract(cfg.instrument_code, month, c, d, cfg)
        self._by_month[(cfg.instrument_code, month)] = item
        self._by_con_id[c.conId] = item
        return item

    def future(self, instrument_code: str, contract_date: str) -> IBContract:
        """The contract of ``instrument_code`` for ``'YYYYMM'`` (contract month; also
        pysystemtrade's ``'YYYYMM00'``, as stores keep it) or ``'YYYYMMDD'`` (expiry), expired
        ones included."""
        cfg = self.config(instrument_code)
        try:
            contract_date = validate_contract_date(contract_date)
        except InvalidData as exc:
            raise UnknownContract(f"{instrument_code}: {exc}") from None
        key = (instrument_code, contract_date[:6])
        if len(contract_date) == 6 and key in self._by_month:
            return self._by_month[key]
        template = self._template(cfg, contract_date)
        template.includeExpired = True
        what = f"{instrument_code} {contract_date} ({cfg.ib_symbol} on {cfg.ib_exchange})"
        found = self._keep(cfg, self._details(template, what))
        if len(contract_date) == 6 and len(found) > 1:
            exact = [d for d in found if (d.contractMonth or "")[:6] == contract_date]
            found = exact if len(exact) == 1 else found
        if not found:
            raise UnknownContract(f"IB has no contract {what} (no security definition, 200)")
        if len(found) > 1:
            listed = ", ".join(sorted(d.contract.localSymbol for d in found))
            raise UnknownContract(f"IB contract {what} is ambiguous: {len(found)} matches "
                                  f"({listed}); set ignore_weekly or a trading class")
        return self._wrap(cfg, found[0])

    def active(self, instrument_code: str) -> list[IBContract]:
        """Listed contracts not expired, nearest expiry first."""
        cfg = self.config(instrument_code)
        what = f"{instrument_code} ({cfg.ib_symbol} on {cfg.ib_exchange})"
        found = self._keep(cfg, self._details(self._template(cfg), what))
        if not found:
            raise UnknownContract(f"IB lists no contract of {what}")
        items = [self._wrap(cfg, d) for d in found]
        return sorted(items, key=lambda x: (x.broker_details().expiry, x.contract_date))

    def from_ib(self, contract: Contract) -> IBContract | None:
        """Our view of a contract IB reported (position, execution); None if not ours."""
        if contract.conId in self._by_con_id:
            return self._by_con_id[contract.conId]
        if contract.secType != "FUT":
            return None
        cfgs = [c for c in self.mapping.values()
                if c.ib_symbol == contract.symbol
                and (not c.ib_currency or c.ib_currency == contract.currency)]
        if not cfgs:
            return None
        probe = Contract(conId=contract.conId, exchange=contract.exchange or cfgs[0].ib_exchange)
        probe.includeExpired = True
        found = self._details(probe, f"conId {contract.conId}")
        if len(found) != 1:
            return None
        d = found[0]
        for cfg in cfgs:
            if d.contract.exchange == cfg.ib_exchange or len(cfgs) == 1:
                return self._wrap(cfg, d)
        return None

    def fx(self, ccy1: str, ccy2: str) -> tuple[Contract, ContractDetails, bool]:
        """The IDEALPRO pair for ``ccy1``/``ccy2`` and whether IB quotes it inverted
        (IB lists EUR.USD and USD.JPY, never USD.EUR or JPY.USD)."""
        for base, quote, inverted in ((ccy1, ccy2, False), (ccy2, ccy1, True)):
            key = (base, quote)
            if key not in self._fx:
                found = self._details(Forex(pair=f"{base}{quote}"), f"FX {base}.{quote}")
                if len(found) == 1:
                    self._fx[key] = (found[0].contract, found[0])
            if key in self._fx:
                return (*self._fx[key], inverted)
        raise UnknownContract(f"IB has no FX pair {ccy1}.{ccy2} nor {ccy2}.{ccy1}")
