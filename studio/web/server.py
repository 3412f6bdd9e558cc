"""Serving the dashboard: uvicorn beside the station, never in its way.

- ``DashboardProcess`` -- what ``studio station run --web`` uses: the address
  is bound here (so a busy port is refused before the line starts, with the
  reason), and the socket is handed to a child process
  (``studio station web --fd N``) that runs uvicorn at the lowest CPU
  priority (Linux ``SCHED_IDLE``: only time nothing else wants; elsewhere
  ``NICE`` steps below the station). The dashboard's Python has its own
  interpreter lock, so a page being rendered can never hold up the station's
  threads; the child reads the log read-only. It ends when the station asks,
  and by itself when the station's process is gone (its stdin pipe closes,
  even after ``kill -9``).
- ``DashboardThread`` -- uvicorn in a thread of this process (tests, the GUI,
  a tool that embeds it); ``serve_forever`` -- the standalone
  ``studio station web DATA_DIR`` in the foreground.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.web.listen import bind, url_of

log = logging.getLogger(__name__)

NICE = 10               # the dashboard process runs this many nice steps below the station


def _server(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, timeout_keep_alive=10, loop="asyncio", http="h11",
                            ws="none")
    return uvicorn.Server(config)


def _open_project(project: Any) -> Any:
    if project is None or not isinstance(project, (str, Path)):
        return project
    from studio.project import Project

    return Project.open(project)


def lower_priority(pid: int) -> str:
    """Put the dashboard's process below the station: Linux's SCHED_IDLE (it runs on what the station and
    everything else leave over), else ``NICE`` nice steps; returns which, in words."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE))
        done = f"nice +{NICE}"
    except (OSError, AttributeError):
        done = "normal priority"
    try:
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
        done = "SCHED_IDLE"
    except (OSError, AttributeError):
        pass
    if done == "normal priority":
        log.info("could not lower the web dashboard's priority")
    return done


class DashboardThread:
    """uvicorn in a daemon thread of this process, on an address bound at once (port 0: a free one)."""

    def __init__(self, data_dir: str | Path, host: str = "127.0.0.1", port: int = 0, project: Any = None,
                 central: str | None = None):
        from studio.web.app import create_app

        self.app = create_app(data_dir, _open_project(project), central)
        self.sock = bind(host, port)
        self.port = self.sock.getsockname()[1]
        self.url = url_of(self.sock)
        self._server = _server(self.app)
        self._thread: threading.Thread | None = None

    def start(self) -> DashboardThread:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.sock]},
                                        name="web-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.app.state.closing.set()            # live streams end at their next tick
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.app.state.data.close()
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> DashboardThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_forever(data_dir: str | Path, sock: socket.socket, project: Any = None,
                  stop_on_stdin_eof: bool = False, central: str | None = None) -> None:
    """Serve in the foreground until Ctrl-C / SIGTERM (or, for the station's child, until stdin closes)."""
    from studio.web.app import create_app

    app = create_app(data_dir, _open_project(project), central)
    server = _server(app)
    if stop_on_stdin_eof:
        def watch() -> None:
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            app.state.closing.set()
            server.should_exit = True

        threading.Thread(target=watch, name="station-watch", daemon=True).start()
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        app.state.closing.set()
        app.state.data.close()


class DashboardProcess:
    """The dashboard in a child process at lower priority, on an address bound here first."""

    def __init__(self, data_dir: str | Path, host: str, port: int, project_root: str | Path | None = None):
        self.data_dir = Path(data_dir)
        self.sock = bind(host, port)
        self.port = self.sock.getsockname()[1]
        self.url = url_of(self.sock)
        self.project_root = project_root
        self.proc: subprocess.Popen | None = None

    def start(self) -> DashboardProcess:
        fd = self.sock.fileno()
        os.set_inheritable(fd, True)
        cmd = [sys.executable, "-m", "studio", "station", "web", str(self.data_dir), "--fd", str(fd)]
        if self.project_root:
            cmd += ["--project", str(self.project_root)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, pass_fds=(fd,), close_fds=True)
        lower_priority(self.proc.pid)
        self.sock.close()           # the child holds it now
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()         # the child's cue to finish
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> DashboardProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_dashboard(listen: tuple[str, int] | None, data_dir: str | Path, project_root: str | Path | None = None,
                    in_process: bool = False) -> DashboardProcess | DashboardThread | None:
    """The dashboard for ``station run`` (None when ``listen`` is None); a StudioError when it cannot listen."""
    if listen is None:
        return None
    host, port = listen
    if in_process:
        return DashboardThread(data_dir, host, port, project_root).start()
    try:
        return DashboardProcess(data_dir, host, port, project_root).start()
    except (OSError, ValueError) as e:        # ValueError: no pass_fds on this system
        raise StudioError(f"the web dashboard could not be started: {e}",
                          hint="run the station without --web, and the dashboard apart with "
                               "studio station web DATA_DIR") from None
