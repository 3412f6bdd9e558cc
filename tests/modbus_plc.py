"""Test helpers: a PLC that is itself a Modbus TCP server, and a PLC program that polls the station.

Both are real pymodbus over 127.0.0.1 on free ports; nothing is mocked.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time

from studio.plc import register_map as rm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlcServer:
    """A PLC's own holding registers 0..size-1 (all writable), served by pymodbus on ``port``, unit 1."""

    def __init__(self, port: int | None = None, size: int = 400, unit: int = 1):
        self.port = port or free_port()
        self.size, self.unit = size, unit
        self.memory = [0] * size
        self.lock = threading.Lock()
        self.writes: list[tuple[int, list[int]]] = []
        self._loop = self._server = self._thread = None

    def start(self) -> "PlcServer":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(10), "the test PLC did not start"
        return self

    def _serve(self, ready: threading.Event) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        async def action(fc, _start, address, count, current, set_values):
            with self.lock:
                if set_values:
                    self.memory[address:address + len(set_values)] = list(set_values)
                    self.writes.append((address, list(set_values)))
                current[:self.size] = self.memory
            return None

        async def main():
            device = SimDevice(self.unit, simdata=[SimData(0, values=[0] * self.size, datatype=DataType.REGISTERS)],
                               action=action)
            self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
            await self._server.listen()
            self._loop = asyncio.get_running_loop()
            ready.set()
            await self._server.serving

        asyncio.run(main())

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5)
            self._thread.join(5)
        self._loop = None

    def read(self, address: int, count: int) -> list[int]:
        with self.lock:
            return self.memory[address:address + count]

    def write(self, address: int, values: list[int]) -> None:
        """The PLC program writing its own memory."""
        with self.lock:
            self.memory[address:address + len(values)] = list(values)


def until(predicate, timeout: float = 5.0, step: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class PollingPlc:
    """A PLC program that polls the station's Modbus server: triggers parts and acknowledges results."""

    def __init__(self, port: int):
        from pymodbus.client import ModbusTcpClient

        self.client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
        assert self.client.connect()
        self.trigger = 0
        self.beat = 0

    def close(self) -> None:
        self.client.close()

    def read(self, address: int, count: int) -> list[int]:
        rr = self.client.read_holding_registers(address, count=count)
        assert not rr.isError(), rr
        return list(rr.registers)

    def write(self, address: int, values: list[int]):
        return self.client.write_registers(address, values)

    def heartbeat(self) -> None:
        self.beat = (self.beat + 1) & rm.WORD
        assert not self.write(rm.PLC_HEARTBEAT, [self.beat]).isError()

    def fire(self, part_id: str) -> None:
        """The part id, then the Trigger toggle (as a PLC program does it: two writes, in that order)."""
        assert not self.write(rm.PART_ID_IN, rm.part_id_words(part_id)).isError()
        self.trigger ^= 1
        assert not self.write(rm.TRIGGER, [self.trigger]).isError()

    def status(self) -> list[int]:
        """Addresses 31..47."""
        return self.read(rm.TRIGGER_READY, len(rm.STATION_WORDS))

    def wait_result(self, valid_before: int, timeout: float = 10.0) -> list[int]:
        """Poll until ResultValid changes from ``valid_before``; then acknowledge and return 31..47."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status()
            if st[rm.RESULT_VALID - rm.TRIGGER_READY] != valid_before:
                assert not self.write(rm.RESULT_ACK, [st[rm.RESULT_VALID - rm.TRIGGER_READY]]).isError()
                return st
            time.sleep(0.002)
        raise AssertionError("no result from the station")
