"""Generated launch files, validated by their own parsers: croniter for crontab lines,
supervisor's config parser, ``systemd-analyze verify`` where the machine has it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from croniter import croniter

from syscontrol.schedule_files import SchedulePaths, _cron_days, crontab, supervisor, systemd
from syscore.config_models import ControlConfig, ProcessConfig

BIN = Path(sys.executable).parent


def control(**processes) -> ControlConfig:
    return ControlConfig(process_configuration={
        name: ProcessConfig(**cfg) for name, cfg in processes.items()})


CONTROL = control(
    run_daily_prices_updates={"start_time": "20:00", "end_time": "23:59",
                              "methods": {"update_fx_prices": {"max_executions": 1}}},
    run_stack_handler={"start_time": "06:45", "end_time": "22:00", "timezone": "Europe/London",
                       "methods": {"process_fills": {"frequency": 0}}},
    run_reports={"start_time": "22:30", "end_time": "06:00", "timezone": "America/New_York",
                 "run_on_weekends": True, "methods": {"report": {"max_executions": 1}}},
)


@pytest.fixture
def paths(tmp_path) -> SchedulePaths:
    return SchedulePaths(home=tmp_path / "home", bin_dir=BIN, echo_dir=tmp_path / "echos",
                         working_dir=tmp_path / "home")


def cron_entries(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or "=" in line.split()[0]:
            continue
        fields = line.split()
        expression = " ".join(fields[:5])
        assert croniter.is_valid(expression), line
        entries[Path(fields[8] if fields[5] == "cd" else fields[5]).name] = expression
    return entries


def test_crontab_lines_parse_and_land_at_the_right_times(paths):
    entries = cron_entries(crontab(CONTROL, paths))
    assert entries["run_daily_prices_updates"] == "0 20 * * 1-5"
    # 06:45 London is 06:45 UTC in winter; one hour earlier for daylight saving
    assert entries["run_stack_handler"] == "45 5 * * 1-5"
    # 22:30 New York is 03:30 UTC next day, less one hour; every day
    assert entries["run_reports"] == "30 2 * * *"


@pytest.mark.parametrize("shift,expected", [(0, "1-5"), (1, "2-6"), (-1, "0-4")])
def test_cron_weekdays_follow_a_day_shift(shift, expected):
    assert _cron_days(ProcessConfig(), shift) == expected


def test_crontab_appends_to_echo_files(paths):
    text = crontab(CONTROL, paths)
    assert f">> {paths.echo_dir / 'run_stack_handler.txt'} 2>&1" in text
    assert f"SYSTRADE_HOME={paths.home}" in text


def test_supervisor_programs_parse_with_supervisors_own_parser(paths):
    from supervisor.options import ServerOptions, UnhosedConfigParser

    paths.echo_dir.mkdir()  # supervisor checks that log folders exist

    parser = UnhosedConfigParser()
    parser.read_string(supervisor(CONTROL, paths))
    options = ServerOptions()
    programs = {}
    for section in parser.sections():
        for config in options.processes_from_section(parser, section, section.split(":")[1]):
            programs[config.name] = config
    assert set(programs) == {"systrade_run_stack_handler"}  # only the long-running one
    stack = programs["systrade_run_stack_handler"]
    assert stack.command == str(BIN / "run_stack_handler")
    assert stack.exitcodes == [0] and stack.stopsignal.name == "SIGTERM"
    assert stack.stdout_logfile == str(paths.echo_dir / "run_stack_handler.txt")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed on this machine")
def test_systemd_units_verify(paths, tmp_path):
    units = systemd(control(run_backups={"start_time": "22:00", "end_time": "23:59",
                                         "methods": {"backup_db_to_csv": {}}}), paths)
    folder = tmp_path / "units"
    folder.mkdir()
    for name, text in units.items():
        (folder / name).write_text(text)
    assert set(units) == {"systrade-run_backups.service", "systrade-run_backups.timer"}
    assert "OnCalendar=Mon..Fri *-*-* 22:00:00 UTC" in units["systrade-run_backups.timer"]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             *[str(folder / n) for n in units]],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # the check is real: a bad calendar is refused
    (folder / "systrade-run_backups.timer").write_text(
        units["systrade-run_backups.timer"].replace("22:00:00", "25:99:00"))
    bad = subprocess.run(["systemd-analyze", "verify", "--man=no",
                          str(folder / "systrade-run_backups.timer")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
