"""``studio selfcheck``: is this installation whole? One table, exit 1 on any failure.

Run after an installation (the offline installer does), or when a line PC
misbehaves: it imports the core dependencies, runs a one-node ONNX model in
ONNX Runtime, starts Qt on the offscreen platform in a child process (a
missing system library makes Qt abort the process it runs in), opens the
demo project (or ``--project``) and grabs a frame from its simulated camera.
Nothing here downloads or writes outside a temporary folder.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from studio.cli.output import emit

# Imported by the station, the trainers or the GUI: each must import here.
CORE_MODULES = ["numpy", "cv2", "yaml", "torch", "torchvision", "timm", "onnx", "onnxscript", "onnxruntime",
                "pymodbus", "asyncua", "paho.mqtt.client", "harvesters.core", "genicam", "ultralytics", "PySide6",
                "pyqtgraph"]
QT_CHECK_TIMEOUT_S = 60


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("selfcheck", help="check this installation: dependencies, ONNX Runtime, Qt, demo, camera")
    s.add_argument("--project", help="open this project instead of a fresh copy of the demo")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=__name__ + ":cmd_selfcheck")


def cmd_selfcheck(args: argparse.Namespace) -> int:
    checks = run_checks(args.project)
    rows = [asdict(c) for c in checks]
    width = max(len(c.name) for c in checks)
    lines = [f"{c.name:<{width}}  {'ok  ' if c.ok else 'FAIL'}  {c.detail}" for c in checks]
    failed = [c.name for c in checks if not c.ok]
    lines.append("all checks passed" if not failed else f"{len(failed)} check(s) failed: {', '.join(failed)}")
    emit(args, {"ok": not failed, "checks": rows}, "\n".join(lines))
    return 1 if failed else 0


def run_checks(project: str | None = None) -> list[Check]:
    checks = [_check(f"import {name}", lambda name=name: _import(name)) for name in CORE_MODULES]
    checks += [
        _check("python", _python),
        _check("weights EfficientNet-Lite0", _weights),
        _check("torch", _torch),
        _check("onnxruntime run", _onnxruntime),
        _check("anomaly bank search", _bank_search),
        _check("qt offscreen", _qt),
    ]
    with tempfile.TemporaryDirectory(prefix="studio-selfcheck-") as tmp:
        opened: dict[str, object] = {}
        checks.append(_check("project", lambda: _project(project, Path(tmp), opened)))
        checks.append(_check("camera grab", lambda: _grab(opened.get("project"))))
    return checks


def _check(name: str, fn: Callable[[], str]) -> Check:
    t0 = time.perf_counter()
    try:
        detail, ok = fn(), True
    except Exception as e:  # every failure is a row of the table, never a traceback
        first = (str(e).strip().splitlines() or [""])[0]
        detail, ok = f"{type(e).__name__}: {first}"[:300], False
    return Check(name, ok, detail, round(time.perf_counter() - t0, 2))


def _import(name: str) -> str:
    module = importlib.import_module(name)
    top = sys.modules[name.split(".")[0]]
    version = getattr(top, "__version__", None) or getattr(module, "__version__", "")
    return f"{version} ({Path(getattr(module, '__file__', '') or '?').parent})"


def _python() -> str:
    if sys.version_info[:2] != (3, 11):
        raise RuntimeError(f"Python {sys.version.split()[0]}; the studio needs 3.11")
    return f"{sys.version.split()[0]} at {sys.executable}"


def _weights() -> str:
    from studio.training.backbone import weights_file

    path = weights_file()
    return f"{path} ({path.stat().st_size / 1e6:.1f} MB)"


def _torch() -> str:
    import torch

    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    if float((x @ x.T).sum()) != 83.0:
        raise RuntimeError("a 2x3 matrix product gave a wrong answer")
    cuda = torch.cuda.is_available()
    where = f"CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}" if cuda else \
        f"CPU only (built for CUDA {torch.version.cuda})" if torch.version.cuda else "CPU build"
    return f"{torch.__version__}: {where}"


def _onnxruntime() -> str:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "selfcheck",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    providers = ort.get_available_providers()
    if "CPUExecutionProvider" not in providers:
        raise RuntimeError(f"no CPUExecutionProvider among {providers}")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)})[0]
    if y.tolist() != [[0.0, 0.0, 2.0]]:
        raise RuntimeError(f"Relu gave {y.tolist()}")
    return f"{ort.__version__}, providers: {', '.join(providers)}"


def _bank_search() -> str:
    from studio.inference import bank_search

    return bank_search.check()


def _qt() -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        done = subprocess.run([sys.executable, "-m", "studio.gui.selfcheck"], env=env, capture_output=True,
                              text=True, timeout=QT_CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Qt did not start within {QT_CHECK_TIMEOUT_S} s") from None
    out = done.stdout.strip().splitlines()
    if done.returncode != 0 or not out:
        err = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(f"Qt failed (exit {done.returncode}): {(err or ['no message'])[-1]}")
    return out[-1]


def _project(path: str | None, tmp: Path, opened: dict[str, object]) -> str:
    from studio.project import Project, check

    if path is None:
        target = Project.create(tmp / "demo", template="demo").root
    else:
        target = Path(path)
    problems = check(target)
    if problems:
        raise RuntimeError(str(problems[0]))
    project = Project.open(target)
    opened["project"] = project
    return f"{'the demo template' if path is None else target}: valid, camera {project.settings['camera']['spec']}"


def _grab(project: object) -> str:
    from studio.capture.camera import open_camera

    spec = "sim:"
    settings = None
    if project is not None:
        camera = project.settings.get("camera") or {}
        if str(camera.get("spec", "")).startswith("sim"):
            spec, settings = camera["spec"], camera.get("settings")
    camera = open_camera(spec, settings)
    try:
        frame = camera.grab(5.0)
    finally:
        camera.close()
    image = getattr(frame, "image", None)
    if image is None or image.size == 0:
        raise RuntimeError(f"{spec} gave no image")
    return f"{spec}: {image.shape[1]}x{image.shape[0]} {image.dtype}"
