"""The faults the station survives: for each, the alarm, the verdict and the recovery.

One rule for all of them: the part in flight when the fault strikes is a
*fault* (verdict code 3, which the PLC treats as a reject), an alert whose
``key`` names the kind of cause tells the operator, the station recovers by
itself when the cause goes (or says that it needs a restart), and nothing
already logged is lost. ``FAULTS`` is that table; docs/ARCHITECTURE.md
copies it (``markdown_table()`` prints it) and a test keeps the two equal.

Alert keys (``Station.events`` ``alert`` payload ``key``): ``camera``,
``model``, ``model-back`` (a hung model answered again), ``plc``, ``log``,
``station`` (the station itself: a crashed stage, the clock), ``lighting``,
``deadline``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from studio.plc.register_map import VERDICT_FAULT

# which kind of cause a stuck pipeline stage is
STAGE_KINDS = {"acquisition": "camera", "inference": "model", "actuation": "plc"}


class Fault(NamedTuple):
    cause: str
    alarm: str          # alert key and what it says
    verdict: str        # what the part in flight gets
    recovery: str
    where: str          # the code and the test


FAULTS: tuple[Fault, ...] = (
    Fault("camera pulled or lost mid-run (cable, power, driver; the viky device destroyed)",
          "`camera`: camera error, reopening in N s; `camera is back` when it returns",
          "the part whose grab failed is a fault; no part is invented while the camera is away "
          "(hardware trigger: no part)",
          "the feed reopens the camera with back-off 0.5, 1, 2, 5 s; state 2 and a frozen heartbeat meanwhile, "
          "then running again",
          "camera_feed.py; tests/test_station_faults.py (viky)"),
    Fault("model hang (a stage busy longer than `hang_s`; the first part may take 60 s)",
          "`model` (inference), `camera` (acquisition) or `plc` (actuation): the stage, the part, the model",
          "the hung part is published as a fault and logged; parts behind it get no verdict (the PLC sees the "
          "station faulted)",
          "model: state 2 and a frozen heartbeat until the model answers; then a new pipeline goes on from the "
          "next part number (`model-back` alert; up to 3 times a run); no answer within `recover_s` (60 s): "
          "final, restart it. A stuck camera or PLC write: final",
          "runtime.py `_watchdog`, `_recover`; tests/test_station.py, tests/test_station_faults.py"),
    Fault("model error or unusable answer on one part (exception, NaN, no score)",
          "`model`: part N is a fault, why",
          "fault", "the next part is inspected as usual", "decide.py; tests/test_station.py"),
    Fault("model file replaced by garbage (or another model) while the station runs",
          "`model` on a reload: the model id, 'not the one its card was written for'",
          "none: the loaded model keeps running, parts go on",
          "a reload (`Station.reload_model`) or a restart refuses the file (the card's `onnx_sha256`, "
          "else ONNX Runtime's error) and names the model; restore the folder or train again",
          "studio/inference/model.py; tests/test_station_faults.py"),
    Fault("wall clock steps back (NTP correction) or forward",
          "`station`: the wall clock stepped back by N s",
          "none: parts go on; latencies come from the monotonic clock, image names from part numbers",
          "nothing to recover: the log's times jump with the clock, part numbers keep the order",
          "clock.py; tests/test_station_faults.py"),
    Fault("PLC write fails (or the heartbeat write)", "`plc`: the PLC write failed for part N",
          "the part is logged as a fault (the PLC never got its verdict)",
          "final: the station stops (state 2); restart it. PLC link lost, PLC watchdog, Modbus client mode: "
          "see the PLC link section",
          "pipeline.py `_actuate`; tests/test_station.py"),
    Fault("PLC link lost (the PLC stops polling; client mode: the PLC's server goes away)", "`plc`",
          "see the PLC link section", "see the PLC link section", "studio/plc"),
    Fault("disk full", "`log`", "see the result log section", "see the result log section: "
          "`on_log_failure: continue` or `stop`", "studio/results"),
    Fault("data directory unplugged", "`log`", "see the result log section",
          "see the result log section", "studio/results"),
    Fault("station killed (`kill -9`, power loss)", "the PLC sees a frozen heartbeat",
          "see the result log section", "restart: part numbers continue after the last one the PLC can have "
          "seen (see the result log section)", "studio/results"),
    Fault("the plant's MQTT broker lost (killed, network) or never reached", "`plant-bus`: the broker is away; "
          "`plant-bus-back` when it returns",
          "none: parts go on, logged and sent to the PLC as usual",
          "reconnects (0.5 s backing off to 5 s), then birth, state and the messages kept meanwhile (up to "
          "`buffer`; the rest dropped and counted)",
          "studio/plant_bus; tests/test_plant_bus.py"),
)


def markdown_table() -> str:
    lines = ["| cause | alarm (alert key) | verdict of the part in flight | recovery | where |",
             "|---|---|---|---|---|"]
    lines += [f"| {f.cause} | {f.alarm} | {f.verdict} | {f.recovery} | {f.where} |" for f in FAULTS]
    return "\n".join(lines)


def stage_kind(stage_name: str) -> str:
    """The alert key for a stuck stage."""
    return STAGE_KINDS.get(stage_name, "station")


def in_flight_fault(part: int, error: str, *, model_id: str | None, t_trigger: float) -> Any:
    """The fault verdict for a part whose inspection cannot finish (e.g. the model hung on it)."""
    from studio.station.part import PartResult

    return PartResult(part=part, frame_id=0, verdict="fault", verdict_code=VERDICT_FAULT, score=math.nan,
                      model_id=model_id, t_trigger=t_trigger, t_captured=t_trigger, t_decided=t_trigger,
                      t_actuated=t_trigger, error=error)
