"""Process control: statuses, run windows, method timers and start decisions.

Pure rules live here (no I/O); the stored records are in :mod:`sysdata.process_control`.
"""
