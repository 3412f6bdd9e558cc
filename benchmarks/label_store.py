"""Label store speed: reading a large label log, resolving training labels, appending under the lock.

Writes a synthetic ``labels.jsonl`` (N images, every fifth labeled by two
labelers), then times opening the store, resolving every image's training
label (all of them, then again after one new label, as the GUI does), the
agreement figures, and appending one label (lock + fsync).

    .venv/bin/python benchmarks/label_store.py [--images 10000]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10000)
    args = ap.parse_args()
    from studio.labels.agreement import cohen_kappa, fleiss_kappa
    from studio.labels.store import LabelStore

    root = Path(tempfile.mkdtemp())
    rng = random.Random(0)
    cats = ["ok"] * 8 + ["scratch", "dent"]
    with open(root / "labels.jsonl", "w") as f:
        for i in range(args.images):
            for who in ("anna", "ben") if i % 5 == 0 else ("anna",):
                c = rng.choice(cats)
                f.write(json.dumps({"image_id": f"img{i}", "verdict": "ok" if c == "ok" else "ng",
                                    "defect_class": None if c == "ok" else c, "labeler": who,
                                    "time": f"2026-11-26T10:00:{i % 60:02d}.000", "id": f"{who}{i}"}) + "\n")
    t = time.perf_counter()
    store = LabelStore(root)
    t_open = time.perf_counter() - t
    t = time.perf_counter()
    store.resolve()
    t_resolve = time.perf_counter() - t
    t = time.perf_counter()
    both = [v for v in store.by_labeler().values() if len(v) == 2]
    cohen_kappa([v["anna"].category for v in both], [v["ben"].category for v in both])
    fleiss_kappa([dict(Counter(l.category for l in v.values())) for v in both])
    t_kappa = time.perf_counter() - t
    adds = []
    for _ in range(50):
        t = time.perf_counter()
        store.add("img1", "ok", labeler="carl")
        adds.append(time.perf_counter() - t)
    again = []
    for i in range(20):                      # what the GUI pays after each label: one image re-resolved
        store.add(f"img{i}", "ng", "dent", labeler="carl")
        t = time.perf_counter()
        store.resolve()
        again.append(time.perf_counter() - t)
    print(json.dumps({"lines": len(store.history()), "open_ms": round(t_open * 1000, 1),
                      "resolve_ms": round(t_resolve * 1000, 1),
                      "resolve_after_one_label_ms": round(statistics.median(again) * 1000, 2),
                      "kappa_ms": round(t_kappa * 1000, 1),
                      "append_median_ms": round(statistics.median(adds) * 1000, 2)}))


if __name__ == "__main__":
    main()
