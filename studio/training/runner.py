"""Start the training worker, stream its events, cancel it.

The studio (GUI or CLI) never trains in its own process: it starts
``python -m studio.training.worker`` and reads JSON lines from it. Cancel
terminates the process; a crash (native fault, out-of-memory kill) becomes a
``ModelError`` carrying the last lines the worker wrote on stderr.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from studio.core.errors import Cancelled, ModelError

_EOF = object()


def _studio_root() -> str:
    import studio

    return str(Path(studio.__file__).resolve().parents[1])


def worker_command(project_root: str | Path, task: str, options: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "studio.training.worker", "--project", str(Path(project_root).resolve()),
            "--task", task, "--options", json.dumps(options or {})]


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # offline, unbuffered, and importing this very studio whatever the working directory
    env.update({"HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env["PYTHONPATH"] = os.pathsep.join([_studio_root()] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


class TrainingProcess:
    """One training worker. ``start()``, iterate ``events()``, ``cancel()`` at any time."""

    def __init__(self, project_root: str | Path, task: str, options: dict | None = None):
        self.project_root = Path(project_root)
        self.task = task
        self.options = dict(options or {})
        self.process: subprocess.Popen | None = None
        self.run_id: str | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._lines: queue.Queue = queue.Queue()
        self._cancelled = threading.Event()

    def start(self) -> "TrainingProcess":
        self.process = subprocess.Popen(
            worker_command(self.project_root, self.task, self.options),
            # inside the project folder no stray 'studio' package can shadow ours
            cwd=str(self.project_root) if self.project_root.is_dir() else None,
            env=worker_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1)
        threading.Thread(target=self._pump, args=(self.process.stdout, self._lines.put, True),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr_tail.append, False),
                         daemon=True).start()
        return self

    @staticmethod
    def _pump(stream, sink: Callable[[Any], None], mark_end: bool) -> None:
        # reading on threads keeps both pipes drained: a full stderr pipe would hang the worker
        try:
            for line in stream:
                sink(line.rstrip("\n"))
        except (OSError, ValueError):
            pass                              # the pipe closed under us: the process is gone
        finally:
            if mark_end:
                sink(_EOF)

    def events(self, poll: float = 0.1) -> Iterator[dict[str, Any] | None]:
        """Every event as a dict; ``None`` every ``poll`` seconds when nothing came (to check cancel)."""
        while True:
            try:
                line = self._lines.get(timeout=poll)
            except queue.Empty:
                yield None
                continue
            if line is _EOF:
                return
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                if not isinstance(event, dict) or "event" not in event:
                    raise ValueError
            except ValueError:
                event = {"event": "status", "text": line}     # a library printing to stdout
            if event.get("run_id") and not self.run_id:
                self.run_id = event["run_id"]
            yield event

    def cancel(self) -> None:
        """End the worker (terminate, then kill if it lingers); record it in the run's events."""
        self._cancelled.set()
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if self.run_id:
            events = self.project_root / "runs" / self.run_id / "events.jsonl"
            try:
                with open(events, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"event": "cancelled", "time": round(time.time(), 3)}) + "\n")
            except OSError:
                pass

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait(self, timeout: float | None = None) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def crash_message(self, returncode: int) -> str:
        tail = "\n".join(line for line in self.stderr_tail if line.strip())[-2000:]
        how = f"exit code {returncode}" if returncode >= 0 else f"killed by signal {-returncode}"
        return f"the training process stopped without a result ({how})" + (f":\n{tail}" if tail else "")


def _check_cancel(proc: TrainingProcess, task_ctx) -> None:
    if task_ctx is not None and task_ctx.cancelled():
        proc.cancel()
        raise Cancelled()


def run_training(project_root: str | Path, task: str, options: dict | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None, task_ctx=None,
                 timeout: float | None = None, actor: str | None = None,
                 reason: str | None = None) -> dict[str, Any]:
    """Train in a worker process; returns the ``done`` event (``model_id``, ``task``, ``metrics``, ``seconds``).

    The new model is a ``model.trained`` entry of the project's audit trail (``actor``, ``reason``).

    Raises ``Cancelled`` when ``task_ctx`` is cancelled, ``ModelError`` on a
    worker error (its message), a crash or ``timeout`` seconds passing.
    """
    proc = TrainingProcess(project_root, task, options).start()
    deadline = time.monotonic() + timeout if timeout else None
    done: dict[str, Any] | None = None
    error: str | None = None
    try:
        for event in proc.events():
            _check_cancel(proc, task_ctx)
            if deadline is not None and time.monotonic() > deadline:
                proc.cancel()
                raise ModelError(f"training did not finish within {timeout:.0f} s",
                                 hint="train on fewer or smaller images, or allow more time")
            if event is None:
                continue
            kind = event.get("event")
            if task_ctx is not None:
                if kind == "progress":
                    task_ctx.progress(event.get("fraction", 0.0))
                elif kind == "status":
                    task_ctx.status(event.get("text", ""))
            if on_event is not None:
                on_event(event)
                _check_cancel(proc, task_ctx)       # a callback may have pressed cancel
            if kind == "done":
                done = event
            elif kind == "error":
                error = event.get("message") or "training failed"
        returncode = proc.wait(timeout=30)
    except BaseException:
        proc.cancel()          # never leave a worker training behind us
        raise
    if error is not None:
        raise ModelError(error)
    if done is None or returncode != 0:
        raise ModelError(proc.crash_message(returncode),
                         hint="look at the messages above; if memory ran out, train on fewer or smaller images")
    from studio.audit.trail import AuditTrail

    AuditTrail(project_root).append("model.trained", actor=actor, what=done.get("model_id"),
                                    after={"task": done.get("task", task), "options": options or {},
                                           "metrics": done.get("metrics")}, reason=reason, meaning="authorship")
    return done
