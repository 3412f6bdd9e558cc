"""The station's live events on the plant's MQTT broker, never in the station's way.

``PlantBus.open(events, stats)`` subscribes to ``Station.events`` (kinds
``part``, ``alert``, ``state``, ``stats``). The subscriber only turns an
event into a message and puts it on a bounded queue (``QUEUE``): the event
pump, and so the kiosk, never waits for the network. The bus's own thread
(``plant-bus``) publishes through paho-mqtt, whose network thread connects,
reconnects (back-off ``RECONNECT_S``) and keeps the session alive.

While the broker is away (never reached yet, or lost):

- part and alert messages are **kept**, oldest first, up to ``buffer``
  (station.yaml ``mqtt.buffer``, default 1000: more than a minute and a half at
  10 parts/s, so a broker restart loses nothing); past it the oldest is
  dropped. Every message the station had while away is counted
  (``while_away``), every one lost is counted (``dropped``). Kept rather than
  dropped at once because a plant's dashboards and counters want the parts
  of a short outage; bounded because memory is fixed and the complete record
  is the result log (and the central store fed from it), not the bus.
- state messages are not kept: the current state is published again on
  reconnect (retained), and heartbeats are not sent (a late heartbeat means
  nothing).

On every connect the bus publishes, in this order: the birth message
(retained, with the figures above), the current state (retained), then the
kept messages (``"late": true``, oldest first; new part and alert messages wait
behind them, so the plant gets them in order). The broker holds the last will, ``state``
``offline`` (retained): a station that dies, or whose network does, shows as
offline to every subscriber. A clean stop leaves the station's last state
(``stopped``) and disconnects, so the will is not published.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from studio.plant_bus import topics
from studio.plant_bus.settings import BusSettings, station_id

log = logging.getLogger(__name__)

QUEUE = 1000                # events waiting for the bus thread; past it they are dropped (counted)
RECONNECT_S = (0.5, 5.0)    # paho's reconnect back-off, first and longest wait
KEEPALIVE_S = 10            # the broker publishes the will within 1.5 x this after a silent network loss
INFLIGHT = 100             # QoS 1/2 messages sent and not yet acknowledged
CLOSE_S = 2.0               # at most this long, at a stop, to hand the last messages to the broker
_CLOSE = object()


class PlantBus:
    """One station's connection to the plant's MQTT broker (see the module's doc)."""

    def __init__(self, settings: BusSettings, info: dict[str, Any] | None = None,
                 alert: Callable[..., None] | None = None):
        if settings.sparkplug:
            from studio.plant_bus.sparkplug import check_available

            check_available()
        self.settings = settings
        self.info = dict(info or {})                # birth message: project, software, ...
        self._alert = alert or (lambda message, level="warning", key=None: None)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE)
        self._kept: deque = deque()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._announce = threading.Event()          # set by paho's thread on connect: birth + state + kept
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._stats: Callable[[], dict[str, Any]] = dict
        self.state_word = "stopped"                 # the station's state as last seen
        self.fault: str | None = None
        self.published = self.dropped = self.while_away = self.late = 0
        self.connects = 0
        self.bus_state = "closed"                   # closed | connecting | connected | away
        self.since = time.time()
        self.error: str | None = None               # why the broker is away, in words
        self._was_connected = self._told_unreachable = self._closing = False
        self._seq = 0

    @classmethod
    def for_station(cls, settings: dict[str, Any], info: dict[str, Any] | None = None,
                    alert: Callable[..., None] | None = None, file: str = "station.yaml") -> PlantBus | None:
        """The bus station.yaml's ``mqtt`` names, or None without one; a StudioError when it is wrong."""
        value = settings.get("mqtt")
        if value is None:
            return None
        return cls(BusSettings.parse(value, station_id(settings), file), info, alert)

    # ---- life cycle -----------------------------------------------------
    def open(self, events: Any, stats: Callable[[], dict[str, Any]] = dict) -> None:
        """Subscribe to ``events`` and start connecting; returns at once (the broker may be away)."""
        import paho.mqtt.client as mqtt

        s = self.settings
        self._stats = stats
        self._queue = queue.Queue(maxsize=QUEUE)       # a new run of the station: messages kept stay kept
        self._was_connected = self._told_unreachable = self._closing = False
        self._seq = 0                                   # heartbeats count from 1 in each run
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=True,
                             protocol=mqtt.MQTTv311)
        leaf, payload = topics.offline(s.station_id)
        client.will_set(s.topic(leaf), topics.encode(payload), qos=max(1, s.qos), retain=True)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set()
        client.reconnect_delay_set(*RECONNECT_S)
        client.max_inflight_messages_set(INFLIGHT)
        client.max_queued_messages_set(INFLIGHT + max(100, s.buffer))      # then _kept holds them
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        self._client = client
        self._set_bus_state("connecting")
        self._thread = threading.Thread(target=self._run, name="plant-bus", daemon=True)
        self._thread.start()
        self._unsubscribe = events.subscribe(self._on_event)
        client.connect_async(s.host, s.port, keepalive=KEEPALIVE_S)
        client.loop_start()

    def close(self, timeout: float = CLOSE_S) -> None:
        """Stop: hand what is queued to the broker (at most ``timeout`` s when connected), disconnect."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        thread, client = self._thread, self._client
        if thread is None:
            return
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            pass
        thread.join(timeout if self._connected.is_set() else 0.5)
        self._thread = None
        self._closing = True
        if client is not None:
            try:
                client.disconnect()             # a clean disconnect: the broker discards the will
                client.loop_stop()
            except Exception as e:              # noqa: BLE001  closing must always finish
                log.warning("plant bus: closing: %s", e)
        self._connected.clear()
        self._set_bus_state("closed")
        self._closing = False

    # ---- what the station sees ------------------------------------------
    def status(self) -> dict[str, Any]:
        """For the station's stats and the Station page (the ``plant_bus`` key)."""
        with self._lock:
            kept = len(self._kept)
        return {"url": self.settings.url, "topic_root": self.settings.topic_root,
                "state": self.bus_state, "since": self.since, "error": self.error,
                "published": self.published, "dropped": self.dropped, "while_away": self.while_away,
                "kept": kept, "late": self.late, "connects": self.connects,
                "sparkplug": self.settings.sparkplug}

    def figures(self) -> dict[str, Any]:
        """The counts the plant sees in the birth and heartbeat messages."""
        with self._lock:
            kept = len(self._kept)
        return {"published": self.published, "dropped": self.dropped, "while_away": self.while_away,
                "kept": kept, "late": self.late, "connects": self.connects}

    # ---- event pump thread: never blocks --------------------------------
    def _on_event(self, kind: str, payload: dict[str, Any]) -> None:
        sid = self.settings.station_id
        if kind == "part":
            item = topics.part(payload["result"], sid)
        elif kind == "alert":
            item = topics.alert(payload.get("message", ""), payload.get("level", "warning"), payload.get("key"), sid)
        elif kind == "state":
            item = ("state-change", payload.get("state", ""))
        else:
            return          # stats: read through stats() when a heartbeat is due
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    # ---- paho's network thread ------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            self._away(f"the broker refused the connection: {reason}")
            return
        self.connects += 1
        self.error = None
        self._announce.set()                    # first: no message goes out before the birth
        self._connected.set()
        self._set_bus_state("connected")
        if self._was_connected:
            self._alert(f"the plant's MQTT broker {self.settings.url} is back: the station announced itself "
                        f"again; {self.while_away} live messages while it was away, {self.dropped} dropped",
                        "info", key="plant-bus-back")
        self._was_connected = True

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self._away(f"connection lost ({reason})")

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._away("cannot reach the broker")

    def _away(self, why: str) -> None:
        self._connected.clear()
        was = self.bus_state
        if was == "closed" or self._closing:
            return
        self.error = why
        self._set_bus_state("away")
        if was == "connected" or (was == "connecting" and not self._told_unreachable):
            self._told_unreachable = True       # once, not at every retry of a broker never reached
            self._alert(f"the plant's MQTT broker {self.settings.url} is away ({why}): inspection goes on; up to "
                        f"{self.settings.buffer} live messages are kept for it, older ones are dropped and "
                        "counted", "warning", key="plant-bus")

    def _set_bus_state(self, word: str) -> None:
        if word != self.bus_state:
            self.bus_state, self.since = word, time.time()

    # ---- the bus thread -------------------------------------------------
    def _run(self) -> None:
        next_beat = time.monotonic() + self.settings.heartbeat_s
        while True:
            try:
                connected = self._ready()
                if connected and self._kept:
                    self._send_kept()
            except Exception:                   # noqa: BLE001  the bus thread must outlive any one message
                log.exception("plant bus")
            draining = self._connected.is_set() and bool(self._kept)    # paho's queue was full: try again soon
            wait = 0.01 if draining else max(0.0, min(0.25, next_beat - time.monotonic()))
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if item is _CLOSE:
                if self._connected.is_set() and self._kept:
                    self._send_kept()           # what paho's queue can take now; the rest stays kept
                return
            try:
                if item is not None:
                    self._handle(item)
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + self.settings.heartbeat_s
                    if self._connected.is_set():
                        self._heartbeat()
            except Exception:                   # noqa: BLE001  the bus thread must outlive any one message
                log.exception("plant bus")

    def _ready(self) -> bool:
        """Connected, and announced (birth, state) since the last connect."""
        if not self._connected.is_set():
            return False
        if self._announce.is_set():
            self._announce.clear()
            self._announce_station()
        return True

    def _handle(self, item: tuple[str, Any]) -> None:
        leaf, payload = item
        self._ready()
        if leaf == "state-change":
            self.state_word = payload
            self.fault = self._safe_stats().get("fault")
            self._send(*self._state_message(), retain=True)     # when away: published again on connect
            return
        if self._kept or not self._send(leaf, payload):        # behind the kept ones: the plant gets them in order
            if not self._connected.is_set():
                with self._lock:
                    self.while_away += 1
            self._keep(leaf, payload)

    def _state_message(self) -> tuple[str, dict[str, Any]]:
        extra: dict[str, Any] = {"model_id": self.info.get("model_id")}
        stats = self._safe_stats()
        if stats.get("model_id"):
            extra["model_id"] = stats["model_id"]
        if self.fault:
            extra["fault"] = self.fault
        return topics.state(self.state_word, self.settings.station_id, **extra)

    def _announce_station(self) -> None:
        """Birth, then the current state; the kept messages follow (``_send_kept``)."""
        info = {"software": _software(), **self.info}
        model_id = self._safe_stats().get("model_id")
        if model_id:
            info["model_id"] = model_id
        self._send(*topics.birth(self.settings.station_id, info, self.figures()), retain=True)
        self._send(*self._state_message(), retain=True)

    def _send_kept(self) -> None:
        """The messages kept while the broker was away, oldest first, while paho takes them."""
        while self._connected.is_set():
            with self._lock:
                if not self._kept:
                    return
                leaf, payload = self._kept[0]       # only this thread adds or takes: peek, then take
            payload["late"] = True
            if not self._send(leaf, payload):
                return                              # paho's queue is full, or the connection went: later
            with self._lock:
                self._kept.popleft()
            self.late += 1

    def _heartbeat(self) -> None:
        self._seq += 1
        self._send(*topics.heartbeat(self.settings.station_id, self._seq, self.state_word, self._safe_stats(),
                                     self.figures()), qos=0)

    def _send(self, leaf: str, payload: dict[str, Any], *, retain: bool = False, qos: int | None = None) -> bool:
        """Hand one message to paho; True when it took it (False: no connection, or paho's queue is full)."""
        import paho.mqtt.client as mqtt

        if not self._connected.is_set():
            return False
        qos = self.settings.qos if qos is None else qos
        info = self._client.publish(self.settings.topic(leaf), topics.encode(payload), qos=qos, retain=retain)
        # QoS 1/2 without a connection (it broke a moment ago): paho queued it and sends it on reconnect
        if info.rc == mqtt.MQTT_ERR_SUCCESS or (info.rc == mqtt.MQTT_ERR_NO_CONN and qos > 0):
            self.published += 1
            return True
        return False

    def _keep(self, leaf: str, payload: dict[str, Any]) -> None:
        with self._lock:
            if self.settings.buffer == 0:
                self.dropped += 1
                return
            if len(self._kept) >= self.settings.buffer:
                self._kept.popleft()            # the oldest goes: the plant wants the newest first
                self.dropped += 1
            self._kept.append((leaf, payload))

    def _safe_stats(self) -> dict[str, Any]:
        try:
            return dict(self._stats())
        except Exception:                       # noqa: BLE001  the station's figures are a bonus here
            return {}


def _software() -> str:
    import studio

    return f"Inspection Studio {studio.__version__}"


def status_line(status: dict[str, Any] | None) -> str:
    """The bus's state in one line for the operator (the Station page); "" without a bus."""
    if not status:
        return ""
    since = time.strftime("%H:%M:%S", time.localtime(status.get("since") or 0))
    dropped = f", {status['dropped']} dropped" if status.get("dropped") else ""
    head = f"Plant bus (MQTT) {status.get('url')}: "
    state = status.get("state")
    if state == "connected":
        return head + f"connected since {since}; {status.get('published', 0)} messages sent{dropped}"
    if state == "away":
        return head + (f"AWAY since {since} ({status.get('error') or 'no broker'}); inspection goes on; "
                       f"{status.get('kept', 0)} messages kept for it{dropped}")
    if state == "connecting":
        return head + "connecting …"
    unsent = f", {status['kept']} kept but never sent" if status.get("kept") else ""
    return head + f"closed; {status.get('published', 0)} messages sent{dropped}{unsent}"
