"""A trained model, ready to judge parts: ONNX Runtime + the model card.

Everything the model needs comes from its folder, never from the project's
current settings: the card's preprocessing (so a model always sees what it
was trained on), its classes, PLC class ids and threshold. Evaluation, the
station and the benchmark all go through ``InspectionModel``.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from studio import tasks
from studio.core.errors import ModelError
from studio.dataset.preprocessing import Preprocessing
from studio.inference import bank_search
from studio.project import model_card

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
CARD_FILE = model_card.CARD_FILE
OUTPUTS = {name: list(tasks.get(name).outputs) for name in tasks.names()}   # per task (studio.tasks)
DIGEST_FIELD = "onnx_sha256"     # the card's digest of model.onnx, written at export


def onnx_digest(data: bytes) -> str:
    """The digest a card carries of its model.onnx (hex SHA-256)."""
    return hashlib.sha256(data).hexdigest()


REQUIRED_CARD_FIELDS = model_card.REQUIRED
TRAIN_HINT = "train a model first: 'studio train PROJECT' or the Train page"


@dataclass
class Prediction:
    score: float                      # higher = more likely defective; compared with the threshold
    defective: bool
    defect_class: str | None          # None for good parts and for anomaly models
    class_id: int                     # what the PLC receives; 0 = no defect (or unknown class)
    anomaly_map: np.ndarray | None = None   # [h, w] patch distances (anomaly), defect probability (segmentation)
    boxes: list[dict] | None = None         # detection: [{class, class_id, score, x, y, w, h}] in image pixels
    mask: np.ndarray | None = None          # segmentation: bool [S, S] defect pixels, in model-input pixels


@functools.lru_cache(maxsize=1)
def cuda_device_count() -> int:
    """CUDA devices the driver can see, asked of the driver itself (no torch import)."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
        except AttributeError:       # not a CUDA driver after all
            return 0
        return int(count.value)
    return 0


def session_providers() -> list[str]:
    """ONNX Runtime providers to use here: CUDA first when it is installed AND a GPU is usable.

    ``onnxruntime-gpu`` lists the CUDA provider even on machines without a
    GPU, so the driver is asked too. ``STUDIO_INFERENCE=cpu`` forces the CPU.
    """
    import onnxruntime as ort

    if os.environ.get("STUDIO_INFERENCE", "").lower() != "cpu" \
            and "CUDAExecutionProvider" in ort.get_available_providers() and cuda_device_count() > 0:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _models_dir(project) -> Path:
    return Path(project.models_dir) if hasattr(project, "models_dir") else Path(project) / "models"


def read_card(folder: Path) -> dict[str, Any]:
    """The model card, migrated and checked (``studio.project.model_card``); ModelError naming the model otherwise."""
    return model_card.load(folder)


def _scan(project) -> list[tuple[str, str, dict[str, Any] | None, ModelError | None]]:
    """Every model folder with a card, newest first: (when, folder name, card or None, error or None).

    ``when`` is the card's ``created``; for an unreadable card, the card file's
    time in the same format, so an unreadable newest model still sorts first.
    """
    import datetime as _dt

    found = []
    folder = _models_dir(project)
    for sub in folder.iterdir() if folder.is_dir() else []:
        path = sub / CARD_FILE
        if not path.is_file():
            continue
        mtime = path.stat().st_mtime_ns
        try:
            card, error = read_card(sub), None
            when = str(card.get("created", ""))
        except ModelError as e:
            card, error = None, e
            when = _dt.datetime.fromtimestamp(mtime / 1e9).isoformat(timespec="seconds")
        found.append((when, mtime, sub.name, card, error))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [(when, name, card, error) for when, _, name, card, error in found]


def list_models(project, task: str | None = None) -> list[dict[str, Any]]:
    """The cards of the complete models in the project, newest first (unreadable ones skipped, and logged)."""
    out = []
    for _, name, card, error in _scan(project):
        if card is None:
            log.warning("skipping model %s: %s", name, error)
        elif task is None or card["task"] == task:
            out.append(card)
    return out


def newest_model_id(project, task: str | None = None) -> str:
    """The id of the newest model (of ``task``) not retired; ModelError when there is none, or when the newest
    is unusable.

    An unreadable newest card is never passed over for an older model in
    silence: the line would run a model nobody chose. Name a model to run an
    older one on purpose. A retired model (``studio models retire``,
    ``model_card.retirement``) is passed over: an engineer decided it.
    """
    retired = []
    for _, name, card, error in _scan(project):
        if card is not None and model_card.retirement(card):
            if task is None or card["task"] == task:
                retired.append(name)
            continue
        if card is None:
            raise ModelError(f"the newest model '{name}' cannot be used: {error.message}", file=error.file,
                             field=error.field,
                             hint=f"{error.hint}; or run an older model on purpose with --model ID "
                                  f"(listed by 'studio models PROJECT')")
        if task is None or card["task"] == task:
            return card["model_id"]
    what = f"{task} model" if task else "model"
    if retired:
        raise ModelError(f"every trained {what} of this project is retired ({', '.join(retired)})",
                         file=_models_dir(project), hint=TRAIN_HINT + ", or run a retired one on purpose with "
                                                                      "--model ID")
    raise ModelError(f"this project has no trained {what} yet", file=_models_dir(project), hint=TRAIN_HINT)


class InspectionModel:
    def __init__(self, folder: str | Path, *, threads: int = 2, providers: Sequence[str] | None = None):
        import onnxruntime as ort

        self.folder = Path(folder)
        self.card = read_card(self.folder)
        self.model_id: str = self.card["model_id"]
        self.task: str = self.card["task"]
        self.threshold = float(self.card["threshold"])
        self.preprocessing = Preprocessing.from_dict(self.card["preprocessing"])
        self.classes: list[str] = list(self.card["classes"])
        self.class_ids: dict[str, int] = {k: int(v) for k, v in self.card.get("class_ids", {}).items()}
        description = tasks.get(self.task)
        self.outputs = list(description.outputs)
        self._decode = description.load("predictions")      # fn(model, outputs, shapes) -> [Prediction]
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = list(providers or session_providers())
        if "CUDAExecutionProvider" in providers and hasattr(ort, "preload_dlls"):
            try:       # use the CUDA/cuDNN libraries that came with torch's wheels, if any
                ort.preload_dlls()
            except Exception:
                pass
        path = self.folder / ONNX_FILE
        if not path.is_file():
            raise ModelError("the model file is missing", file=path, hint="delete this model folder and train again")
        try:
            data = path.read_bytes()        # read once: the digest checked is that of the bytes loaded
        except OSError as e:
            raise ModelError(f"the model file of {self.model_id} cannot be read ({e})", file=path,
                             hint="check the disk and the file's permissions") from None
        expected = self.card.get(DIGEST_FIELD)
        if expected and onnx_digest(data) != str(expected).lower():
            raise ModelError(f"the model file of {self.model_id} is not the one its card was written for "
                             "(its SHA-256 differs from the card's): it was replaced or damaged after export",
                             file=path, hint="restore the model folder from a backup, or train again; "
                                             "a station already running keeps the model it loaded")
        # on the CPU an anomaly model's nearest-patch search runs in 8 bits (bank_search);
        # the file on disk, and what a GPU runs, stay the exact float graph
        try:
            self.session, self.search = bank_search.session(data, options, providers, f"model {self.model_id}")
        except Exception as e:
            raise ModelError(f"ONNX Runtime cannot load the model {self.model_id} ({str(e).splitlines()[0][:200]})",
                             file=path,
                             hint="the file is damaged: delete this model folder and train again") from None
        # ONNX Runtime falls back to the CPU silently when CUDA cannot start: report what it really uses
        self.provider: str = self.session.get_providers()[0]
        names = {o.name for o in self.session.get_outputs()}
        if not set(self.outputs) <= names or self.session.get_inputs()[0].name != "image":
            raise ModelError(f"the model's inputs/outputs do not match a {self.task} model "
                             f"(outputs {sorted(names)})", file=path, hint="delete this model folder and train again")
        log.info("model %s runs on %s (bank search: %s)", self.model_id, self.provider, self.search)

    @classmethod
    def load(cls, project, model_id: str | None = None, *, task: str | None = None,
             threads: int = 2, providers: Sequence[str] | None = None) -> "InspectionModel":
        """The model ``model_id`` of ``project`` (a Project or its folder); the newest one when None."""
        folder = _models_dir(project)
        if model_id is None:
            model_id = newest_model_id(project, task)
        if not (folder / model_id).is_dir():
            known = [c["model_id"] for c in list_models(project)]
            raise ModelError(f"there is no model '{model_id}'", file=folder,
                             hint=f"use one of: {', '.join(known)}" if known else TRAIN_HINT)
        return cls(folder / model_id, threads=threads, providers=providers)

    # ---- running ----------------------------------------------------------
    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Raw graph outputs for preprocessed inputs [N, 3, S, S]."""
        return self.session.run(self.outputs, {"image": np.ascontiguousarray(inputs, dtype=np.float32)})

    def predict(self, image: np.ndarray) -> Prediction:
        """Judge one camera image (any of uint8/uint16, mono/RGB)."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[np.ndarray], batch_size: int = 16) -> list[Prediction]:
        out: list[Prediction] = []
        for i in range(0, len(images), batch_size):
            chunk = list(images[i:i + batch_size])
            inputs = self.preprocessing.apply_batch(chunk)
            out.extend(self._predictions(self.run(inputs), [np.shape(im) for im in chunk]))
        return out

    def _predictions(self, outputs: list[np.ndarray], shapes: list[tuple] | None = None) -> list[Prediction]:
        """The model's outputs as Predictions, the way its task reads them (``studio.tasks``)."""
        return self._decode(self, outputs, shapes)

    def __repr__(self) -> str:
        return f"InspectionModel({self.model_id!r}, task={self.task!r}, provider={self.provider!r})"
