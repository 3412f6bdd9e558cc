"""The link from the station to the PLC, by spec string.

A spec names a link and its argument: ``sim`` (registers in memory, for
running without a PLC), ``modbus-server://HOST:PORT`` (the station serves
Modbus TCP holding registers that the PLC polls) or
``modbus-client://HOST:PORT?unit=1&base=100`` (the PLC is the Modbus server;
the station writes the same registers into it) or ``opcua-server://HOST:PORT``
(the station is an OPC UA server). Links are found in ``PLC_LINKS`` and
imported only when used, so ``sim`` never loads pymodbus or asyncua.

Every link keeps the register image of ``register_map``; ``publish``,
``beat`` and ``set_state`` are the only writes the station makes. Links with
the trigger handshake (``supports_trigger``) also hand PLC triggers to the
station (``wait_trigger``) and tell the age of the PLC's own heartbeat
(``plc_heartbeat_age``).
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from studio.core.errors import PlcError
from studio.core.registry import Registry
from studio.plc import register_map as rm
from studio.plc.handshake import Handshake

__all__ = ["PLC_LINKS", "PlcLink", "PlcTrigger", "open_plc", "spec_help", "parse_spec"]

PLC_LINKS = Registry("plc")
PLC_LINKS.register("sim", "studio.plc.sim:SimPlc")
PLC_LINKS.register("modbus-server", "studio.plc.modbus_server:ModbusServerPlc")
PLC_LINKS.register("modbus-client", "studio.plc.modbus_client:ModbusClientPlc")
PLC_LINKS.register("opcua-server", "studio.plc.opcua_server:OpcUaServerPlc")

# What a person can type; shown whenever a spec is wrong.
SPEC_FORMS = {
    "sim": "sim                              registers in memory, no PLC needed",
    "modbus-server": "modbus-server://HOST:PORT        serve Modbus TCP holding registers the PLC polls "
                     "(e.g. modbus-server://0.0.0.0:5020)",
    "modbus-client": "modbus-client://HOST:PORT?unit=1&base=100  write the registers into the PLC, itself a "
                     "Modbus TCP server (unit id and first register optional)",
    "opcua-server": "opcua-server://HOST:PORT[?anonymous=1&security=none]  serve OPC UA (Basic256Sha256, "
                    "user accounts) (e.g. opcua-server://0.0.0.0:4840)",
}


@dataclass
class PlcTrigger:
    """One trigger from the PLC: the part id it gave, and what to call when the camera fires for it."""
    part_id: str
    accepted: Callable[[int], None]     # called with the station's part number, right before the camera fires


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
        # the register image 0..47 (12..19 unused); a reader sees a write all or not at all
        self._image = [0] * rm.SERVED_SIZE
        self._image_lock = threading.Lock()
        self.handshake = Handshake(self._write)
        # the PLC's own verdict of a part (incumbent block 50..59, shadow mode): called with
        # (part counter low 16 bits, PLC part id, verdict code) on the PLC's thread; must not block
        self.on_incumbent: Callable[[int, str, int], None] | None = None

    # ---- what each link provides -------------------------------------
    @abstractmethod
    def start(self) -> None:
        """Open the link; ``PlcError`` when it cannot be opened."""

    @abstractmethod
    def stop(self) -> None:
        """Close the link and free what it holds (ports, threads). Idempotent."""

    def registers(self) -> list[int]:
        """A snapshot of registers 0..REGISTER_COUNT-1."""
        with self._image_lock:
            return self._image[:rm.REGISTER_COUNT]

    def handshake_registers(self) -> list[int]:
        """A snapshot of the handshake block, addresses 20..47."""
        with self._image_lock:
            return self._image[rm.HANDSHAKE:rm.HANDSHAKE_END]

    @abstractmethod
    def describe(self) -> str:
        """One line for a person: what the PLC should connect to."""

    def _write(self, address: int, values: list[int]) -> None:
        """Write consecutive registers in one atomic step (a reader sees all or none)."""
        with self._image_lock:
            self._image[address:address + len(values)] = values

    # ---- the station's writes ----------------------------------------
    def publish(self, part: int, verdict_code: int, score: float, class_id: int, *,
                part_id: str = "", defect_class: str = "") -> None:
        """The last part's counter, verdict, score and class, in one write (registers 1..4), then the
        handshake's result (33..45) with its part id and the ResultValid toggle, in one write.

        ``part_id`` is the PLC's own id of the part (from its trigger), ``defect_class``
        the class name; links that can carry text show them."""
        words = rm.result_words(part, verdict_code, score, class_id)
        with self._write_lock:
            self._write(rm.PART_COUNTER, words)
            self.handshake.publish(part, verdict_code, score, class_id, part_id)

    def publish_watching(self, part: int, *, part_id: str = "") -> None:
        """Shadow mode (station state 4, watching only): the part counter moves, the verdict, score and
        class registers stay 0, so no reject gate acts on the station; the handshake result likewise."""
        with self._write_lock:
            self._write(rm.PART_COUNTER, [int(part) & rm.WORD, 0, 0, 0])
            self.handshake.publish_watching(part, part_id)

    # ---- what the PLC tells the station -------------------------------
    def wait_trigger(self, stop: threading.Event, timeout: float) -> PlcTrigger | None:
        """The PLC's next trigger; None after ``timeout`` seconds or once ``stop`` is set.

        A link without a trigger just waits."""
        if not self.supports_trigger:
            stop.wait(timeout)
            return None
        got = self.handshake.wait_trigger(stop, timeout)
        return None if got is None else PlcTrigger(*got)

    def stop_triggers(self) -> None:
        """The station takes no more triggers (TriggerReady 0)."""
        self.handshake.stop_waiting()

    def plc_heartbeat_age(self) -> float | None:
        """Seconds since the PLC's own heartbeat (register 20) last changed; None when it never did."""
        return self.handshake.plc_heartbeat_age()

    def poll_age(self) -> float | None:
        """Seconds since a PLC last asked the station anything (server links); None when never or unknown."""
        return None

    def link_problem(self) -> str | None:
        """Why the link to the PLC is down right now, in words; None while it works."""
        return None

    def handshake_counts(self) -> dict[str, int]:
        """Trigger overruns and results replaced before the PLC acknowledged them."""
        return self.handshake.counts()

    def plc_write(self, address: int, values: list[int]) -> None:
        """What a PLC writes into the handshake block (the sim's way in, the Modbus server's hook, what
        the Modbus client read): into the image, so the PLC reads back what it wrote, and to the handshake.
        Only the PLC's words (20..30) are taken; the station's are never the PLC's to change."""
        values = [int(v) & rm.WORD for v in values]
        with self._image_lock:
            for i, value in enumerate(values):
                if address + i in rm.PLC_WORDS or address + i in rm.INCUMBENT_WORDS:
                    self._image[address + i] = value
            incumbent = self._image[rm.INCUMBENT_WORDS.start:rm.INCUMBENT_WORDS.stop]
        self.handshake.plc_wrote(address, values)
        if address <= rm.INCUMBENT_VERDICT < address + len(values):
            self._incumbent(incumbent)

    def _incumbent(self, words: list[int]) -> None:
        """The PLC wrote its own verdict (register 51): hand it on, keyed by counter or part id."""
        verdict = words[rm.INCUMBENT_VERDICT - rm.INCUMBENT_WORDS.start]
        if self.on_incumbent is None or verdict not in (rm.VERDICT_PASS, rm.VERDICT_REJECT):
            return
        part_id = rm.part_id_text(words[rm.INCUMBENT_PART_ID - rm.INCUMBENT_WORDS.start:])
        try:
            self.on_incumbent(words[0], part_id, verdict)
        except Exception:           # the PLC's thread must never see the station's error
            import logging

            logging.getLogger(__name__).exception("incumbent verdict from the PLC")

    def beat(self) -> None:
        """Advance the heartbeat register by one (wraps at 65536)."""
        with self._write_lock:
            self._heartbeat = (self._heartbeat + 1) & rm.WORD
            self._write(rm.HEARTBEAT, [self._heartbeat])

    def set_state(self, code: int) -> None:
        if code not in (rm.STATE_STOPPED, rm.STATE_RUNNING, rm.STATE_FAULTED, rm.STATE_LOG_FAILING,
                        rm.STATE_WATCHING):
            raise ValueError(f"station state {code!r} is not 0 (stopped), 1 (running), 2 (faulted), "
                             "3 (running, not logging) or 4 (watching only)")
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
