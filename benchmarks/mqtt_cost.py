"""What the plant bus (live events on MQTT) costs the line, measured in one run.

The station itself -- simulated camera at the demo's 400x300, a stand-in
model that answers at once (so the figures are camera, log, PLC link and the
bus, not the model), sim PLC, a trigger every ``--interval`` s (10 parts/s) --
run three ways, alternated ``--rounds`` times so a busy machine disturbs each
alike:

- ``no bus``: station.yaml without ``mqtt``;
- ``bus``: publishing to a real mosquitto on 127.0.0.1 (QoS 1), a paho
  subscriber counting what arrives;
- ``bus, broker down``: the broker killed before the run (messages kept up to
  the buffer, the rest dropped and counted).

Per run: trigger -> PLC latency (the log's ``latency_ms``) median / p99 /
max, and what the bus costs the event pump thread per event (the only
station thread it touches). Then the bus alone: part messages/s it hands to
the broker and a subscriber receives, fed as fast as its queue takes them
(QoS 0 and 1).

    .venv/bin/python benchmarks/mqtt_cost.py [--parts 200] [--interval 0.1] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from log_write_cost import QuickModel, percentile  # noqa: E402  (one stand-in model for the station benchmarks)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

ROOT = "bench/line1/station1"


def figures(values_ms: list[float]) -> dict:
    if not values_ms:
        return {"n": 0}
    return {"n": len(values_ms), "median": round(statistics.median(values_ms), 3),
            "p99": round(percentile(values_ms, 99), 3), "max": round(max(values_ms), 3)}


def timed_bus_events(station) -> list[float]:
    """Wrap the bus's event handler (on the event pump thread) to time it."""
    bus = station.plant_bus
    cost: list[float] = []
    if bus is None:
        return cost
    inner = bus._on_event

    def on_event(kind, payload):
        t0 = time.perf_counter()
        inner(kind, payload)
        cost.append((time.perf_counter() - t0) * 1000)

    bus._on_event = on_event
    return cost


def run_station(project, data_dir: Path, parts: int, interval: float) -> dict:
    from studio.plc.sim import SimPlc
    from studio.station import Station

    station = Station(project, camera_spec="sim:seed=7,defect_rate=0.3", model=QuickModel(), plc=SimPlc(),
                      data_dir=data_dir, max_parts=parts, interval_s=interval)
    cost = timed_bus_events(station)
    t0 = time.monotonic()
    ok = station.run(timeout=parts * interval * 5 + 60)
    wall = time.monotonic() - t0
    con = sqlite3.connect(data_dir / "results.sqlite")
    latency = [r[0] for r in con.execute("SELECT latency_ms FROM results ORDER BY part")][5:]   # warm-up
    rows = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    con.close()
    bus = station.stats()["plant_bus"]
    return {"completed": ok, "rows": rows, "parts_per_s": round(rows / wall, 2),
            "trigger_to_plc_ms": figures(latency), "bus_event_ms": figures(cost),
            "bus": None if bus is None else {k: bus[k] for k in ("published", "while_away", "dropped", "kept")}}


def flood(broker, qos: int, n: int) -> dict:
    """The bus alone: ``n`` part messages as fast as the event side can put them."""
    from mqtt_broker import Listener

    from studio.core.events import Emitter
    from studio.plant_bus import PlantBus
    from studio.plant_bus.publisher import QUEUE
    from studio.station.part import PartResult

    bus = PlantBus.for_station({"station_id": "flood", "mqtt": {"url": broker.url, "topic_root": ROOT + "-flood",
                                                              "qos": qos, "buffer": n}})
    sub = Listener(broker, ROOT + "-flood")
    events = Emitter()
    bus.open(events)
    t_end = time.monotonic() + 10
    while bus.status()["state"] != "connected" and time.monotonic() < t_end:
        time.sleep(0.01)
    t0 = time.perf_counter()
    for k in range(1, n + 1):
        while bus._queue.qsize() > QUEUE // 2:     # as fast as the bus takes them (a bare flood only drops)
            time.sleep(0.0005)
        events.emit("part", result=PartResult(part=k, frame_id=k, verdict="pass", score=0.1, model_id="m"))
    while bus._queue.qsize() and time.monotonic() < t_end + 60:
        time.sleep(0.001)
    handed = time.perf_counter() - t0                   # every message handed to paho
    t_end = time.monotonic() + 60
    while len(sub.of("part")) < n - bus.status()["dropped"] and time.monotonic() < t_end:
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    status = bus.status()
    got = len({p["part"] for p in sub.of("part")})
    bus.close()
    sub.close()
    return {"qos": qos, "messages": n, "published": status["published"], "received": got,
            "dropped": status["dropped"], "handed_per_s": round(status["published"] / handed, 1),
            "received_per_s": round(got / wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--flood", type=int, default=5000)
    args = ap.parse_args()

    from mqtt_broker import Broker, Listener

    from studio.project import Project

    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "load": os.getloadavg()}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="mqtt-cost-") as tmp:
        tmp = Path(tmp)
        project = Project.create(tmp / "demo", template="demo")
        broker = Broker(tmp / "broker")
        broker.start()
        sub = Listener(broker, ROOT)
        try:
            for r in range(1, args.rounds + 1):
                for name in ("no bus", "bus", "bus, broker down"):
                    settings = {"station_id": "station1"}
                    if name != "no bus":
                        settings["mqtt"] = {"url": broker.url, "topic_root": ROOT, "qos": 1}
                    if name == "bus, broker down":
                        broker.kill()
                    elif broker.proc.poll() is not None:
                        broker.start()
                        sub.connected.wait(10)
                    (project.root / "station.yaml").write_text(yaml.safe_dump(settings))
                    before = len(sub.of("part"))
                    result = run_station(project, tmp / f"data-{r}-{name.replace(' ', '_')}", args.parts,
                                         args.interval)
                    time.sleep(0.5)
                    result.update(run=name, round=r, received=len(sub.of("part")) - before)
                    out["runs"].append(result)
                    print(json.dumps(result), file=sys.stderr)
            if broker.proc.poll() is not None:
                broker.start()
            out["flood"] = [flood(broker, qos, args.flood) for qos in (0, 1)]
        finally:
            sub.close()
            broker.stop()
    out["machine"]["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
