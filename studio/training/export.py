"""From a trained torch module to ``models/<model_id>/model.onnx`` + ``card.json``.

The ONNX graph takes ``image`` (float32 [N, 3, S, S], exactly what
``Preprocessing.apply`` produces) and holds everything else: softmax, the
anomaly memory bank, the nearest-neighbour search. The station then needs
only ONNX Runtime and the card. Before a model is written, ONNX Runtime runs
it on a few training inputs and its outputs are compared with torch's; the
difference goes in the card, and a model that disagrees is never written.

Both files are written atomically, ``card.json`` last: a model folder with a
card is complete, one without is an interrupted export and is ignored.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.atomic import atomic_write_bytes
from studio.core.errors import ModelError
from studio.project import model_card

OPSET = 17
ONNX_FILE = "model.onnx"
CARD_FILE = model_card.CARD_FILE
# ONNX Runtime and torch use different kernels; anything past this is a broken export
MAX_RELATIVE_DIFF = 1e-3


def to_onnx(module, example, output_names: list[str]) -> bytes:
    """Serialize ``module`` (input ``image``, dynamic batch) to ONNX bytes."""
    import torch

    module.eval()
    dynamic = {"image": {0: "batch"}, **{name: {0: "batch"} for name in output_names}}
    buf = io.BytesIO()
    try:
        # The TorchScript exporter takes a second where torch.export takes ten or more.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), buf, input_names=["image"], output_names=output_names,
                              dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
        return buf.getvalue()
    except Exception as legacy_error:  # a torch without the TorchScript exporter
        try:
            program = torch.onnx.export(module, (example,), None, input_names=["image"],
                                        output_names=output_names,
                                        dynamic_shapes=({0: torch.export.Dim("batch")},),
                                        opset_version=max(OPSET, 18), dynamo=True)
            return program.model_proto.SerializeToString()
        except Exception as e:
            raise ModelError(f"the model could not be exported to ONNX ({legacy_error}; {e})",
                             hint="check the torch and onnx versions the studio was installed with") from None


def check_onnx(onnx_bytes: bytes, module, inputs: np.ndarray, output_names: list[str],
               max_relative_diff: float = MAX_RELATIVE_DIFF) -> float:
    """Max abs difference between ONNX Runtime and torch on ``inputs``; raises when too large."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    got = session.run(output_names, {"image": np.ascontiguousarray(inputs, dtype=np.float32)})
    module.eval()
    with torch.no_grad():
        ref = module(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))
    if not isinstance(ref, (tuple, list)):
        ref = (ref,)
    worst = 0.0
    for name, r, g in zip(output_names, ref, got):
        r = r.detach().cpu().numpy()
        if r.shape != g.shape:
            raise ModelError(f"the exported model's '{name}' has shape {g.shape}, torch gives {r.shape}",
                             hint="report this: the ONNX export is broken for this model")
        diff = float(np.max(np.abs(r - g))) if r.size else 0.0
        scale = max(float(np.max(np.abs(r))) if r.size else 0.0, 1e-6)
        if not np.isfinite(diff) or diff > max_relative_diff * scale:
            raise ModelError(f"the exported model's '{name}' differs from torch by {diff:.3g} "
                             f"(largest value {scale:.3g})",
                             hint="report this: the ONNX export is broken for this model")
        worst = max(worst, diff)
    return worst


def new_model_id(project, task: str) -> tuple[str, Path]:
    """Reserve ``models/<task>-<yyyymmdd-hhmmss>[-n]``; the folder is created so two runs never collide."""
    project.models_dir.mkdir(parents=True, exist_ok=True)
    base = f"{task}-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    for n in range(1, 10_000):
        model_id = base if n == 1 else f"{base}-{n}"
        path = project.models_dir / model_id
        try:
            path.mkdir()
            return model_id, path
        except FileExistsError:
            continue
    raise ModelError("could not find a free model id", file=project.models_dir,
                     hint="remove old model folders")


def write_model(project, task: str, onnx_bytes: bytes, card: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.onnx`` then ``card.json`` (with ``model_id`` and ``created`` filled in)."""
    model_id, folder = new_model_id(project, task)
    try:
        atomic_write_bytes(folder / ONNX_FILE, onnx_bytes)
        from studio.inference.model import DIGEST_FIELD, onnx_digest
        from studio.training import lineage

        card = {"model_id": model_id, "task": task,
                "created": _dt.datetime.now().isoformat(timespec="seconds"), **card,
                DIGEST_FIELD: onnx_digest(onnx_bytes)}      # the station refuses a model.onnx changed since
        if isinstance(card.get("lineage"), dict):       # the exact images and labels, for 'studio trace'
            record = lineage.training_set(project, card["lineage"].get("images") or {})
            atomic_write_bytes(folder / lineage.TRAINING_SET_FILE, json.dumps(record, indent=1).encode("utf-8"))
            card["lineage"] = {**card["lineage"], "training_set": lineage.summary(record),
                               "run_id": lineage.current_run()}
        model_card.write(folder, card)          # with schema_version
        card = model_card.read(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return card


def card_fields(project, *, task: str, backbone: str, classes: list[str], threshold: float,
                metrics: dict[str, Any], n_train: int, n_test: int, dataset_digest: str,
                training_options: dict[str, Any], seconds: float, max_abs_diff: float,
                outputs: list[str], samples: dict[str, list[str]] | None = None,
                **extra: Any) -> dict[str, Any]:
    """Everything a model card says besides its id and date (see docs/ARCHITECTURE.md)."""
    from studio.labels.samples import labels_digest

    criteria = project.criteria
    labels = labels_digest(project)
    lineage = {
        # enough to say why two models differ, and to train the same one again
        "code_version": code_version(),
        "seed": training_options.get("seed"),
        "settings": training_options,
        "augmentation": extra.pop("augmentation", None),
        "preprocessing": project.preprocessing.to_dict(),
        "dataset_digest": dataset_digest,
        "labels_digest": labels,
        "criteria_version": criteria.version,
        "images": samples or {},
    }
    return {
        "task": task,
        "backbone": backbone,
        "preprocessing": project.preprocessing.to_dict(),
        "input": "image",
        "outputs": outputs,
        "classes": classes,
        # what the PLC receives per class; "good" (and the class-less anomaly) is 0
        "class_ids": {name: (0 if i == 0 else criteria.class_id(name)) for i, name in enumerate(classes)},
        "threshold": float(threshold),
        "metrics": metrics,
        "data": {"n_train": int(n_train), "n_test": int(n_test), "dataset_digest": dataset_digest},
        "labels_digest": labels,
        "criteria_version": criteria.version,
        "training_options": training_options,
        "seconds": round(float(seconds), 2),
        "onnx_check": {"max_abs_diff": float(max_abs_diff)},
        "lineage": lineage,
        **extra,
    }


def code_version() -> str:
    """The studio's version, plus the git commit (and '+dirty') when it runs from a checkout."""
    import subprocess

    import studio

    version = studio.__version__
    root = Path(studio.__file__).resolve().parents[1]
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                    text=True, timeout=5).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no",
                                    "--", "studio"], capture_output=True, text=True, timeout=5).stdout.strip()
            if commit:
                version += f"+g{commit}" + (".dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass
    return version
