"""What the Station page's shadow panel costs per read: ``monitoring.loop.snapshot`` on logs of growing size.

A pilot at 10 parts/s logs ~860 000 live rows a day (a shadow row each). The
panel reads off the GUI thread, and waits ``COST_FACTOR`` times a read's
cost before the next (``gui/widgets/shadow_panel.py``), so what matters is
one read's time; this prints it for N parts with a shadow row each.

    PYTHONPATH=$PWD python benchmarks/shadow_panel_cost.py [N ...]
"""
from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from studio.monitoring.loop import snapshot
from studio.results.log import ResultLog
from studio.results.schema import FILE_NAME


def make_log(folder: Path, n: int) -> None:
    log = ResultLog(folder / FILE_NAME)       # the real schema
    log.close()
    con = sqlite3.connect(folder / FILE_NAME)
    t0 = time.time() - n * 0.1
    rows = []
    for part in range(1, n + 1):
        t = t0 + part * 0.1
        live = "reject" if part % 50 == 0 else "pass"
        cand = "reject" if part % 40 == 0 else "pass"
        for shadow, verdict, model in ((0, live, "live-1"), (1, cand, "cand-2")):
            rows.append((part, part, verdict, 1 if verdict == "pass" else 2, 0.1, model, t - 0.01, t - 0.005, t,
                         t + 0.001, 10.0, shadow, f"images/p{part}.png" if verdict != "pass" else None))
    con.executemany("INSERT INTO results (part, frame_id, verdict, verdict_code, score, model_id, t_trigger, "
                    "t_captured, t_decided, t_actuated, latency_ms, shadow, image_path) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()


def main(sizes: list[int]) -> None:
    print(f"{'parts':>9} {'read ms (median of 3)':>22} {'next read after s':>18}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            make_log(folder, n)
            times = []
            for _ in range(3):
                t = time.perf_counter()
                snap = snapshot(None, folder)
                times.append(time.perf_counter() - t)
            assert snap["shadow"]["n"] == n
            med = sorted(times)[1]
            print(f"{n:>9} {1000 * med:>22.1f} {max(4.0, 10 * med):>18.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 500_000])
