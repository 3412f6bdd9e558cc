"""The anomaly model's bank search in 8 bits against the exact float search, same model, same run.

Uses the fit of ``station_5mp.py`` (200 good magnetic tiles at the studio's defaults, cached in
/tmp/studio-station5mp-<size>[-options]; fit on the first run): its bank, its 542 test tiles'
patch features (150 good + 392 defective) and its exported model.

* ``quality``: the graph's own head (``build_graph(...).head``, exported to ONNX, fed the cached
  features) exact and through ``bank_search.int8_search``: image AUROC of each, the largest
  relative change of an image score, and the share of anomaly-map cells that changed;
* ``graph_ms``: the whole exported model (features + search), exact and int8, in ONNX Runtime with
  the station's 2 threads, alternated in blocks of ten (the first three not counted), median / p90;
* ``ops_ms``: ONNX Runtime's profile of each, milliseconds a run per operator type.

    .venv/bin/python benchmarks/bank_search.py [--size 256] [--option tiles=2x2 --size 224]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def head_bytes(data: dict, size: int, options: dict):
    """The fitted graph's head alone (cached patch features -> score, map) as ONNX bytes, and its batch step."""
    import torch

    from studio.training import anomaly_levers
    from studio.training.anomaly import DEFAULTS, build_graph
    from studio.training.export import to_onnx

    levers = anomaly_levers.read({**DEFAULTS, **options})
    tiles = levers.tiles(size) if levers.grid > 1 else None
    graph = build_graph(torch.nn.Identity(), data["bank"].float(), topk=levers.topk, tiles=tiles)

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.graph = graph

        def forward(self, image):       # "image": the export's input name; here the patch features
            return self.graph.head(image)

    per_image = levers.grid ** 2
    example = data["test_features"][:2 * per_image].float()
    return to_onnx(Head().eval(), example, ["score", "anomaly_map"]), per_image


def quality(data: dict, size: int, options: dict) -> dict:
    import numpy as np
    import onnxruntime as ort

    from studio.evaluation.metrics import roc_auc
    from studio.inference.bank_search import int8_search

    exact, per_image = head_bytes(data, size, options)
    fast, n = int8_search(exact)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.log_severity_level = 2, 3
    feats, y = data["test_features"], data["y_test"].numpy()
    out = {"searches_rewritten": n}
    results = {}
    for name, model in (("exact", exact), ("int8", fast)):
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        step = 16 * per_image
        runs = [sess.run(None, {"image": feats[i:i + step].float().numpy()}) for i in range(0, len(feats), step)]
        results[name] = (np.concatenate([r[0] for r in runs]), np.concatenate([r[1] for r in runs]))
        out[f"image_auroc_{name}"] = round(float(roc_auc(y, results[name][0])), 4)
    (s0, m0), (s1, m1) = results["exact"], results["int8"]
    out["max_score_rel_change"] = float(np.max(np.abs(s1 - s0) / np.abs(s0)))
    out["map_cells_changed_pct"] = round(100 * float(np.mean(~np.isclose(m1, m0, rtol=1e-5, atol=1e-6))), 2)
    out["map_cells_nearer_than_exact"] = int(np.sum(m1 < m0 - 1e-4 * np.abs(m0)))
    return out


def graph_ms(model_bytes: bytes, size: int, repeats: int) -> dict:
    import numpy as np
    import onnxruntime as ort

    from studio.inference.bank_search import int8_search

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    x = np.random.default_rng(1).random((4, 3, size, size), np.float32)
    models = {"exact": model_bytes, "int8": int8_search(model_bytes)[0]}
    sessions = {k: ort.InferenceSession(v, so, providers=["CPUExecutionProvider"]) for k, v in models.items()}
    times = {k: [] for k in sessions}
    load = load_avg()
    for r in range(repeats // 6 + 2):
        for name, sess in sessions.items():
            # blocks of ten, the first three not counted: the other session's ONNX Runtime threads
            # spin on for a while after its last run and would slow this one's first runs
            for j in range(10):
                t = time.perf_counter()
                sess.run(None, {"image": x[j % 4][None]})
                if r and j >= 3:
                    times[name].append((time.perf_counter() - t) * 1e3)
    out = {k: {"median": round(float(np.median(v)), 2), "p90": round(float(np.percentile(v, 90)), 2)}
           for k, v in times.items()}
    out["load"] = [load, load_avg()]
    ops = {}
    for name, data in models.items():
        po = ort.SessionOptions()
        po.intra_op_num_threads, po.inter_op_num_threads, po.log_severity_level = 2, 1, 3
        po.enable_profiling = True
        po.profile_file_prefix = str(Path(tempfile.gettempdir()) / f"bank-search-{name}")
        sess = ort.InferenceSession(data, po, providers=["CPUExecutionProvider"])
        for i in range(repeats):
            sess.run(None, {"image": x[i % 4][None]})
        path = sess.end_profiling()
        per_op = collections.Counter()
        for e in json.loads(Path(path).read_text()):
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                per_op[e["args"]["op_name"]] += e["dur"]
        Path(path).unlink()
        ops[name] = {k: round(v / repeats / 1e3, 2) for k, v in per_op.most_common(6)}
        ops[name]["all"] = round(sum(per_op.values()) / repeats / 1e3, 2)
    return {"graph_ms": out, "ops_ms": ops}


def main() -> None:
    from station_5mp import fit_or_load

    from studio.dataset.preprocessing import Preprocessing
    from studio.inference.model import InspectionModel

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=Preprocessing.size,
                    help=f"model input size, a tile's with tiles (the studio's default: {Preprocessing.size})")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a training option of the fit (as station_5mp.py: the fit is cached per option set)")
    ap.add_argument("--repeats", type=int, default=60)
    args = ap.parse_args()
    options = dict(o.split("=", 1) for o in args.option)
    suffix = "".join(f"-{k}-{v}" for k, v in sorted(options.items()))
    cache = Path(tempfile.gettempdir()) / f"studio-station5mp-{args.size}{suffix}"
    data = fit_or_load(cache, args.size, 200, 150, options)
    model = InspectionModel.load(data["project"], data["model_id"], threads=2)
    out = {"size": args.size, "options": options, "bank": list(data["bank"].shape), "load_start": load_avg(),
           "station_search": model.search, "input_px": model.preprocessing.size}
    out["quality"] = quality(data, args.size, options)
    print(json.dumps(out), flush=True)
    model_bytes = (data["project"].models_dir / data["model_id"] / "model.onnx").read_bytes()
    out.update(graph_ms(model_bytes, model.preprocessing.size, args.repeats))
    out["load_end"] = load_avg()
    print(json.dumps(out, indent=1), flush=True)


if __name__ == "__main__":
    main()
