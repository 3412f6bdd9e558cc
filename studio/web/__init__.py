"""The station's read-only web dashboard (Starlette + uvicorn), for supervisors and quality engineers.

``studio station run ... --web HOST:PORT`` (or ``web:`` in station.yaml) serves
it beside the station from a child process; ``studio station web DATA_DIR
--listen HOST:PORT`` serves any data directory on its own (a supervisor PC, a
copy of a line's data). It reads the result log read-only and the report
(``studio.monitoring.report.build_report``); it is never imported by the
station's pipeline, and nothing it serves changes anything. Every asset is in
``studio/web/static`` (package data): the line is air-gapped.
"""
from studio.web.listen import parse_listen, resolve_listen
from studio.web.server import DashboardProcess, DashboardThread, start_dashboard

__all__ = ["DashboardProcess", "DashboardThread", "parse_listen", "resolve_listen", "start_dashboard"]
