"""The JSON topic tree the station publishes on (the contract: docs/MQTT.md).

``<root>/birth``      retained, QoS: on every (re)connect: who the station is and its bus figures
``<root>/state``      retained, QoS: the station state; ``offline`` is the broker's last will
``<root>/part``       QoS: one message per inspected part
``<root>/alert``      QoS: every alert the station raises
``<root>/heartbeat``  QoS 0: every ``heartbeat_s`` while connected, with the running figures

Each function returns ``(leaf, payload)``; payloads are JSON objects with
``station_id`` and ``t`` (seconds since the epoch, UTC).
"""
from __future__ import annotations

import json
import math
import time
from typing import Any

SCHEMA = 1          # the payloads' version: a new key is compatible, a renamed one is a new version
LEAVES = ("birth", "state", "part", "alert", "heartbeat")


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str).encode()


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def part(result: Any, station_id: str) -> tuple[str, dict[str, Any]]:
    return "part", {
        "station_id": station_id,
        "part": int(result.part),
        "part_id": getattr(result, "part_id", "") or "",
        "verdict": result.verdict,
        "score": _finite(getattr(result, "score", None)),
        "defect_class": getattr(result, "defect_class", None),
        "model_id": getattr(result, "model_id", None),
        "t_trigger": _finite(getattr(result, "t_trigger", None)),
        "t_decided": _finite(getattr(result, "t_decided", None)),
        "latency_ms": _finite(getattr(result, "latency_ms", None)),
        "image": getattr(result, "image_path", None),      # relative to the station's data directory
        "t": time.time(),
    }


def alert(message: str, level: str, key: str | None, station_id: str) -> tuple[str, dict[str, Any]]:
    return "alert", {"station_id": station_id, "level": level, "kind": key, "message": message, "t": time.time()}


def state(state_word: str, station_id: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "state", {"station_id": station_id, "state": state_word, "t": time.time(), **extra}


def offline(station_id: str) -> tuple[str, dict[str, Any]]:
    """The last will: the broker publishes it (retained) when the station's connection dies unannounced."""
    return "state", {"station_id": station_id, "state": "offline",
                     "reason": "the station's connection was lost (the station died, or its network)"}


def birth(station_id: str, info: dict[str, Any], figures: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "birth", {"station_id": station_id, "schema": SCHEMA, **info, "bus": figures, "t": time.time()}


def heartbeat(station_id: str, seq: int, state_word: str, stats: dict[str, Any],
              figures: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    keep = ("parts", "passed", "rejected", "faults", "reviewed", "reject_rate", "latency_ms_p99", "model_id")
    return "heartbeat", {"station_id": station_id, "seq": seq, "state": state_word,
                         **{k: stats[k] for k in keep if k in stats}, "bus": figures, "t": time.time()}
