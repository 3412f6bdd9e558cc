"""The on-line inspection station (no Qt): ``Station(project).run()``."""
from studio.station.data_dir import resolve_data_dir  # noqa: F401
from studio.station.part import PartResult  # noqa: F401
from studio.station.runtime import Station  # noqa: F401
