#!/usr/bin/env python
"""Run any top-level systrade function: ``python run.py module.function --param value ...``.

Examples::

    python run.py sysproduction.backup_db_to_csv.backup_db_to_csv --destination /tmp/x
    python run.py backup_db_to_csv.backup_db_to_csv          # sysproduction. is implied
    python run.py --help update_fx_prices.update_fx_prices   # parameters, types and defaults

See :mod:`syscore.run_function` for parameter types, prompting and exit codes.
"""
import sys

from syscore.run_function import main

if __name__ == "__main__":
    sys.exit(main())
