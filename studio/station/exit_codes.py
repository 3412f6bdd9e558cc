"""The exit codes of ``studio station run``, headless and ``--kiosk`` alike (README, "Command line").

* 0 — done: ``--parts`` were all inspected, or the operator stopped the station.
* 2 — could not start: camera, model, PLC link, ``station.yaml``, display (any
  ``StudioError`` before the first part; ``studio.cli.main`` prints it).
* 3 — stopped by a fault (a stage crashed or hung, the PLC write failed, ...).
"""
from __future__ import annotations

from typing import Any

DONE = 0
NOT_STARTED = 2
FAULT = 3


def for_station(station: Any) -> int:
    """The exit code of a station that has stopped."""
    return FAULT if getattr(station, "fault", None) else DONE
