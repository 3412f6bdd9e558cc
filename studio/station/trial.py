"""The station's side of a pilot trial: shadow model, shadow mode, incumbent verdicts, in one object.

``Station`` holds one ``Trial`` per run and calls it at four points (a few
lines in runtime.py): ``open`` once the log and the PLC link are open,
``record`` around the log's commit, ``after_publish`` after each PLC write,
``drain``/``close`` at the end. Everything it does happens after the PLC
write or on its own threads (``shadow.py``), so the actuation path is
unchanged apart from a ``put_nowait``.
"""
from __future__ import annotations

from typing import Any, Callable

from studio.station import watching
from studio.station.incumbent import IncumbentInbox
from studio.station.shadow import ShadowRunner, load_shadow


def live_busy(station: Any) -> bool:
    """The live model has a part in hand, or one waits for it or for the PLC write: the shadow waits."""
    p = station.pipeline
    return p is not None and (p.inference.busy_since is not None or not p.frames.empty()
                              or not p.decided.empty())


class Trial:
    def __init__(self, mode: str, shadow: Any):
        self.mode = mode                # live | shadow
        self.shadow_spec = shadow       # a model id, a model object, or None
        self.shadow: ShadowRunner | None = None
        self.incumbent: IncumbentInbox | None = None
        self._plc: Any = None

    @property
    def watching(self) -> bool:
        return self.mode == "shadow"

    def open(self, station: Any) -> None:
        """After the station's log and PLC link are open (a model that cannot be loaded stops the start)."""
        project, log, plc, alert = station.project, station.log, station.plc, station._alert
        self.incumbent = IncumbentInbox(log, alert)
        if hasattr(plc, "on_incumbent"):
            plc.on_incumbent = self.incumbent.from_plc
        if self.watching:
            watching.watch_only(plc)
        self._plc = plc
        model = load_shadow(project, self.shadow_spec)
        if model is not None:
            self.shadow = ShadowRunner(model, log.add_row, alert, live_busy=lambda: live_busy(station))

    def record(self, commit: Callable[[Any], bool]) -> Callable[[Any], bool]:
        return watching.marking(commit) if self.watching else commit

    def after_publish(self, result: Any) -> None:
        """Actuation thread, after the PLC write: never blocks."""
        if self.incumbent is not None:
            self.incumbent.seen(result)
        if self.shadow is not None:
            self.shadow.offer(result)

    def drain(self, timeout: float = 5.0) -> None:
        """The last part is through: the shadow judges what it has queued."""
        if self.shadow is not None:
            self.shadow.close(timeout)

    def close(self) -> None:
        self.drain()
        if self._plc is not None:
            watching.release(self._plc)
            if getattr(self._plc, "on_incumbent", None) is not None:
                self._plc.on_incumbent = None
            self._plc = None

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode}
        if self.shadow is not None:
            out.update(self.shadow.stats())
        if self.incumbent is not None:
            out.update(self.incumbent.stats())
        return out

    def describe(self) -> str:
        parts = []
        if self.watching:
            parts.append("SHADOW MODE: watching only, no verdict to the PLC (state 4)")
        if self.shadow is not None:
            parts.append(f"shadow model {self.shadow.model_id}")
        return "; ".join(parts)
