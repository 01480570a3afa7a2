"""Reports: functions ``(data, start, end) -> Report`` rendered to text and HTML (see docs/reports.md)."""
