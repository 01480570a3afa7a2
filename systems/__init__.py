"""Backtest engine: the classic pysystemtrade futures system, vectorised.

Entry points: ``systems.run_backtest.run_backtest`` (config file + CSV data directory),
``systems.system.System`` (any stage for any instrument), ``systems.saved_state`` (save and
reopen a run as data). See docs/systems.md.
"""
