"""Sparkplug B (``mqtt: {sparkplug: true}``): through a maintained library, not an encoder of our own.

The library meant for it is ``pysparkplug`` (PyPI; NBIRTH/NDEATH/DDATA with
its own protobuf payloads). Its newest release, 0.6.1, requires
``paho-mqtt<2``, while the station's bus is built on paho-mqtt 2.x (the 1.x
line gets no more releases); the two cannot be installed together. Its
upgrade to paho-mqtt 2 is an open pull request (matteosox/pysparkplug #34).
Until a release has it, ``sparkplug: true`` is refused at start with what to
do, and the JSON topic tree (docs/MQTT.md) carries the same figures.
"""
from __future__ import annotations

from importlib import metadata

from studio.core.errors import StudioError

NEEDS = "pysparkplug with paho-mqtt 2 support (a release after 0.6.1)"


def check_available() -> None:
    """Raise a StudioError unless a pysparkplug that works with paho-mqtt 2 is installed."""
    try:
        version = metadata.version("pysparkplug")
    except metadata.PackageNotFoundError:
        version = None
    requires = [] if version is None else (metadata.requires("pysparkplug") or [])
    old_paho = any(r.replace(" ", "").startswith("paho-mqtt<2") for r in requires)
    if version is not None and not old_paho:
        raise StudioError(f"pysparkplug {version} is installed, but this version of Inspection Studio has no "
                          "Sparkplug B publisher yet", field="mqtt",
                          hint="set sparkplug: false: the JSON topic tree (docs/MQTT.md) carries the same figures")
    why = ("pysparkplug is not installed" if version is None
           else f"pysparkplug {version} requires paho-mqtt<2, and the station's bus uses paho-mqtt 2")
    raise StudioError(f"mqtt sparkplug: true needs {NEEDS}; {why}", field="mqtt",
                      hint="set sparkplug: false to publish the JSON topic tree (docs/MQTT.md: the same "
                           "figures); Sparkplug B comes when pysparkplug releases its paho-mqtt 2 upgrade")
