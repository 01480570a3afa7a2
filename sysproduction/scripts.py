"""Console scripts for top-level functions (declared in ``pyproject.toml``).

Each script takes the function's parameters as ``--name value`` exactly like
``python run.py module.function --name value``; a missing parameter is prompted for at a
terminal and is an error naming it under cron.
"""
from __future__ import annotations

import sys

from syscore.run_function import run_function

FUNCTIONS = {
    "backup_db_to_csv": "sysproduction.backup_db_to_csv.backup_db_to_csv",
    "backup_state_store": "sysproduction.backup_state_store.backup_state_store",
    "restore_db_from_csv": "sysproduction.restore_db_from_csv.restore_db_from_csv",
    "update_fx_prices": "sysproduction.update_fx_prices.update_fx_prices",
    "update_sampled_contracts": "sysproduction.update_sampled_contracts.update_sampled_contracts",
    "update_historical_prices": "sysproduction.update_historical_prices.update_historical_prices",
    "update_multiple_adjusted_prices":
        "sysproduction.update_multiple_adjusted_prices.update_multiple_adjusted_prices",
    "roll_adjusted_prices": "sysproduction.roll_adjusted_prices.roll_adjusted_prices",
    "import_pysystemtrade_csv": "sysinit.import_pysystemtrade_csv.import_pysystemtrade_csv",
    "init_from_sim_universe": "sysinit.init_from_sim_universe.init_from_sim_universe",
}


def _run(name: str) -> None:
    sys.exit(run_function([FUNCTIONS[name], *sys.argv[1:]], prog=name))


def backup_db_to_csv() -> None:
    _run("backup_db_to_csv")


def backup_state_store() -> None:
    _run("backup_state_store")


def restore_db_from_csv() -> None:
    _run("restore_db_from_csv")


def update_fx_prices() -> None:
    _run("update_fx_prices")


def update_sampled_contracts() -> None:
    _run("update_sampled_contracts")


def update_historical_prices() -> None:
    _run("update_historical_prices")


def update_multiple_adjusted_prices() -> None:
    _run("update_multiple_adjusted_prices")


def roll_adjusted_prices() -> None:
    _run("roll_adjusted_prices")


def import_pysystemtrade_csv() -> None:
    _run("import_pysystemtrade_csv")


def init_from_sim_universe() -> None:
    _run("init_from_sim_universe")
