"""This PC's name on the plant network: the default station id (one rule for the central store and the plant bus)."""
from __future__ import annotations

import socket


def default_station_id() -> str:
    """The host name without its domain: the station id when station.yaml's ``station_id`` names none."""
    return socket.gethostname().split(".")[0] or "station"
