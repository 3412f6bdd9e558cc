"""What else could run the anomaly model's backbone faster on this CPU: the levers tried for the tiled setting.

The station's graph is ONNX Runtime on the CPU (with the 8-bit bank search, ``bank_search.py``). For a
2x2 tiled model its convolutions alone take most of the 30 ms a part may take on two cores, so this
measures, on the same fit as ``station_5mp.py`` (200 good magnetic tiles at the studio's defaults, cached
in /tmp/studio-station5mp-<size>[-options]):

* ``ort``: the exported model in ONNX Runtime, the exact float search and the 8-bit one (the product);
* ``ort_int8_convs``: the backbone's convolutions quantised to 8 bits as well (ONNX Runtime's static QDQ
  quantisation, per channel, calibrated on every fifth training tile; the bank stays the float fit's), with
  the image AUROC on the 542 test tiles beside the product's;
* ``openvino``: the same exact model in OpenVINO (``--openvino-path``, a folder where the ``openvino``
  package is installed with ``pip install --target``; not a dependency), float32 and bfloat16 (this CPU
  has AMX);
* ``torch``: the backbone alone in eager PyTorch, float32 and bfloat16 (channels-last, oneDNN's AMX
  kernels), on the graph's batch of tiles.

Graph timings are batch 1 on 2 threads, alternated in blocks of ten (the first three not counted).

    .venv/bin/python benchmarks/backbone_engines.py [--size 256] [--option tiles=2x2] [--openvino-path /tmp/ovlib]
"""
from __future__ import annotations

import argparse
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


def alternated(runs: dict, x, rounds: int) -> dict:
    import numpy as np

    times = {k: [] for k in runs}
    for r in range(rounds + 1):
        for name, run in runs.items():
            for j in range(10):
                t = time.perf_counter()
                run(x[j % len(x)])
                if r and j >= 3:
                    times[name].append((time.perf_counter() - t) * 1e3)
    return {k: {"median": round(float(np.median(v)), 2), "p90": round(float(np.percentile(v, 90)), 2)}
            for k, v in times.items()}


def int8_convs(model_bytes: bytes, calibration, folder: Path) -> bytes:
    """The model with the convolutions before the bank search quantised (static QDQ, per channel)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    (folder / "float.onnx").write_bytes(model_bytes)
    quant_pre_process(str(folder / "float.onnx"), str(folder / "pre.onnx"), skip_symbolic_shape=True)
    convs = []
    for node in onnx.load(str(folder / "pre.onnx")).graph.node:
        if node.op_type == "Gemm":              # the search: what follows (the map's blur) stays float
            break
        if node.op_type == "Conv":
            convs.append(node.name)

    class Tiles(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self):
            if self.i >= len(calibration):
                return None
            self.i += 1
            return {"image": calibration[self.i - 1:self.i]}

    quantize_static(str(folder / "pre.onnx"), str(folder / "q.onnx"), Tiles(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_quantize=convs, op_types_to_quantize=["Conv"])
    return (folder / "q.onnx").read_bytes()


def main() -> None:
    import numpy as np
    import onnxruntime as ort
    import torch
    from anomaly_benchmark import load, split, tile_files
    from station_5mp import fit_or_load

    from studio.dataset.preprocessing import Preprocessing
    from studio.evaluation.metrics import roc_auc
    from studio.inference.bank_search import int8_search
    from studio.training import anomaly_levers
    from studio.training.anomaly import DEFAULTS, build_feature_module
    from studio.training.backbone import create

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=Preprocessing.size, help="model input size (a tile's with tiles)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--openvino-path", default=os.environ.get("OPENVINO_PATH"))
    args = ap.parse_args()
    options = dict(o.split("=", 1) for o in args.option)
    suffix = "".join(f"-{k}-{v}" for k, v in sorted(options.items()))
    data = fit_or_load(Path(tempfile.gettempdir()) / f"studio-station5mp-{args.size}{suffix}", args.size, 200, 150,
                       options)
    levers = anomaly_levers.read({**DEFAULTS, **options})
    grid = levers.tiles(args.size)
    in_px = grid.input_size
    out: dict = {"size": args.size, "options": options, "input_px": in_px, "load_start": load_avg()}
    model = (data["project"].models_dir / data["model_id"] / "model.onnx").read_bytes()
    work = Path(tempfile.mkdtemp(prefix="backbone-engines-"))
    good, bad = tile_files()
    train, test_good = split(good, 200, 150)
    quantised = int8_convs(model, load(train[::5], in_px), work)

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    sessions = {"ort exact": model, "ort int8 search (product)": int8_search(model)[0],
                "ort int8 search + int8 convs": int8_search(quantised)[0]}
    sessions = {k: ort.InferenceSession(v, so, providers=["CPUExecutionProvider"]) for k, v in sessions.items()}
    x_test = load(test_good + bad, in_px)
    y = np.array([0] * len(test_good) + [1] * len(bad))
    out["image_auroc"] = {}
    for name in ("ort int8 search (product)", "ort int8 search + int8 convs"):
        s = sessions[name]
        scores = np.concatenate([s.run(None, {"image": x_test[i:i + 1]})[0] for i in range(len(x_test))])
        out["image_auroc"][name] = round(float(roc_auc(y, scores)), 4)
    print(json.dumps(out), flush=True)
    runs = {k: (lambda a, s=s: s.run(None, {"image": a})) for k, s in sessions.items()}
    if args.openvino_path:
        sys.path.insert(0, args.openvino_path)
        import openvino as ov

        core = ov.Core()
        (work / "float.onnx").write_bytes(model)
        out["openvino"] = ov.__version__
        for precision in ("f32", "bf16"):
            m = core.read_model(str(work / "float.onnx"))
            m.reshape({"image": [1, 3, in_px, in_px]})
            compiled = core.compile_model(m, "CPU", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2,
                                                     "INFERENCE_PRECISION_HINT": precision})
            request = compiled.create_infer_request()
            runs[f"openvino {precision}"] = lambda a, r=request: r.infer({0: a})
    x = x_test[:4]
    out["graph_ms"] = alternated(runs, [x[i:i + 1] for i in range(len(x))], args.rounds)
    torch.set_num_threads(2)
    features = build_feature_module(create(levers.backbone, pretrained=True), None, 0, levers.layers).eval()
    tiles = grid.cut(torch.from_numpy(x[:1])) if grid.grid > 1 else torch.from_numpy(x[:1])
    fp32 = tiles.contiguous(memory_format=torch.channels_last)
    features = features.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        times = alternated({"torch float32, channels-last": features}, [fp32], args.rounds)
        features = features.to(torch.bfloat16)
        times.update(alternated({"torch bfloat16, channels-last": features}, [fp32.to(torch.bfloat16)], args.rounds))
    out["backbone_alone_ms"] = {"tiles_per_part": int(tiles.shape[0]), **times}
    out["load_end"] = load_avg()
    print(json.dumps(out, indent=1), flush=True)


if __name__ == "__main__":
    main()
