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
