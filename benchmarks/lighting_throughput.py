"""Lighting audit and live-view throughput, and the GUI's longest stall while the live view runs.

    .venv/bin/python benchmarks/lighting_throughput.py [--seconds 6] [--skip-gui] [--skip-viky]

Prints one JSON object:

- ``audit_fps``: frames per second through the full audit measures
  (``audit_frames``: exposure, glare, sharpness, noise per frame, then the
  illumination field once) for 400x400 and 2448x2048 frames;
- ``cheap_fps``: the station's per-frame drift measures;
- ``live_fps``: the live view's analysis (display copy, histogram, clipping
  overlay, focus peaking) per frame;
- ``viky``: the virtual GenICam camera at its own 20 fps with the live
  analysis on in the camera thread: frames received per second;
- ``gui``: the Capture page's live view of a 5 MP replay camera (and of
  viky), offscreen: frames shown per second and the event loop's latency
  (a 10 ms timer's lateness: median, p99, longest stall).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.capture.camera import CAMERAS, Camera, Frame, now  # noqa: E402
from studio.capture.sim import SimCamera  # noqa: E402

SIZES = {"400x400": (400, 400), "2448x2048": (2448, 2048)}


def frames_for(width: int, height: int, n: int = 4) -> list[np.ndarray]:
    cam = SimCamera(f"seed=1,width={width},height={height}")
    return [cam.render(i)[0] for i in range(n)]


def rate(fn, items: list[Any], min_s: float = 1.5) -> float:
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_s:
        for it in items:
            fn(it)
            count += 1
    return round(count / (time.perf_counter() - t0), 1)


class ReplayCamera(Camera):
    """Pre-rendered frames at a fixed rate: a fast 5 MP camera for the live-view benchmark."""

    frames: list[np.ndarray] = []

    def __init__(self, argument: str = "", settings: dict | None = None):
        super().__init__(f"replay:{argument}")
        self.fps = float(argument or 20)
        self.n = 0
        self._due = 0.0

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def info(self) -> dict:
        h, w = self.frames[0].shape[:2]
        return {"backend": "replay", "model": "replay", "serial": "", "width": w, "height": h}

    def grab(self, timeout: float = 2.0) -> Frame:
        wait = self._due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._due = max(self._due + 1 / self.fps, time.monotonic())
        self.n += 1
        return Frame(self.frames[self.n % len(self.frames)], self.n, now(), {})


def bench_compute() -> dict[str, Any]:
    from studio.lighting.audit import audit_frames
    from studio.lighting.drift import cheap_measures
    from studio.lighting.live import analyse

    out: dict[str, Any] = {"audit_fps": {}, "cheap_fps": {}, "live_fps": {}, "live_peaking_fps": {}}
    for name, (w, h) in SIZES.items():
        imgs = frames_for(w, h)
        n = 8 if w < 1000 else 4
        t0 = time.perf_counter()
        audit_frames(imgs * (n // len(imgs)))
        out["audit_fps"][name] = round(n / (time.perf_counter() - t0), 1)
        out["cheap_fps"][name] = rate(cheap_measures, imgs)
        out["live_fps"][name] = rate(lambda im: analyse(im, clipping=True, peaking=False), imgs)
        out["live_peaking_fps"][name] = rate(lambda im: analyse(im, clipping=True, peaking=True), imgs)
    return out


def bench_viky(seconds: float) -> dict[str, Any]:
    """viky at its 20 fps; per frame: the audit's per-frame measures, the drift measures and the live analysis."""
    from studio.capture.camera import open_camera
    from studio.lighting import measures as M
    from studio.lighting.audit import measure_frame
    from studio.lighting.drift import cheap_measures
    from studio.lighting.limits import defaults
    from studio.lighting.live import analyse

    lim = defaults()
    with open_camera("genicam:viky", {"trigger": "free"}) as cam:
        cam.grab(timeout=3)
        n, busy, t0 = 0, 0.0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            f = cam.grab(timeout=3)
            b0 = time.perf_counter()
            measure_frame(M.to_gray(f.image), M.brightest(f.image).astype(np.float32), lim)
            cheap_measures(f.image)
            analyse(f.image, clipping=True, peaking=True)
            busy += time.perf_counter() - b0
            n += 1
        elapsed = time.monotonic() - t0
        stats = cam.stats()
    return {"fps_with_all_measures": round(n / elapsed, 1), "camera_fps_setting": 20.0,
            "measures_ms_per_frame": round(busy / max(n, 1) * 1000, 1),
            "dropped": stats["dropped"], "incomplete": stats["incomplete"], "skipped": stats["skipped"]}


def bench_gui(spec: str, seconds: float) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.gui.pages.capture import CapturePage
    from studio.project import Project

    app = QApplication.instance() or QApplication([])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "bench", template="demo")
        page = CapturePage(project)
        page.resize(1280, 800)
        page.show()
        page.peaking_check.setChecked(True)
        page.spec_edit.setText(spec)
        page.connect_camera()
        t_wait = time.monotonic()
        while page.current_frame is None and time.monotonic() - t_wait < 20:
            app.processEvents()
            time.sleep(0.005)
        lateness: list[float] = []
        state = {"due": time.perf_counter() + 0.01}

        def tick() -> None:
            t = time.perf_counter()
            lateness.append((t - state["due"]) * 1000)
            state["due"] = t + 0.01

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        shown, last = 0, page.current_frame
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            app.processEvents()
            if page.current_frame is not last:      # a new frame reached the view
                shown, last = shown + 1, page.current_frame
            time.sleep(0.001)
        elapsed = time.monotonic() - t0
        timer.stop()
        stats = page.worker.stats()
        page.shutdown()
    lat = np.maximum(0, np.array(lateness))
    return {"spec": spec, "shown_fps": round(shown / elapsed, 1), "grab_fps": stats.get("shown_fps"),
            "analysis_ms": stats.get("analysis_ms"), "loop_latency_ms_median": round(float(np.median(lat)), 1),
            "loop_latency_ms_p99": round(float(np.percentile(lat, 99)), 1),
            "longest_stall_ms": round(float(lat.max()), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--skip-gui", action="store_true")
    ap.add_argument("--skip-viky", action="store_true")
    args = ap.parse_args()
    result: dict[str, Any] = {"cpu_count": os.cpu_count()}
    result.update(bench_compute())
    if not args.skip_viky:
        result["viky"] = bench_viky(args.seconds)
    if not args.skip_gui:
        ReplayCamera.frames = frames_for(2448, 2048, 3)
        CAMERAS.register("replay", "__main__:ReplayCamera")
        result["gui"] = [bench_gui("replay:20", args.seconds), bench_gui("replay:60", args.seconds)]
        if not args.skip_viky:
            result["gui"].append(bench_gui("genicam:viky", args.seconds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
