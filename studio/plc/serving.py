"""What the station's server links (Modbus TCP, OPC UA) share: their own thread with their own
asyncio loop, so the station's threads never wait on the network, and the reason in words when a
port cannot be served."""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

NOT_STARTED = "the server did not start"


def bind_problem(host: str, port: int) -> tuple[str, str]:
    """Why ``host:port`` cannot be served, as (what, what to do); ``NOT_STARTED`` when it could be."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return (f"port {port} is already in use",
                    "another program (or another station) serves that port: stop it, "
                    "or choose a free port and set the PLC to poll it")
        if e.errno == errno.EACCES:
            return (f"port {port} needs administrator rights",
                    "use a port from 1024 up (e.g. 5020) and set the PLC to poll it")
        if e.errno == errno.EADDRNOTAVAIL:
            return (f"{host} is not an address of this PC",
                    "use 0.0.0.0 (all networks) or the address of the PLC network card")
        return str(e.strerror or e), "check the address and port"
    return NOT_STARTED, "check the address and port, and that pymodbus is installed"


Main = Callable[[asyncio.AbstractEventLoop, threading.Event, dict[str, Any]], Awaitable[None]]


def start_server_thread(main: Main, name: str, timeout_s: float) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``main(loop, ready, outcome)`` in a thread of its own with a loop of its own; return once it
    sets ``ready`` (or fails, or ``timeout_s`` passes). ``outcome["error"]`` says why it did not start;
    ``main`` sets ``outcome["listening"]`` when it serves. The loop's leftover tasks are cancelled when
    ``main`` returns."""
    ready = threading.Event()
    outcome: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main(loop, ready, outcome))
        except Exception as e:          # reported to the caller; never escapes the thread
            log.debug("%s", name, exc_info=True)
            outcome["error"] = str(e) or type(e).__name__
        finally:
            ready.set()
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                loop.close()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    if not ready.wait(timeout_s):
        outcome.setdefault("error", "the server did not start in time")
    return thread, outcome
