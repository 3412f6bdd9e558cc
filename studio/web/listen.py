"""Where the web dashboard listens: ``--web HOST:PORT`` and station.yaml's ``web:``, read the same way.

Accepted forms (the CLI's ``--web`` and ``--listen`` take the text ones):

- ``127.0.0.1:8080``, ``0.0.0.0:8080`` (every network card), ``[::1]:8080``
- ``8080`` or ``:8080`` -- that port on 127.0.0.1 (this PC only)
- in station.yaml also ``web: true`` (127.0.0.1:8080), ``web: false`` (off),
  ``web: 8080`` and ``web: {host: 0.0.0.0, port: 8080}`` (or ``{listen: HOST:PORT}``)
- ``off`` (the CLI: no dashboard, whatever station.yaml says)

The default address is 127.0.0.1: serving the plant network is a choice the
engineer writes down (``0.0.0.0:8080`` or the address of the network card).
"""
from __future__ import annotations

import errno
import socket
from typing import Any

from studio.core.errors import StudioError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
FORMS = "HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080 for the plant network), PORT, or off"


def _port(text: str, where: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise StudioError(f"the web dashboard's port {text!r} is not a port number (0-65535)", field=where,
                          hint=f"write {FORMS}")
    return int(text)


def parse_listen(value: Any, where: str = "web") -> tuple[str, int] | None:
    """``value`` (CLI text or a station.yaml value) as (host, port), or None for 'no dashboard'."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_HOST, DEFAULT_PORT
    if isinstance(value, int):
        return DEFAULT_HOST, _port(str(value), where)
    if isinstance(value, dict):
        unknown = sorted(set(map(str, value)) - {"host", "port", "listen", "enabled"})
        if unknown:
            raise StudioError(f"the web dashboard setting has unknown key(s) {', '.join(unknown)}", field=where,
                              hint="use web: {host: 127.0.0.1, port: 8080}, or web: 127.0.0.1:8080")
        if value.get("enabled") is False:
            return None
        if "listen" in value:
            return parse_listen(str(value["listen"]), where)
        host = str(value.get("host") or DEFAULT_HOST)
        return host, _port(str(value.get("port", DEFAULT_PORT)), where)
    text = str(value).strip()
    if text.lower() in ("off", "no", "false", "none", ""):
        return None
    if text.lower() in ("on", "yes", "true"):
        return DEFAULT_HOST, DEFAULT_PORT
    if text.isdigit():
        return DEFAULT_HOST, _port(text, where)
    host, sep, port = text.rpartition(":")
    if not sep:
        raise StudioError(f"the web dashboard address {text!r} has no port", field=where, hint=f"write {FORMS}")
    host = host.strip("[]") or DEFAULT_HOST
    return host, _port(port, where)


def resolve_listen(cli_value: str | None, settings: dict[str, Any] | None,
                   file: Any = None) -> tuple[str, int] | None:
    """The CLI's ``--web`` first (``off`` turns station.yaml's off), else station.yaml's ``web:`` (``file``)."""
    if cli_value is not None:
        return parse_listen(cli_value, "--web")
    try:
        return parse_listen((settings or {}).get("web"), "web")
    except StudioError as e:
        raise StudioError(e.message, file=file, field="web", hint=e.hint) from None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: the OS picks a free one), or a StudioError that says why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise StudioError(f"the web dashboard cannot listen on {host}:{port}: {host} is not a known address "
                          f"({e.strerror})", hint="use 127.0.0.1 (this PC), 0.0.0.0 (every network) or the "
                                                  "address of the plant network card") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as e:
        sock.close()
        why, todo = {
            errno.EADDRINUSE: (f"port {port} is already in use",
                               "another program (or another station's dashboard) serves it: choose another "
                               "port with --web HOST:PORT or web: in station.yaml"),
            errno.EACCES: (f"port {port} needs administrator rights", "use a port from 1024 up, e.g. 8080"),
            errno.EADDRNOTAVAIL: (f"{host} is not an address of this PC",
                                  "use 127.0.0.1, 0.0.0.0 or the address of the plant network card"),
        }.get(e.errno, (str(e.strerror or e), "check the address and port"))
        raise StudioError(f"the web dashboard cannot listen on {host}:{port}: {why}", hint=todo) from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}/"
