"""The link from the station to the PLC, by spec string.

A spec names a link and its argument: ``sim`` (registers in memory, for
running without a PLC), ``modbus-server://HOST:PORT`` (the station serves
Modbus TCP holding registers that the PLC polls) or
``opcua-server://HOST:PORT`` (the station is an OPC UA server). Links are
found in ``PLC_LINKS`` and imported only when used, so ``sim`` never loads
pymodbus or asyncua.

Every link keeps the register image of ``register_map``; ``publish``,
``beat`` and ``set_state`` are the only writes the station makes.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from studio.core.errors import PlcError
from studio.core.registry import Registry
from studio.plc import register_map as rm

PLC_LINKS = Registry("plc")
PLC_LINKS.register("sim", "studio.plc.sim:SimPlc")
PLC_LINKS.register("modbus-server", "studio.plc.modbus_server:ModbusServerPlc")
PLC_LINKS.register("opcua-server", "studio.plc.opcua_server:OpcUaServerPlc")

# What a person can type; shown whenever a spec is wrong.
SPEC_FORMS = {
    "sim": "sim                              registers in memory, no PLC needed",
    "modbus-server": "modbus-server://HOST:PORT        serve Modbus TCP holding registers the PLC polls "
                     "(e.g. modbus-server://0.0.0.0:5020)",
    "opcua-server": "opcua-server://HOST:PORT[?anonymous=1&security=none]  serve OPC UA (Basic256Sha256, "
                    "user accounts) (e.g. opcua-server://0.0.0.0:4840)",
}


def spec_help() -> str:
    return "use one of:\n    " + "\n    ".join(SPEC_FORMS.get(n, n) for n in PLC_LINKS.names())


class PlcLink(ABC):
    """One PLC link. ``publish`` and ``beat`` must take microseconds: the
    station calls them under the actuation deadline."""

    spec: str = ""
    supports_trigger: bool = False      # the PLC can trigger inspections (``wait_trigger``)
    # from_spec takes data_dir= and settings= (station.yaml): certificates, accounts (open_plc)
    uses_station_files: bool = False

    def __init__(self, spec: str = ""):
        self.spec = spec
        self._heartbeat = 0
        # one writer at a time: the actuation and heartbeat threads both write
        self._write_lock = threading.Lock()

    # ---- what each link provides -------------------------------------
    @abstractmethod
    def start(self) -> None:
        """Open the link; ``PlcError`` when it cannot be opened."""

    @abstractmethod
    def stop(self) -> None:
        """Close the link and free what it holds (ports, threads). Idempotent."""

    @abstractmethod
    def registers(self) -> list[int]:
        """A snapshot of registers 0..REGISTER_COUNT-1."""

    @abstractmethod
    def describe(self) -> str:
        """One line for a person: what the PLC should connect to."""

    @abstractmethod
    def _write(self, address: int, values: list[int]) -> None:
        """Write consecutive registers in one atomic step (a reader sees all or none)."""

    # ---- the station's writes ----------------------------------------
    def publish(self, part: int, verdict_code: int, score: float, class_id: int, *,
                part_id: str = "", defect_class: str = "") -> None:
        """The last part's counter, verdict, score and class, in one write (registers 1..4).

        ``part_id`` is the PLC's own id of the part (from its trigger), ``defect_class``
        the class name; links that can carry text show them."""
        words = rm.result_words(part, verdict_code, score, class_id)
        with self._write_lock:
            self._write(rm.PART_COUNTER, words)

    def beat(self) -> None:
        """Advance the heartbeat register by one (wraps at 65536)."""
        with self._write_lock:
            self._heartbeat = (self._heartbeat + 1) & rm.WORD
            self._write(rm.HEARTBEAT, [self._heartbeat])

    def set_state(self, code: int) -> None:
        if code not in (rm.STATE_STOPPED, rm.STATE_RUNNING, rm.STATE_FAULTED, rm.STATE_LOG_FAILING):
            raise ValueError(f"station state {code!r} is not 0 (stopped), 1 (running), 2 (faulted) "
                             "or 3 (running, not logging)")
        with self._write_lock:
            self._write(rm.STATE, [code])

    def set_model(self, model_id: str | None) -> None:
        with self._write_lock:
            self._write(rm.MODEL, [rm.model_short_id(model_id)])

    def __enter__(self) -> "PlcLink":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def parse_spec(spec: str) -> tuple[str, str]:
    """``"modbus-server://h:p"`` -> ``("modbus-server", "h:p")``; ``"sim"`` -> ``("sim", "")``."""
    spec = (spec or "").strip()
    if "://" in spec:
        name, _, arg = spec.partition("://")
    else:
        name, _, arg = spec.partition(":")
    return name.strip().lower(), arg.strip()


def open_plc(spec: str, *, data_dir: str | Path | None = None,
             settings: dict[str, Any] | None = None) -> PlcLink:
    """The link for ``spec``, started. ``PlcError`` says which specs exist.

    ``data_dir`` (the station's data directory) and ``settings`` (station.yaml)
    reach the links that keep files or accounts (``uses_station_files``)."""
    name, arg = parse_spec(spec)
    if name not in PLC_LINKS:
        raise PlcError(f"unknown PLC link '{spec}'", field="plc", hint=spec_help())
    cls = PLC_LINKS.get(name)
    if getattr(cls, "uses_station_files", False):
        link = cls.from_spec(arg, spec, data_dir=data_dir, settings=settings or {})
    else:
        link = cls.from_spec(arg, spec)
    link.start()
    return link
