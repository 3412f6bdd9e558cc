"""Soak: many parts from the simulated camera through the real Modbus or OPC UA server and a real client.

    python benchmarks/soak.py [--parts 100000] [--every 10000] [--rate PARTS_PER_S]
                              [--plc modbus-server://127.0.0.1:PORT] [--data-dir DIR] [--project DIR]

The station runs a tiny anomaly model trained here in seconds (64 px, from
36 simulated brackets) unless ``--project`` names one with a model. A
pymodbus client polls registers 0..11 in its own thread, as a PLC would.
Every ``--every`` parts it prints: rows logged vs parts published (the PLC
link's own publishes, and what the client read must agree with the log),
RSS, open file descriptors, threads, trigger -> PLC latency median and p99
(from the log, per window), and the images kept in the data directory
(whatever the retention policy leaves; counted on disk).

With ``--plc opcua-server://127.0.0.1:PORT?anonymous=1&security=none`` the
station serves OPC UA instead, and an asyncua client subscribes to the
``ResultReady`` events (one per part: each must match its logged row, and
there must be one for every part published) while reading Heartbeat and the
result variables.

It exits 1 when an assertion fails (listed at the end), 0 otherwise;
``tests/test_soak.py`` runs a short version through ``run_soak``.
Free-run by default: the station takes the next part as soon as it can.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CAMERA = "sim:seed=5,defect_rate=0.2,width=128,height=96"
TRAIN_CAMERA = "sim:seed=11,defect_rate=0.35,width=128,height=96"
MAX_FD_GROWTH = 8           # open files may vary a little (SQLite WAL, sockets), not grow with the parts
MAX_THREAD_GROWTH = 2
MAX_RSS_GROWTH_MB = 64.0    # from the first window to the last


# ---- what the soak runs on ------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_project(root: Path, *, images: int = 36) -> Any:
    """A demo project at 64 px with a real anomaly model trained on simulated brackets (seconds)."""
    from studio.capture import open_camera
    from studio.capture.acquire import capture_to_project
    from studio.project import Project
    from studio.training.anomaly import train_anomaly
    from studio.training.report import Report

    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.settings["camera"]["spec"] = TRAIN_CAMERA
    project.save()
    with open_camera(TRAIN_CAMERA) as camera:
        capture_to_project(project, camera, images, label_truth=True)
    train_anomaly(project, {}, Report())
    return Project.open(root)


def darkness_onnx() -> bytes:
    """An ONNX anomaly graph with the real interface: the map is the negated first channel,
    the score its maximum (a dark spot scores high). Built with onnx.helper: no torch, no training."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Slice", ["image", "c0", "c1", "ax1"], ["first"]),
        helper.make_node("Neg", ["first"], ["anomaly_map"]),
        helper.make_node("ReduceMax", ["anomaly_map"], ["score"], axes=[1, 2, 3], keepdims=0),
    ]
    inits = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("c0", 0), ("c1", 1), ("ax1", 1))]
    graph = helper.make_graph(
        nodes, "darkness", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "s", "s"])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"]),
         helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, ["batch", 1, "s", "s"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def plain_project(root: Path, *, reject_share: float = 0.2) -> Any:
    """A demo project at 64 px whose model is ``darkness_onnx`` (milliseconds, no training), with the
    threshold set so that about ``reject_share`` of the simulated parts are rejected. For a soak of the
    station itself (camera, PLC, log) rather than of a model."""
    import onnxruntime as ort

    from studio.capture import open_camera
    from studio.project import Project
    from studio.training.export import write_model

    project = Project.create(root, template="demo")
    project.settings["preprocessing"]["size"] = 64
    project.settings["camera"]["spec"] = CAMERA
    project.save()
    data = darkness_onnx()
    with open_camera(TRAIN_CAMERA) as camera:
        frames = [camera.grab().image for _ in range(50)]
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    scores = session.run(["score"], {"image": project.preprocessing.apply_batch(frames)})[0]
    threshold = float(np.quantile(scores, 1.0 - reject_share))
    write_model(project, "anomaly", data, {
        "backbone": "none (darkness)", "preprocessing": project.preprocessing.to_dict(),
        "classes": ["good", "anomaly"], "class_ids": {"good": 0, "anomaly": 0}, "threshold": threshold,
        "metrics": {}})
    return Project.open(root)


def process_figures() -> dict[str, Any]:
    """RSS (MB), open file descriptors and threads of this process, from /proc."""
    out: dict[str, Any] = {"threads": threading.active_count()}
    try:
        status = Path("/proc/self/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024.0, 1)
            elif line.startswith("Threads:"):
                out["os_threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir("/proc/self/fd"))
    except OSError:                 # not Linux: RSS from resource, no fd count
        import resource

        out["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
        out["fds"] = None
    return out


def kept_images(data_dir: Path) -> tuple[int, int, set[int]]:
    """(count, bytes, part numbers) of the part images in the data directory, whatever keeps them."""
    n = size = 0
    parts: set[int] = set()
    root = data_dir / "images"
    stack = [root] if root.is_dir() else []
    while stack:
        with os.scandir(stack.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.name.endswith(".png"):
                    n += 1
                    size += e.stat(follow_symlinks=False).st_size
                    digits = "".join(c for c in e.name if c.isdigit())
                    if digits:
                        parts.add(int(digits))
    return n, size, parts


class CountingLink:
    """Counts what the station publishes through the real PLC link (the link itself is unchanged)."""

    def __init__(self, link: Any):
        self.link = link
        self.published: dict[int, int] = {}        # part -> verdict code
        self.errors = 0
        original = link.publish
        lock = threading.Lock()

        def publish(part: int, verdict_code: int, *args: Any, **kwargs: Any) -> None:
            original(part, verdict_code, *args, **kwargs)
            with lock:
                if part in self.published:
                    self.errors += 1        # a part number published twice
                self.published[int(part)] = int(verdict_code)

        link.publish = publish


class Poller(threading.Thread):
    """A PLC's poll of registers 0..11 over Modbus TCP, in its own thread."""

    def __init__(self, port: int, poll_s: float = 0.002):
        super().__init__(name="soak-plc-poller", daemon=True)
        self.port, self.poll_s = port, poll_s
        self.reads = self.read_errors = 0
        self.seen: list[tuple[int, int, int, int]] = []     # (counter, verdict, score word, class) at each change
        self.heartbeats: set[int] = set()
        self.last: list[int] | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        from pymodbus.client import ModbusTcpClient

        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        try:
            while not self.stop.is_set():
                try:
                    if not client.connected:
                        client.connect()
                    rr = client.read_holding_registers(0, count=12)
                    if rr.isError():
                        raise OSError(str(rr))
                except Exception:  # noqa: BLE001  count it; a PLC retries
                    self.read_errors += 1
                    self.stop.wait(0.05)
                    continue
                self.reads += 1
                regs = list(rr.registers)
                self.heartbeats.add(regs[0])
                if self.last is None or regs[1:5] != self.last[1:5]:
                    self.seen.append((regs[1], regs[2], regs[3], regs[4]))
                self.last = regs
                self.stop.wait(self.poll_s)
        finally:
            client.close()

    def read_now(self) -> list[int] | None:
        from pymodbus.client import ModbusTcpClient

        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        try:
            if not client.connect():
                return None
            rr = client.read_holding_registers(0, count=12)
            return None if rr.isError() else list(rr.registers)
        finally:
            client.close()


class OpcUaPoller(threading.Thread):
    """A PLC (or SCADA) on the station's OPC UA server, in its own thread: subscribes to the
    ``ResultReady`` events (one per part) and reads Heartbeat and the result variables every
    ``poll_s``. ``seen`` has one entry per event, in the register form of ``Poller`` (counter,
    verdict, score word, class), so the soak's checks are the same for both links."""

    def __init__(self, endpoint: str, poll_s: float = 0.01):
        super().__init__(name="soak-opcua-client", daemon=True)
        self.endpoint, self.poll_s = endpoint, poll_s
        self.reads = self.read_errors = 0
        self.seen: list[tuple[int, int, int, int]] = []
        self.heartbeats: set[int] = set()
        self.last: list[int] | None = None
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        import asyncio

        asyncio.run(self._main())

    async def _main(self) -> None:
        import asyncio

        from asyncua import Client

        from studio.plc import opcua_model
        from studio.plc import register_map as rm

        poller = self

        class Events:
            def event_notification(self, event: Any) -> None:
                poller.seen.append((int(event.PartCounter), int(event.Verdict), rm.score_word(float(event.Score)),
                                    int(event.DefectClassId)))

        names = ["Heartbeat", "PartCounter", "Verdict", "Score", "DefectClassId"]
        while not self.stop.is_set():
            try:
                async with Client(self.endpoint, timeout=10) as c:
                    ns = await c.get_namespace_index(opcua_model.NAMESPACE)
                    station = await c.nodes.objects.get_child(f"{ns}:{opcua_model.STATION}")
                    etype = await c.nodes.root.get_child(["0:Types", "0:EventTypes", "0:BaseEventType",
                                                          f"{ns}:ResultReadyEventType"])
                    sub = await c.create_subscription(20, Events())
                    await sub.subscribe_events(station, etype, queuesize=100_000)
                    nodes = [await station.get_child(f"{ns}:{n}") for n in names]
                    self.ready.set()
                    while not self.stop.is_set():
                        hb, counter, verdict, score, cls = await c.read_values(nodes)
                        self.reads += 1
                        self.heartbeats.add(int(hb))
                        self.last = [int(hb) & rm.WORD, int(counter) & rm.WORD, int(verdict),
                                     rm.score_word(float(score)), int(cls)] + [0] * (rm.REGISTER_COUNT - 5)
                        await asyncio.sleep(self.poll_s)
                    await asyncio.sleep(0.5)        # the last events
            except Exception:  # noqa: BLE001  count it; a PLC reconnects
                self.read_errors += 1
                self.stop.wait(0.5)

    def read_now(self) -> list[int] | None:
        return self.last


# ---- the soak -----------------------------------------------------------------
def run_soak(project: Any, *, parts: int = 100_000, every: int = 10_000, rate: float | None = None,
             plc_spec: str | None = None, data_dir: str | Path | None = None, camera_spec: str = CAMERA,
             out: Callable[[str], None] = print, max_rss_growth_mb: float = MAX_RSS_GROWTH_MB,
             after_run: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """Run ``parts`` parts; the report has ``windows`` (figures per ``every`` parts) and ``failures``.

    ``after_run(log_path)`` runs once the station has stopped, before the checks (a test damages the log
    there to see the checks fail)."""
    from studio.plc import open_plc
    from studio.plc import register_map as rm
    from studio.station import Station

    port = free_port()
    plc_spec = plc_spec or f"modbus-server://127.0.0.1:{port}"
    opcua = plc_spec.startswith("opcua-server://")
    if not (plc_spec.startswith("modbus-server://") or opcua):
        raise SystemExit("the soak serves Modbus or OPC UA: use --plc modbus-server://127.0.0.1:PORT "
                         "or --plc opcua-server://127.0.0.1:PORT?anonymous=1&security=none")
    port = int(plc_spec.split("://", 1)[1].split("?", 1)[0].rsplit(":", 1)[1])
    own_dir = None
    if data_dir is None:
        own_dir = tempfile.TemporaryDirectory(prefix="soak-data-")
        data_dir = own_dir.name
    data_dir = Path(data_dir)

    link = open_plc(plc_spec, data_dir=data_dir, settings={})
    counting = CountingLink(link)
    alerts: list[dict[str, Any]] = []
    station = Station(project, camera_spec, plc=link, data_dir=data_dir, max_parts=parts,
                      interval_s=(1.0 / rate) if rate else 0.0)
    frame_bytes = [0]

    def on_event(kind: str, p: dict[str, Any]) -> None:
        if kind == "alert":
            alerts.append(p)
        elif kind == "part" and not frame_bytes[0] and getattr(p["result"], "image", None) is not None:
            frame_bytes[0] = int(p["result"].image.nbytes)

    station.events.subscribe(on_event)
    poller: Any = OpcUaPoller(f"opc.tcp://127.0.0.1:{port}") if opcua else Poller(port)
    poller.start()
    if opcua and not poller.ready.wait(120):
        raise SystemExit("the OPC UA client could not subscribe to the station within 120 s")

    samples: list[dict[str, Any]] = []
    failures: list[str] = []
    log_reader: sqlite3.Connection | None = None

    def sample(n_parts: int) -> dict[str, Any]:
        nonlocal log_reader
        if log_reader is None and station.log_path.exists():
            log_reader = sqlite3.connect(f"{station.log_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        rows = log_reader.execute("SELECT COUNT(*) FROM results").fetchone()[0] if log_reader else 0
        n_img, img_bytes, _ = kept_images(data_dir)
        published = len(counting.published)
        backlog = max(0, published - int(rows))     # parts the log still holds in memory
        s = {"parts": n_parts, "t_s": round(time.monotonic() - t0, 1), "published": published,
             "rows_now": int(rows), "log_backlog": backlog,
             "backlog_mb": round(backlog * frame_bytes[0] / 2**20, 1), "client_reads": poller.reads,
             "images_kept": n_img, "images_mb": round(img_bytes / 2**20, 1), **process_figures()}
        samples.append(s)
        return s

    out(f"soak: {parts} parts, figures every {every}, {'free-run' if not rate else f'{rate:g} parts/s'}; "
        f"PLC {plc_spec}; data in {data_dir}")
    t0 = time.monotonic()
    finished = False
    try:
        station.start()
        out(f"  {station.describe()}")
        next_mark = every
        while True:
            ended = station.wait(0.05) or station.state == "stopped" or station.fault is not None
            n = station.stats()["parts"]
            if n >= next_mark or (ended and n > (samples[-1]["parts"] if samples else 0)):
                s = sample(n)
                out(f"  {n:>7} parts  {s['t_s']:>7.1f} s  published {s['published']:>7}  logged {s['rows_now']:>7}  "
                    f"(backlog {s['backlog_mb']} MB)  RSS {s['rss_mb']:>6.1f} MB  fds {s['fds']}  threads {s['threads']}  "
                    f"images {s['images_kept']}")
                while next_mark <= n:
                    next_mark += every
            if ended:
                break
        finished = station.wait(30)     # the state may read "stopped" a moment before the end is signalled
    finally:
        station.stop()
        seconds = time.monotonic() - t0
        # the PLC keeps polling the stopped station: its last read shows the last part
        reads = poller.reads
        deadline = time.monotonic() + 5
        while poller.reads < reads + 2 and poller.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        poller.stop.set()
        poller.join(5)
        link.stop()

    if after_run is not None:
        after_run(station.log_path)

    # ---- the log against the PLC ------------------------------------------------------
    con = sqlite3.connect(str(station.log_path))
    logged = dict(con.execute("SELECT part, verdict_code FROM results WHERE shadow = 0"))
    n_rows = con.execute("SELECT COUNT(*) FROM results WHERE shadow = 0").fetchone()[0]
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    scores = {p: (v, s, c) for p, v, s, c in con.execute(
        "SELECT part, verdict_code, score, class_id FROM results WHERE shadow = 0")}
    windows = []
    first = min(counting.published, default=1)
    for start in range(first, first + parts, every):
        end = min(start + every - 1, first + parts - 1)
        lat = np.array([r[0] for r in con.execute(
            "SELECT latency_ms FROM results WHERE part BETWEEN ? AND ? AND latency_ms IS NOT NULL",
            (start, end))], float)
        published = sum(1 for p in range(start, end + 1) if p in counting.published)
        rows = con.execute("SELECT COUNT(*) FROM results WHERE part BETWEEN ? AND ? AND shadow = 0",
                           (start, end)).fetchone()[0]
        windows.append({"parts": f"{start}-{end}", "published": published, "rows": int(rows),
                        "latency_ms_median": round(float(np.median(lat)), 2) if lat.size else None,
                        "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
                        "latency_ms_max": round(float(lat.max()), 2) if lat.size else None})
    verdicts = dict(con.execute("SELECT verdict, COUNT(*) FROM results WHERE shadow = 0 GROUP BY verdict"))
    con.close()
    if log_reader is not None:
        log_reader.close()

    n_img, img_bytes, img_parts = kept_images(data_dir)
    stats = station.stats()

    # ---- assertions -------------------------------------------------------------------
    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    check(finished, f"the station did not finish its {parts} parts (state {station.state}, fault {station.fault})")
    check(len(counting.published) == parts, f"{len(counting.published)} parts published, {parts} asked for")
    check(n_rows == len(counting.published),
          f"{n_rows} rows logged vs {len(counting.published)} parts published")
    check(set(logged) == set(counting.published),
          f"parts published but not logged: {sorted(set(counting.published) - set(logged))[:10]}; "
          f"logged but not published: {sorted(set(logged) - set(counting.published))[:10]}")
    wrong = [p for p, v in counting.published.items() if logged.get(p, v) != v]
    check(not wrong, f"{len(wrong)} parts logged with another verdict than the PLC got (first {wrong[:5]})")
    check(counting.errors == 0, f"{counting.errors} part numbers published twice")
    for w in windows:
        check(w["rows"] == w["published"], f"parts {w['parts']}: {w['rows']} rows vs {w['published']} published")
    # what the client read: every change it saw is a logged part with the same registers
    by_counter: dict[int, set[tuple[int, int, int]]] = {}
    for p, (v, s, c) in scores.items():
        by_counter.setdefault(p & rm.WORD, set()).add((v, rm.score_word(s if s is not None else float("nan")),
                                                       int(c or 0)))
    unmatched = [seen for seen in poller.seen if seen[0] != 0 and (seen[1], seen[2], seen[3])
                 not in by_counter.get(seen[0] & rm.WORD, set())]
    check(not unmatched, f"{len(unmatched)} register sets the client read match no logged part "
                         f"(first {unmatched[:3]})")
    check(poller.read_errors == 0, f"the client had {poller.read_errors} failed reads")
    last = poller.last
    final_part = first + parts - 1
    check(last is not None and last[rm.PART_COUNTER] == final_part & rm.WORD,
          f"the client's last read shows part counter {last and last[rm.PART_COUNTER]}, "
          f"the last part was {final_part}")
    if opcua:       # OPC UA has one ResultReady event per part: the client sees each one
        seen_parts = [seen[0] for seen in poller.seen]
        check(seen_parts == sorted(counting.published), f"the OPC UA client had {len(seen_parts)} ResultReady "
              f"events for {len(counting.published)} parts published (or out of order)")
    # (not checked for Modbus: that the client saw every part. Even paced, parts reach the PLC in bursts after a
    # stall, and registers 1..4 hold only the last one; a PLC that must see each part needs a handshake.)
    if seconds > 3:
        check(len(poller.heartbeats) >= 2, "the client never saw the heartbeat advance")
    check(integrity == "ok", f"PRAGMA integrity_check: {integrity}")
    check(verdicts.get("fault", 0) == 0, f"{verdicts.get('fault', 0)} parts were faults")
    check(stats.get("log_dropped", 0) == 0, f"the log dropped {stats.get('log_dropped')} parts")
    check(n_img <= n_rows, f"{n_img} images kept for {n_rows} rows")
    check(img_parts <= set(logged), f"images of parts that are not logged: {sorted(img_parts - set(logged))[:5]}")
    lat_all = [w["latency_ms_p99"] for w in windows if w["latency_ms_p99"] is not None]
    check(all(x >= 0 for x in lat_all), "a negative latency was logged")
    if len(samples) >= 2:
        a, b = samples[0], samples[-1]
        if a.get("fds") is not None:
            check(b["fds"] - a["fds"] <= MAX_FD_GROWTH, f"open files grew from {a['fds']} to {b['fds']}")
        check(b["threads"] - a["threads"] <= MAX_THREAD_GROWTH, f"threads grew from {a['threads']} to {b['threads']}")
        # the images the log still holds are bounded by design (ResultLog.max_image_bytes), not a leak
        growth = (b["rss_mb"] - b["backlog_mb"]) - (a["rss_mb"] - a["backlog_mb"])
        check(growth <= max_rss_growth_mb,
              f"RSS grew from {a['rss_mb']} MB to {b['rss_mb']} MB, {growth:.1f} MB more than the log's backlog "
              f"of images explains (limit {max_rss_growth_mb} MB)")

    report = {
        "parts": parts, "every": every, "rate": rate, "seconds": round(seconds, 1),
        "parts_per_s": round(parts / seconds, 1) if seconds else None,
        "published": len(counting.published), "rows": int(n_rows), "verdicts": verdicts,
        "client": {"reads": poller.reads, "read_errors": poller.read_errors, "changes_seen": len(poller.seen),
                   "heartbeats_seen": len(poller.heartbeats), "last": last},
        "images_kept": n_img, "images_mb": round(img_bytes / 2**20, 1),
        "latency_ms_median": stats.get("latency_ms_median"), "latency_ms_p99": stats.get("latency_ms_p99"),
        "deadline_misses": stats.get("deadline_misses"), "log_dropped": stats.get("log_dropped"),
        "integrity": integrity, "windows": windows, "samples": samples,
        "alerts": [a.get("message") for a in alerts][:50], "failures": failures,
    }
    out("  window            published    rows  latency median  p99 ms")
    for w in windows:
        out(f"  {w['parts']:<17} {w['published']:>9} {w['rows']:>7}  {w['latency_ms_median']!s:>14}  "
            f"{w['latency_ms_p99']!s:>6}")
    out(f"  {parts} parts in {seconds:.1f} s ({report['parts_per_s']} parts/s); client: {poller.reads} reads, "
        f"{len(poller.seen)} part changes seen, {poller.read_errors} errors; images kept {n_img}")
    out("  PASS" if not failures else "  FAIL:\n    " + "\n    ".join(failures))
    if own_dir is not None:
        own_dir.cleanup()
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=None, help="parts per second (default: free-run)")
    ap.add_argument("--plc", default=None, help="modbus-server://127.0.0.1:PORT (default: a free port) or "
                    "opcua-server://127.0.0.1:PORT?anonymous=1&security=none (a subscribing OPC UA client)")
    ap.add_argument("--data-dir", default=None, help="keep the log and images here (default: a temporary folder)")
    ap.add_argument("--project", default=None, help="a project with a trained model (default: train a tiny one)")
    ap.add_argument("--model", choices=("trained", "plain"), default="trained",
                    help="without --project: a tiny PatchCore trained here (default) or the plain darkness "
                         "graph (no training; soaks the station rather than the model)")
    ap.add_argument("--camera", default=CAMERA)
    ap.add_argument("--json", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="soak-project-") as tmp:
        if args.project:
            from studio.project import Project

            project = Project.open(args.project)
        elif args.model == "plain":
            project = plain_project(Path(tmp) / "soak")
        else:
            t = time.monotonic()
            project = tiny_project(Path(tmp) / "soak")
            print(f"trained a tiny anomaly model in {time.monotonic() - t:.1f} s")
        report = run_soak(project, parts=args.parts, every=args.every, rate=args.rate, plc_spec=args.plc,
                          data_dir=args.data_dir, camera_spec=args.camera)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
