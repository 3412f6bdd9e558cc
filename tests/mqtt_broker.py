"""A real MQTT broker for tests: Debian's mosquitto (installed by installer/setup.sh), on a free port of
127.0.0.1 with its configuration in a temporary folder; ``kill()`` is a SIGKILL, ``start()`` brings it
back on the same port. ``Listener`` is a real subscriber (paho-mqtt) that keeps every message."""
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
                                               if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail("the MQTT tests need Debian's mosquitto broker: run installer/setup.sh "
                    "(or apt-get install mosquitto)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        conf = self.folder / "mosquitto.conf"
        # as root mosquitto would drop to the user 'mosquitto', who cannot read a test's temporary folder
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        f"user {getpass.getuser()}\nlog_type error\nlog_type warning\nlog_type notice\n"
                        # a subscriber slowed by a loaded machine must not lose QoS 1 messages (default 1000)
                        "max_queued_messages 100000\n")
        self.starts += 1
        log = open(self.folder / f"mosquitto-{self.starts}.log", "wb")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited {self.proc.returncode}: "
                                   + (self.folder / f"mosquitto-{self.starts}.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: no goodbye to any client."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


class Listener:
    """A plant application: subscribes to ``root/#`` (again after each reconnect) and keeps every message."""

    def __init__(self, broker: Broker, root: str):
        import paho.mqtt.client as mqtt

        self.root = root
        self.messages: list[tuple[str, dict, bool]] = []       # (leaf, payload, retained)
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"plant-{os.getpid()}-{id(self)}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.connected.set()      # after the SUBACK: nothing is missed
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=5)
        self.client.loop_start()
        assert self.connected.wait(10), "the test's subscriber could not connect to the broker"

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        client.subscribe(f"{self.root}/#", qos=1)

    def _on_message(self, client, userdata, msg):
        leaf = msg.topic[len(self.root) + 1:]
        with self._lock:
            self.messages.append((leaf, json.loads(msg.payload), bool(msg.retain)))

    def of(self, leaf: str) -> list[dict]:
        with self._lock:
            return [p for k, p, _ in self.messages if k == leaf]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Cable:
    """A TCP relay between a station and the broker, to pull the network cable: ``freeze()`` stops every byte
    both ways and keeps the connections open (nobody is told: a silent network), ``mend()`` drops the frozen
    connections and relays new ones again."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.frozen = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.port = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                near, _ = self._server.accept()
            except OSError:
                return
            if self.frozen.is_set():
                near.close()
                continue
            try:
                far = socket.create_connection(("127.0.0.1", self.broker.port), timeout=2)
            except OSError:
                near.close()
                continue
            far.settimeout(None)
            self._sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                while self.frozen.is_set():         # the cable is out: the bytes go nowhere
                    time.sleep(0.05)
                    if a.fileno() < 0:
                        return
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def freeze(self) -> None:
        self.frozen.set()

    def mend(self) -> None:
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self._sockets = []
        self.frozen.clear()

    def close(self) -> None:
        self._closed = True
        self.mend()
        self._server.close()
