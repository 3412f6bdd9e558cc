"""``station.yaml``: the one table of station settings, and its check.

Every key the station (or anything it starts) reads from ``station.yaml`` is
a line in ``SETTINGS``: its name, the kinds of value it takes, and what it
means. A key that is not in the table is refused with its name and a
did-you-mean (``plc_spec:`` -> ``plc``), because an unknown key is a typo
whose setting would otherwise silently keep its default, e.g. the simulated
PLC on a real line. The station refuses to start on an invalid file
(``Project.station_settings`` raises), ``studio project check`` lists every
problem.

Adding a setting is one ``Setting(...)`` line below (kinds: ``text``,
``number``, ``whole number``, ``yes/no``, ``mapping``, ``list``; ``choices``
for a fixed set of words; ``check`` for anything more, returning what is
wrong in words or None). The code that uses the setting still reads it
with ``settings.get(name, default)``.

Versions (``MIGRATOR``): 0 — files written before ``schema_version``;
1 — ``schema_version: 1`` (same keys).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable

from studio.core.migrations import FIELD, Migrator
from studio.core.problems import Problem

FILE_NAME = "station.yaml"
SCHEMA_VERSION = 1
MIGRATOR = Migrator(FILE_NAME, SCHEMA_VERSION)


@MIGRATOR.step(0)
def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    return data             # same keys; the version is now written down


def _is(kind: str, v: Any) -> bool:
    if kind == "text":
        return isinstance(v, str) and bool(v.strip())
    if kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if kind == "whole number":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "yes/no":
        return isinstance(v, bool)
    if kind == "mapping":
        return isinstance(v, dict)
    if kind == "list":
        return isinstance(v, list)
    raise ValueError(f"unknown kind of setting value {kind!r}")


@dataclass(frozen=True)
class Setting:
    name: str
    kinds: tuple[str, ...]                # what the value may be (any one of them)
    meaning: str                          # for people: docs, errors, the GUI
    choices: tuple[str, ...] = ()         # for a text value: the words allowed
    check: Callable[[Any], str | None] | None = None    # anything more; returns what is wrong

    def problem(self, value: Any) -> str | None:
        if not any(_is(k, value) for k in self.kinds):
            return f"is {value!r}, not {' or '.join(('a ' if k in ('mapping', 'list') else '') + k for k in self.kinds)}"
        if self.choices and isinstance(value, str) and value not in self.choices:
            return f"is {value!r}, not one of {', '.join(self.choices)}"
        return self.check(value) if self.check else None


def latency_problem(v: Any) -> str | None:
    """What is wrong with a ``cpu_latency_us`` value, or None (also read by studio/station/cpu_latency.py)."""
    if v is False or (isinstance(v, str) and v.strip().lower() == "off"):
        return None
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return None
    return "a whole number of microseconds (0 or more) or off"


def _positive(v: Any) -> str | None:
    return None if isinstance(v, bool) or not isinstance(v, (int, float)) or v > 0 else f"is {v!r}, not above 0"


def threads_problem(v: Any) -> str | None:
    """What is wrong with an ``inference_threads`` value, or None (the station reads the checked value)."""
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 64):
        return None
    return f"is {v!r}, not a whole number of threads from 1 to 64"


def _station_id(v: Any) -> str | None:
    import re

    text = str(v)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", text):
        return (f"is {v!r}: use letters, digits, '.', '_' or '-' (at most 64, no spaces or slashes): it names "
                "the station in the central store, in folders and in topics")
    return None


def central_url_problem(v: Any) -> str | None:
    """What is wrong with ``v`` as the central store's address (also used by ``studio.central``)."""
    if not isinstance(v, str) or not v.strip():
        return "is not a text (e.g. postgresql://studio@central-pc/plant)"
    if not v.strip().startswith(("postgresql://", "postgres://")):
        return f"is {v!r}, not a postgresql:// URL (e.g. postgresql://studio@central-pc/plant)"
    return None


def _camera(v: Any) -> str | None:
    if isinstance(v, dict):
        unknown = sorted(set(v) - {"spec", "settings"})
        if unknown:
            return f"has unknown key(s) {', '.join(map(str, unknown))} (known: spec, settings)"
        if not _is("text", v.get("spec")):
            return "has no spec (e.g. camera: {spec: genicam:viky})"
        if "settings" in v and not isinstance(v["settings"], dict):
            return "settings is not a mapping"
    return None


def _mqtt(v: Any) -> str | None:
    from studio.plant_bus.settings import problem       # the plant bus owns its rule (a layer below project)

    return problem(v)


_TABLE = [
    Setting(FIELD, ("whole number",), "the layout version of this file (written by the studio)"),
    # ---- what runs ----
    Setting("plc", ("text",), "the PLC link: sim, modbus-server://HOST:PORT, ... (default sim)"),
    Setting("camera", ("text", "mapping"), "camera spec, or {spec, settings}; default: project.yaml's camera",
            check=_camera),
    Setting("data_dir", ("text",), "where the result log and part images go (relative: to the project)"),
    Setting("mode", ("text",), "live (the station's verdict goes to the PLC) or shadow (it only watches: PLC "
            "state 4, verdict register 0; the existing inspection decides)", choices=("live", "shadow")),
    Setting("station_id", ("text", "whole number"), "this station's name on the line and in central reports "
            "(default: the host name)", check=_station_id),
    # ---- the result log (reliability) ----
    # (choices for durability are left to the result log's owner: it checks the word itself)
    Setting("durability", ("text",), "how hard the result log commits: normal (survives a crash of the station) "
            "or power-loss (synchronous=FULL: every row survives a power cut)", choices=("normal", "power-loss")),
    Setting("on_log_failure", ("text",), "when the result log cannot be written: continue (inspect on, rows held "
            "in memory) or stop (halt the line)", choices=("continue", "stop")),
    Setting("retention", ("mapping",), "image retention: share of pass images kept, disk quota, ..."),
    # ---- the PLC link and triggers ----
    Setting("plc_timeout_s", ("number",), "seconds without the PLC before the link counts as lost", check=_positive),
    Setting("trigger_timeout_s", ("number",), "seconds to wait for a trigger before alerting", check=_positive),
    Setting("plc_timeout_policy", ("text",), "when the PLC's heartbeat stops for plc_timeout_s: alert (tell the "
            "operator, go on) or halt (the station stops with a fault)", choices=("alert", "halt")),
    Setting("plc_heartbeat", ("number", "yes/no", "mapping"), "the PLC's own heartbeat watch"),
    Setting("cpu_latency_us", ("whole number", "text", "yes/no"), "how soon a core must wake while the station "
            "runs, in microseconds (default 0: the cores poll instead of sleeping, for the lowest part latency; "
            "off lets them sleep and saves power)", check=latency_problem),
    Setting("inference_threads", ("whole number",), "ONNX Runtime threads the live model runs on (default 2; 1: "
            "every part takes nearly the same time and a core stays free for the image writer, a shadow model and the "
            "dashboard; more for a tiled model on a machine with more cores)", check=threads_problem),
    Setting("trigger", ("text",), "what starts an inspection: free (the camera's pace or --interval), hardware "
            "(the camera's trigger input) or plc (the Modbus handshake / OPC UA Trigger)",
            choices=("free", "hardware", "plc")),
    Setting("users", ("list", "mapping"), "who may operate the station"),
    Setting("plc_users", ("list", "mapping"), "OPC UA accounts: name -> salted Argon2 hash "
            "(studio station plc-user PROJECT NAME --password-stdin)"),
    # ---- models and outside systems ----
    Setting("shadow", ("text", "list", "mapping"), "shadow model(s): run on every part, logged, never sent to the PLC"),
    Setting("web", ("mapping", "yes/no", "whole number", "text"), "the station's read-only web dashboard: HOST:PORT "
            "(127.0.0.1:8080; 0.0.0.0:8080 for the plant network), a port, true / false, or {host, port}"),
    Setting("central", ("text",), "the central store (PostgreSQL) the station's rows, alerts and audit entries "
            "are copied to: postgresql://USER@HOST:PORT/DATABASE (password in ~/.pgpass)", check=central_url_problem),
    Setting("central_lag_limit_s", ("number",), "alert when the central store is this many seconds behind "
            "(default 300)", check=_positive),
    Setting("reject_images_to", ("text",), "a shared folder the reject images are also copied to "
            "(<folder>/<station_id>/<day>/), by the central forwarder"),
    Setting("mqtt", ("text", "mapping"), "the plant's MQTT broker for live events: mqtt://HOST:PORT, or {url, "
            "topic_root, qos, sparkplug, heartbeat_s, buffer, username, password} (docs/MQTT.md)", check=_mqtt),
    Setting("shifts", ("list", "mapping"), "shift times, for per-shift figures"),
    Setting("monitoring", ("mapping",), "production monitoring: expected reject or defect rate, windows, "
            "alert limits (studio.monitoring.settings)"),
]
SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}


def suggest(key: str) -> str | None:
    """The known setting ``key`` was most likely meant to be, or None."""
    k = key.strip().lower().replace("-", "_").replace(" ", "_")
    if k in SETTINGS:
        return k
    close = difflib.get_close_matches(k, SETTINGS, n=1, cutoff=0.8)        # a typo: camra, plc_timeout
    if close:
        return close[0]
    prefixed = [s for s in SETTINGS if k.startswith(s + "_") or k.endswith("_" + s)]   # plc_spec, camera_spec
    if prefixed:
        return max(prefixed, key=len)
    head = [s for s in SETTINGS if s.startswith(k.split("_")[0])] if k else []   # cam_spec
    if len(head) == 1:
        return head[0]
    close = difflib.get_close_matches(k, SETTINGS, n=1, cutoff=0.6)
    return close[0] if close else None


def validate(data: Any, file: str = FILE_NAME) -> list[Problem]:
    """Every problem with a station.yaml's content (None, an empty file, is valid: all defaults)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [Problem(file, "(top level)", "is not a mapping of settings",
                        "write one 'key: value' per line, or delete station.yaml to use the defaults")]
    out: list[Problem] = []
    why = MIGRATOR.problem(data)
    if why:
        out.append(Problem(file, FIELD, why, "open it with a newer Inspection Studio" if "newer" in why
                           else f"set 'schema_version: {SCHEMA_VERSION}'"))
    for key, value in data.items():
        setting = SETTINGS.get(str(key))
        if setting is None:
            guess = suggest(str(key))
            out.append(Problem(file, str(key), "is not a station setting"
                               + (f" (did you mean '{guess}'?)" if guess else ""),
                               (f"rename it to '{guess}'" if guess else "remove it")
                               + "; an unknown key is refused rather than ignored, so a typo never leaves "
                                 "a default (such as the simulated PLC) in force. Known settings: "
                               + ", ".join(s for s in SETTINGS if s != FIELD)))
            continue
        if key == FIELD:
            continue
        wrong = setting.problem(value)
        if wrong:
            out.append(Problem(file, str(key), wrong,
                               f"{key}: {setting.meaning}"
                               + (f" (one of: {', '.join(setting.choices)})" if setting.choices else "")))
    return out


def describe() -> str:
    """The table as text, one setting a line (for docs and ``--help``)."""
    return "\n".join(f"{s.name:<18} {'/'.join(s.kinds):<22} {s.meaning}" for s in _TABLE)
