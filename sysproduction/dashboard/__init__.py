"""``systrade dashboard``: a read-only web dashboard of a home (docs/dashboard.md).

:mod:`.panels` gathers what each page shows from the same functions as ``systrade status``
(:mod:`sysproduction.system_status`) and the reports (:mod:`sysproduction.reporting.data`);
:mod:`.figures` draws the plots (matplotlib, SVG); :mod:`.app` is the Flask application;
:mod:`.server` serves it with waitress.
"""
