"""The production data blob: :class:`sysdata.data_blob.DataBlob` wired with the broker that
the ``broker`` config key names (:func:`sysbrokers.factory.broker_from_blob`).

``sysdata`` sits above ``sysbrokers`` in ARCHITECTURE.md's table, so the blob is given its
broker factory here, where the process is composed, instead of importing it itself.
"""
from __future__ import annotations

from pathlib import Path

from sysbrokers.factory import broker_from_blob
from syscore.config_models import SystradeConfig
from sysdata.data_blob import DataBlob
from sysdata.home_record import HomeAccess


def production_blob(home: Path | None = None, process_name: str = "systrade",
                    config: SystradeConfig | None = None,
                    access: HomeAccess = HomeAccess.USE) -> DataBlob:
    """:meth:`DataBlob.from_config` (same arguments) with the configured broker."""
    return DataBlob.from_config(home, process_name=process_name, config=config, access=access,
                                broker_factory=broker_from_blob)
