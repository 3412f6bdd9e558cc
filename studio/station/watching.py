"""Shadow mode: the whole station watches, the existing inspection decides.

``mode: shadow`` in station.yaml (or ``--mode shadow``) runs the live model
without the reject gate. The PLC link is put in *watching* mode
(``watch_only``): the station state reads 4 (``STATE_WATCHING``, OPC UA
``State`` "shadow") wherever it would read 1 (running), and each part's
write moves the part counter but leaves the verdict, score and class
registers 0 (``PlcLink.publish_watching``). The rows are logged as usual,
with ``watching = 1`` (so reports know the verdict was not given), and the
incumbent's verdict per part comes in by the PLC's incumbent registers, the
kiosk, or a CSV (``studio.station.incumbent``).
"""
from __future__ import annotations

from typing import Any, Callable

from studio.core.errors import StudioError
from studio.plc import register_map as rm

MODES = ("live", "shadow")


def resolve_mode(given: str | None, settings: dict[str, Any]) -> str:
    mode = str(given or settings.get("mode") or "live").strip().lower()
    if mode not in MODES:
        raise StudioError(f"station mode '{mode}' is not known", field="mode",
                          hint="use live (the station's verdict goes to the PLC) or shadow (the station only "
                               "watches: verdict register 0, the existing inspection decides)")
    return mode


def watch_only(plc: Any) -> None:
    """Put a started PLC link in watching mode (this object only, for this run)."""
    if getattr(plc, "_watching", False):
        return
    set_state = plc.set_state

    def watching_state(code: int) -> None:
        set_state(rm.STATE_WATCHING if code == rm.STATE_RUNNING else code)

    def watching_publish(part: int, verdict_code: int, score: float, class_id: int, *,
                         part_id: str = "", defect_class: str = "") -> None:
        plc.publish_watching(part, part_id=part_id)

    plc.set_state = watching_state
    plc.publish = watching_publish
    plc._watching = True


def release(plc: Any) -> None:
    """Back to the link's own writes (after the run)."""
    if getattr(plc, "_watching", False):
        for name in ("set_state", "publish", "_watching"):
            plc.__dict__.pop(name, None)


def marking(commit: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """The log's commit, with each row marked ``watching = 1``."""
    def commit_watching(result: Any) -> bool:
        result.watching = 1
        return commit(result)
    return commit_watching
