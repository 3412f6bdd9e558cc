"""``station.yaml``'s ``mqtt``: which broker, where in the plant's topic tree, how hard to deliver.

Two forms::

    mqtt: mqtt://broker.plant:1883                  # the topic root is then studio/<station_id>
    mqtt:
      url: mqtt://broker.plant:1883                 # mqtts://...: TLS with the system's certificates
      topic_root: plant/line1/station1
      qos: 1                                        # 0, 1 or 2 (part, alert, state, birth messages)
      sparkplug: false                              # true: Sparkplug B (see docs/MQTT.md)
      heartbeat_s: 5                                # how often <root>/heartbeat is sent
      buffer: 1000                                  # messages kept while the broker is away
      username: station1                            # when the broker asks for one
      password: ...

``problem(value)`` is the check ``studio.project.station_settings`` runs (what
is wrong in words, or None); ``BusSettings.parse`` reads it for the station.
One place for the rule: both use ``_parse``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from studio.core.errors import StudioError
from studio.core.host import default_station_id

SCHEMES = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}
KEYS = ("url", "topic_root", "qos", "sparkplug", "heartbeat_s", "buffer", "username", "password", "client_id")
DEFAULT_ROOT = "studio"         # + /<station_id>
HEARTBEAT_S = 5.0
BUFFER = 1000
MAX_BUFFER = 1_000_000


@dataclass(frozen=True)
class BusSettings:
    url: str
    host: str
    port: int
    tls: bool
    topic_root: str
    qos: int = 1
    sparkplug: bool = False
    heartbeat_s: float = HEARTBEAT_S
    buffer: int = BUFFER
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    station_id: str = ""

    @classmethod
    def parse(cls, value: Any, station_id: str, file: str = "station.yaml") -> BusSettings:
        """The ``mqtt`` setting for the station; a StudioError naming what is wrong."""
        try:
            return _parse(value, station_id)
        except ValueError as e:
            raise StudioError(f"mqtt {e}", file=file, field="mqtt", hint=HINT) from None

    def topic(self, leaf: str) -> str:
        return f"{self.topic_root}/{leaf}"

    def describe(self) -> str:
        return f"{self.url} ({self.topic_root}/..., QoS {self.qos}{', Sparkplug B' if self.sparkplug else ''})"


HINT = ("write mqtt: mqtt://HOST:PORT, or mqtt: {url: mqtt://HOST:PORT, topic_root: plant/line1/station1, "
        "qos: 1, sparkplug: false}; see docs/MQTT.md")


def station_id(settings: dict[str, Any]) -> str:
    """This station's name on the line: station.yaml's ``station_id``, else the host name."""
    configured = settings.get("station_id")
    return str(configured).strip() if configured not in (None, "") else default_station_id()


def problem(value: Any) -> str | None:
    """What is wrong with an ``mqtt`` value, in words (for ``studio project check``), or None."""
    try:
        _parse(value, "station")
    except ValueError as e:
        return str(e)
    return None


def _topic_problem(root: str) -> str | None:
    if not root or root != root.strip():
        return "is empty or starts or ends with spaces"
    if any(c in root for c in "#+\0"):
        return "has a wildcard (# or +): a topic a station publishes on names one place"
    if root.startswith("/") or root.endswith("/") or "//" in root:
        return "starts or ends with / or has an empty level"
    if root.startswith("$"):
        return "starts with $ (the broker's own topics)"
    return None


def _parse(value: Any, station: str) -> BusSettings:
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise ValueError(f"is {value!r}, not a URL or a mapping")
    unknown = sorted(str(k) for k in value if k not in KEYS)
    if unknown:
        raise ValueError(f"has unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    url = value.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError("has no url (e.g. url: mqtt://broker:1883)")
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise ValueError(f"url {url!r} is not mqtt://HOST:PORT (or mqtts:// for TLS)")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError(f"url {url!r} has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"url {url!r} names no host")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"url {url!r} has a path or query: the topic goes in topic_root")
    root = value.get("topic_root", f"{DEFAULT_ROOT}/{station}")
    if not isinstance(root, str):
        raise ValueError(f"topic_root is {root!r}, not text")
    wrong = _topic_problem(root)
    if wrong:
        raise ValueError(f"topic_root {root!r} {wrong}")
    qos = value.get("qos", 1)
    if isinstance(qos, bool) or qos not in (0, 1, 2):
        raise ValueError(f"qos is {qos!r}, not 0, 1 or 2")
    sparkplug = value.get("sparkplug", False)
    if not isinstance(sparkplug, bool):
        raise ValueError(f"sparkplug is {sparkplug!r}, not true or false")
    heartbeat = value.get("heartbeat_s", HEARTBEAT_S)
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, (int, float)) or not 0.1 <= heartbeat <= 3600:
        raise ValueError(f"heartbeat_s is {heartbeat!r}, not a number of seconds from 0.1 to 3600")
    buffer = value.get("buffer", BUFFER)
    if isinstance(buffer, bool) or not isinstance(buffer, int) or not 0 <= buffer <= MAX_BUFFER:
        raise ValueError(f"buffer is {buffer!r}, not a whole number of messages from 0 to {MAX_BUFFER}")
    texts = {}
    for key in ("username", "password", "client_id"):
        v = value.get(key)
        if v is not None and not isinstance(v, (str, int)):
            raise ValueError(f"{key} is {v!r}, not text")
        texts[key] = None if v is None else str(v)
    if texts["password"] is not None and texts["username"] is None:
        raise ValueError("has a password but no username")
    return BusSettings(url=url.strip(), host=parts.hostname, port=port, tls=parts.scheme in ("mqtts", "ssl"),
                       topic_root=root, qos=qos, sparkplug=sparkplug, heartbeat_s=float(heartbeat),
                       buffer=buffer, username=texts["username"], password=texts["password"],
                       client_id=texts["client_id"] or f"inspection-studio-{station}", station_id=station)
