"""Core utilities shared by every package (no imports of the other project packages)."""

#: the project's own top-level packages: what ``run.py`` may run (:mod:`syscore.run_function`)
#: and what ``logging.component_levels`` may name (:mod:`syscore.log_components`)
PROJECT_PACKAGES = ("syscore", "sysobjects", "sysdata", "sysbrokers", "systems", "sysexecution",
                    "syscontrol", "sysexo", "syslogdiag", "sysproduction", "sysinit")
