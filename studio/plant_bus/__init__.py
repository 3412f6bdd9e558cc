"""The plant bus: the station's live events on the plant's MQTT broker (docs/MQTT.md).

``PlantBus.for_station(settings, info, alert)`` is None when station.yaml has no ``mqtt``.
"""
from studio.plant_bus.publisher import PlantBus, status_line
from studio.plant_bus.settings import BusSettings, problem, station_id

__all__ = ["BusSettings", "PlantBus", "problem", "station_id", "status_line"]
