"""PLC trigger -> result latency: how long a PLC waits for the verdict of the part it triggered.

Builds a demo project in a temporary folder (simulated camera), trains the
demo anomaly model, then runs the station with ``trigger: plc`` and a PLC
program that triggers a part every --interval seconds (paced, 10 parts/s by
default), each with its own part id, and waits for that part's result. The
latency is measured on the PLC's side: from the moment it writes the trigger
to the moment it sees the result with its part id. Same run, one after the
other, same model:

- ``sim``: the simulated PLC (no network): the station's own share;
- ``modbus``: a real pymodbus client against the station's Modbus server, in a
  process of its own (a PLC does not share the station's interpreter): writes
  part id + Trigger in one request (21..30), polls 31..47 every 1 ms until
  ResultValid toggles, checks the part id, writes ResultAck;
- ``opcua`` (only when ``studio.plc.opcua_server`` is importable): an asyncua
  client calls ``InspectionStation.Trigger(PartId)`` and polls ``PartId`` /
  ``PartCounter`` until they show that part.

With ``--stand-in-model`` the model is a mean-brightness score (microseconds,
no training): the figures are then the trigger path's own — link, handshake,
camera, log — without inference.

    .venv/bin/python benchmarks/plc_trigger_latency.py [--parts 200] [--interval 0.1] [--images 60]
                                                      [--stand-in-model]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WARMUP = 5          # the first parts include ONNX Runtime warm-up


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def figures(latencies: list[float], missed: int, wall: float) -> dict:
    steady = latencies[WARMUP:] or latencies
    return {"parts": len(latencies), "missed": missed,
            "latency_ms_median": round(statistics.median(steady), 2) if steady else None,
            "latency_ms_p99": round(percentile(steady, 99), 2) if steady else None,
            "latency_ms_max": round(max(steady), 2) if steady else None,
            "parts_per_second": round(len(latencies) / wall, 2) if wall else None}


def paced(parts: int, interval: float, one_part: Callable[[int, str], float | None]) -> dict:
    """Trigger ``parts`` parts on a fixed beat; ``one_part(n, part_id)`` returns ms or None (no result)."""
    latencies, missed = [], 0
    t_start = next_due = time.perf_counter()
    for n in range(1, parts + 1):
        wait = next_due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        next_due = max(next_due + interval, time.perf_counter())
        ms = one_part(n, f"BENCH-{n:06d}")
        if ms is None:
            missed += 1
        else:
            latencies.append(ms)
    return figures(latencies, missed, time.perf_counter() - t_start)


def modbus_plc_program(port: int, parts: int, interval: float, timeout: float, out, poll_s: float = 0.001) -> None:
    """The PLC, in a process of its own: part id + Trigger in one write (21..30), poll 31..47 every
    ``poll_s`` until ResultValid toggles, check the part id, write ResultAck. Puts the figures on ``out``."""
    from pymodbus.client import ModbusTcpClient

    from studio.plc import register_map as rm

    status_at = rm.TRIGGER_READY
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
    client.connect()
    state = {"trigger": 0, "valid": 0}

    def one_part(n: int, part_id: str) -> float | None:
        t0 = time.perf_counter()
        state["trigger"] ^= 1
        client.write_registers(rm.TRIGGER, [state["trigger"], state["valid"]] + rm.part_id_words(part_id))
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            st = client.read_holding_registers(status_at, count=len(rm.STATION_WORDS)).registers
            valid = st[rm.RESULT_VALID - status_at]
            if valid != state["valid"]:
                ms = (time.perf_counter() - t0) * 1000.0
                state["valid"] = valid
                client.write_registers(rm.RESULT_ACK, [valid])
                return ms if rm.part_id_text(st[rm.RESULT_PART_ID - status_at:]) == part_id else None
            time.sleep(poll_s)
        return None

    try:
        out.put(paced(parts, interval, one_part))
    finally:
        client.close()


class StandInModel:
    """Score = mean brightness / 255: no inference cost, so the figures show the trigger path alone."""
    model_id = "stand-in"
    task = "anomaly"
    threshold = 0.99
    card: dict = {}

    def predict(self, image):
        from types import SimpleNamespace

        score = float(image[::8, ::8].mean()) / 255.0
        return SimpleNamespace(score=score, defective=score >= self.threshold, defect_class=None, class_id=0,
                               anomaly_map=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between PLC triggers")
    ap.add_argument("--images", type=int, default=60, help="simulated images to train on")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds a PLC waits for one result")
    ap.add_argument("--plc-poll-ms", type=float, default=1.0,
                    help="how often the Modbus PLC program polls for the result (a PLC scan: 1..10 ms)")
    ap.add_argument("--stand-in-model", action="store_true",
                    help="a mean-brightness score instead of the trained model: the trigger path alone")
    args = ap.parse_args()

    from studio.capture.acquire import capture_to_project
    from studio.capture.camera import open_camera
    from studio.inference.model import session_providers
    from studio.plc import register_map as rm
    from studio.plc.sim import SimPlc
    from studio.project import Project
    from studio.station import Station
    from studio.training.runner import run_training

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    project = Project.create(tmp / "demo", template="demo")
    if args.stand_in_model:
        model, model_id = StandInModel(), "stand-in (mean brightness)"
    else:
        with open_camera(project.camera_spec) as cam:
            capture_to_project(project, cam, args.images, label_truth=True)
        from studio.inference import InspectionModel

        model_id = run_training(project.root, "anomaly")["model_id"]
        # one model for every run: a second ONNX Runtime session (and its threads) would compete with the first
        model = InspectionModel.load(project, model_id)

    def station_with(data: str, **kw) -> Station:
        station = Station(project, data_dir=tmp / data, trigger="plc", model=model, **kw)
        station.start()
        return station

    # ---- the simulated PLC: the same handshake, no network --------------
    def run_sim() -> dict:
        plc = SimPlc()
        station = station_with("sim", plc=plc)
        state = {"trigger": 0, "valid": 0}
        try:
            def one_part(n: int, part_id: str) -> float | None:
                t0 = time.perf_counter()
                plc.plc_write(rm.PART_ID_IN, rm.part_id_words(part_id))
                state["trigger"] ^= 1
                plc.plc_write(rm.TRIGGER, [state["trigger"]])
                deadline = t0 + args.timeout
                while time.perf_counter() < deadline:
                    block = plc.handshake_registers()
                    valid = block[rm.RESULT_VALID - rm.HANDSHAKE]
                    if valid != state["valid"]:
                        state["valid"] = valid
                        ms = (time.perf_counter() - t0) * 1000.0
                        got = rm.part_id_text(block[rm.RESULT_PART_ID - rm.HANDSHAKE:])
                        plc.plc_write(rm.RESULT_ACK, [valid])
                        return ms if got == part_id else None
                    time.sleep(0.0005)
                return None
            return paced(args.parts, args.interval, one_part)
        finally:
            station.stop(timeout=10)

    # ---- a real Modbus client polling the station's server, in its own process (as a PLC is) ----
    def run_modbus() -> dict:
        import multiprocessing

        port = free_port()
        station = station_with("modbus", plc_spec=f"modbus-server://127.0.0.1:{port}")
        try:
            ctx = multiprocessing.get_context("spawn")
            out = ctx.Queue()
            plc = ctx.Process(target=modbus_plc_program, args=(port, args.parts, args.interval, args.timeout, out,
                                                                 args.plc_poll_ms / 1000.0))
            plc.start()
            result = out.get(timeout=args.parts * (args.interval + args.timeout) + 60)
            plc.join(10)
            return result
        finally:
            station.stop(timeout=10)

    # ---- OPC UA Trigger, when the OPC UA link is there ------------------------
    def run_opcua() -> dict:
        if importlib.util.find_spec("studio.plc.opcua_server") is None:
            return {"skipped": "studio.plc.opcua_server is not importable in this build"}
        from asyncua.sync import Client

        port = free_port()
        station = station_with("opcua", plc_spec=f"opcua-server://127.0.0.1:{port}?security=none&anonymous=1")
        client = Client(f"opc.tcp://127.0.0.1:{port}")
        client.connect()
        try:
            ns = client.get_namespace_index("urn:inspection-studio:station")
            obj = client.nodes.objects.get_child([f"{ns}:InspectionStation"])
            part_id_node = obj.get_child([f"{ns}:PartId"])
            counter_node = obj.get_child([f"{ns}:PartCounter"])
            trigger = obj.get_child([f"{ns}:Trigger"])

            def one_part(n: int, part_id: str) -> float | None:
                t0 = time.perf_counter()
                counter = obj.call_method(trigger, part_id)
                deadline = t0 + args.timeout
                while time.perf_counter() < deadline:
                    if part_id_node.read_value() == part_id and (counter is None or
                                                                  counter_node.read_value() == counter):
                        return (time.perf_counter() - t0) * 1000.0
                    time.sleep(0.001)
                return None
            return paced(args.parts, args.interval, one_part)
        except Exception as e:          # optional: report, do not lose the other figures
            return {"error": f"{type(e).__name__}: {e}"}
        finally:
            client.disconnect()
            station.stop(timeout=10)

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "providers": session_providers(), "image": project.camera_spec,
        "model_input": project.preprocessing.size, "model_id": model_id,
        "paced_parts_per_s": round(1 / args.interval, 2), "parts_per_run": args.parts,
        "modbus_plc_poll_ms": args.plc_poll_ms,
        "sim": run_sim(),
        "modbus_handshake": run_modbus(),
        "opcua_trigger": run_opcua(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
