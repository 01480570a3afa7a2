"""Two backups into one folder at the same time: the second is refused, the first completes,
and the folder always holds a complete backup (real processes, real files)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from sysdata.backup import check_backup
from sysdata.owned_dirs import DirectoryBusy
from sysproduction.backup_db_to_csv import backup_db_to_csv
from tests.blob_helpers import FixedClock, make_blob

# backup A, paused after its first series (its .partial half-written) until told to go on
PAUSED_BACKUP = textwrap.dedent("""
    import sys
    from pathlib import Path
    import sysdata.backup as backup
    from tests.blob_helpers import FixedClock, make_blob

    original, paused = backup._backup_series, []

    def pausing(*args, **kwargs):
        result = original(*args, **kwargs)
        if not paused:
            paused.append(True)
            print("paused", flush=True)
            sys.stdin.readline()
        return result

    backup._backup_series = pausing
    data = make_blob(Path(sys.argv[1]), clock=FixedClock("2024-03-07 21:00"))
    backup.backup_to_csv(data, Path(sys.argv[2]))
    data.close()
    print("done", flush=True)
""")


def test_a_second_backup_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    home, target = tmp_path / "home", tmp_path / "backup"
    blob = make_blob(home, clock=FixedClock("2024-03-07 21:00"))
    index = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    for code in ("CORN", "GOLD", "US10"):
        blob.timeseries.write("adjusted_prices", code,
                              pd.DataFrame({"price": [1.0, 2, 3, 4, 5]}, index=index))
    backup_db_to_csv(destination=str(target), data=blob)  # a good backup is in place
    first = subprocess.Popen([sys.executable, "-c", PAUSED_BACKUP, str(home), str(target)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    try:
        assert first.stdout.readline().strip() == "paused"
        assert target.with_name("backup.partial").is_dir()  # A is mid-write
        # before the fix this deleted A's .partial, wrote its own and swapped it in; A then
        # finished into a recreated, half-empty .partial and swapped that over it
        with pytest.raises(DirectoryBusy, match="another process is writing"):
            backup_db_to_csv(destination=str(target), data=blob)
        first.stdin.write("\n")
        first.stdin.flush()
        out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0 and out.strip() == "done"
    check_backup(target)  # complete: every file of the manifest present, counts equal
    backup_db_to_csv(destination=str(target), data=blob)  # the lock went with A
    blob.close()
