"""The standard GenICam features the studio reads and writes, on a harvesters node map.

A camera that lacks a feature is normal (the virtual Viky has no
ExposureTime, Gain or trigger): ``read_features`` says ``available: False``
and the GUI greys the control out; ``write_feature`` answers with a reason
instead of raising. Width, Height, Offset and PixelFormat can only change
while the camera is not streaming (``LOCKED_WHILE_STREAMING``).
"""
from __future__ import annotations

from typing import Any

STANDARD_FEATURES = ("ExposureTime", "Gain", "PixelFormat", "Width", "Height", "OffsetX", "OffsetY",
                     "TriggerMode", "TriggerSource", "TriggerSoftware", "AcquisitionFrameRate")
LOCKED_WHILE_STREAMING = {"PixelFormat", "Width", "Height", "OffsetX", "OffsetY"}
COMMANDS = {"TriggerSoftware"}
# GenApi access modes: NI=0, NA=1, WO=2, RO=3, RW=4
_READABLE, _WRITABLE = (3, 4), (2, 4)


def _access(node: Any) -> int:
    try:
        return int(node.node.get_access_mode())
    except Exception:           # some producers do not tell: assume read/write
        return 4


def describe(nm: Any, name: str) -> dict[str, Any]:
    """{available, readable, writable, value, kind, min, max, inc, choices} of one feature."""
    if not nm.has_node(name):
        return {"name": name, "available": False}
    node = getattr(nm, name)
    access = _access(node)
    out: dict[str, Any] = {"name": name, "available": access != 0 and access != 1,
                           "readable": access in _READABLE, "writable": access in _WRITABLE,
                           "kind": type(node).__name__.lstrip("I").lower()}
    if name in COMMANDS:
        out["kind"] = "command"
        return out
    for key in ("value", "min", "max", "inc", "unit"):
        try:
            v = getattr(node, key)
        except Exception:       # not every node has every attribute
            continue
        out[key] = v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
    try:
        out["choices"] = list(node.symbolics)
    except Exception:
        pass
    return out


def read_features(nm: Any, names: tuple[str, ...] = STANDARD_FEATURES) -> dict[str, dict[str, Any]]:
    return {n: describe(nm, n) for n in names}


def write_feature(nm: Any, name: str, value: Any) -> tuple[bool, str]:
    """Set ``name`` to ``value``; (True, "") or (False, why) — never raises for a camera's refusal."""
    if not nm.has_node(name):
        return False, "this camera has no such feature"
    node = getattr(nm, name)
    if _access(node) not in _WRITABLE:
        return False, "the camera does not allow changing it now (read-only)"
    try:
        if name in COMMANDS:
            node.execute()
        else:
            node.value = value
    except Exception as e:      # out of range, wrong type, locked: report it
        return False, f"{type(e).__name__}: {e}".strip()
    return True, ""
