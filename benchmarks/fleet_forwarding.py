"""A simulated fleet forwarding into one PostgreSQL: forwarder lag and rows per second for N stations.

Each simulated station is a thread writing a real result log (SQLite, WAL,
``ResultLog.commit`` then ``finish``, as the station does) at ``--rate`` parts
per second, with its own ``studio.central.forwarder.Forwarder`` (its own
thread, read-only SQLite connection and PostgreSQL connection), all into one
PostgreSQL server started for the run (tests/pg_server.py, durable: fsync on)
or the one given with ``--url``.

Per N: the lag of every row (central ``received_at`` minus the row's
``t_decided``: commit on the station to committed centrally), p50/p99/max;
rows per second arriving centrally; whether the writers kept their pace;
how long the forwarders took to drain after the writers stopped; CPU used by
this process (stations and forwarders), by PostgreSQL, and the load average.

    .venv/bin/python benchmarks/fleet_forwarding.py [--stations 1 5 20] [--seconds 30] [--rate 10]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from studio.central.forwarder import Forwarder  # noqa: E402
from studio.results.log import ResultLog  # noqa: E402


def station_writer(log: ResultLog, rate: float, stop: threading.Event, done: list) -> None:
    t0 = time.time()
    i = 0
    late = 0.0
    while not stop.is_set():
        target = t0 + i / rate
        now = time.time()
        if target > now:
            time.sleep(target - now)
        else:
            late = max(late, now - target)
        t = time.time()
        part = i + 1
        row = {"part": part, "frame_id": part, "verdict": "reject" if part % 7 == 0 else "pass",
               "verdict_code": 2 if part % 7 == 0 else 1, "score": (part % 10) / 10, "model_id": "bench-model",
               "t_trigger": t - 0.012, "t_captured": t - 0.008, "t_decided": t, "part_id": f"P{part:08d}"}
        log.commit(row)
        row["t_actuated"], row["latency_ms"] = time.time(), 12.0
        log.finish(row)
        i += 1
    done.append({"parts": i, "seconds": time.time() - t0, "late_max_s": late})


def postgres_cpu_s() -> float:
    """CPU seconds used so far by every live PostgreSQL process on this machine (server and backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)
            if "postgres" not in fields[0]:
                continue
            rest = fields[1].split()
            total += (int(rest[11]) + int(rest[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def run(url: str, n: int, seconds: float, rate: float, folder: Path) -> dict:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute("TRUNCATE results, alerts, audit, forward_marks, stations CASCADE")
    logs, forwarders, threads, done = [], [], [], []
    stop = threading.Event()
    for k in range(n):
        d = folder / f"n{n}-s{k}"
        log = ResultLog(d / "results.sqlite")
        logs.append(log)
        forwarders.append(Forwarder(d, url, f"bench-{k:03d}", project="bench", status_file=False).start())
    load0 = os.getloadavg()
    time.sleep(1.0)                 # the forwarders have connected: their backends exist
    pg0 = postgres_cpu_s()
    cpu0, t0 = time.process_time(), time.time()
    for log in logs:
        th = threading.Thread(target=station_writer, args=(log, rate, stop, done), daemon=True)
        th.start()
        threads.append(th)
    time.sleep(seconds)
    load_during = os.getloadavg()
    stop.set()
    for th in threads:
        th.join(10)
    for log in logs:
        log.flush(10)
    written = sum(d["parts"] for d in done)
    t_stop = time.time()
    # drain: every row central
    while True:
        with psycopg.connect(url) as c:
            have = c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        if have >= written or time.time() - t_stop > 120:
            break
        time.sleep(0.2)
    drain_s = time.time() - t_stop
    cpu = time.process_time() - cpu0
    wall = time.time() - t0
    pg_cpu = postgres_cpu_s() - pg0
    for fw in forwarders:
        fw.stop(drain_s=1.0)
    for log in logs:
        log.close()
    with psycopg.connect(url) as c:
        lags = np.array([r[0] for r in c.execute(
            "SELECT extract(epoch FROM received_at - t_decided) FROM results")], dtype=float)
        span = c.execute("SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM results").fetchone()[0]
        dup = c.execute("SELECT COUNT(*) - COUNT(DISTINCT (station_id, part)) FROM results").fetchone()[0]
        from studio.central.fleet import fleet

        t_q = time.perf_counter()
        fleet(c, hours=24)
        fleet_ms = (time.perf_counter() - t_q) * 1000
    return {"stations": n, "rate_per_station": rate, "seconds": seconds, "rows_written": written,
            "rows_central": int(len(lags)), "duplicates": int(dup),
            "written_per_s": round(written / seconds, 1),
            "central_rows_per_s": round(len(lags) / float(span or 1), 1),
            "lag_p50_s": round(float(np.percentile(lags, 50)), 3) if len(lags) else None,
            "lag_p99_s": round(float(np.percentile(lags, 99)), 3) if len(lags) else None,
            "lag_max_s": round(float(lags.max()), 3) if len(lags) else None,
            "writer_late_max_s": round(max(d["late_max_s"] for d in done), 3),
            "drain_s": round(drain_s, 2), "cpu_cores_used": round(cpu / wall, 2),
            "postgres_cores_used": round(pg_cpu / wall, 3), "fleet_query_ms": round(fleet_ms, 1),
            "load_before": [round(x, 2) for x in load0], "load_during": [round(x, 2) for x in load_during]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=10.0, help="parts per second per station")
    ap.add_argument("--url", help="an existing PostgreSQL (its central tables are emptied!); default: start one")
    args = ap.parse_args()
    server = None
    if args.url:
        url = args.url
    else:
        from pg_server import PgServer

        server = PgServer(durable=True)
        server.start()
        url = server.create_database("fleet_bench")
    from studio.central import connect

    connect(url).close()            # the schema
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            for n in args.stations:
                out = run(url, n, args.seconds, args.rate, Path(tmp))
                print(json.dumps(out), flush=True)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
