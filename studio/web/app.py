"""The dashboard as an ASGI application (Starlette): pages, JSON endpoints and the live event stream.

Read-only by construction: every route is GET (HEAD), the log is opened
``mode=ro``, static files come from a fixed list inside the package, part
images are found by part number through the log (``DashboardData.image_file``).
Errors are a JSON object ``{"error": ..., "hint": ...}`` under ``/api/`` and a
page elsewhere, never a traceback.

Live updates are server-sent events (``/api/events``): the server looks at the
log once per ``SSE_TICK_S`` for all clients together (``DashboardData.version``
is shared and cached) and tells each browser only when a part or an alert was
added; the browser then fetches the page body once. Polling would make every
browser ask for the whole report on its own clock whether or not anything
changed; SSE is one idle connection per browser, reconnects by itself
(``retry``), goes through plant proxies as plain HTTP, and needs no library on
either side.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from studio.core.errors import StudioError
from studio.web import pages
from studio.web.data import BadRequest, DashboardData, NoLog, NotFound, finite

log = logging.getLogger(__name__)

SSE_TICK_S = 1.0
SSE_KEEPALIVE_S = 15.0
MAX_SSE_CLIENTS = 64
OVERVIEW_PARTS = 12
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                  b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
]


def static_files() -> dict[str, bytes]:
    """The dashboard's assets, shipped in the package (declared as package data): name -> bytes."""
    folder = resources.files("studio.web") / "static"
    return {f.name: f.read_bytes() for f in folder.iterdir()
            if f.is_file() and "." + f.name.rsplit(".", 1)[-1] in STATIC_TYPES}


class _Headers:
    """Pure ASGI middleware: security headers on every response (streams included)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _whole(text: str, what: str, default: int | None = None) -> int:
    if text in (None, "") and default is not None:
        return default
    try:
        return int(str(text))
    except ValueError:
        raise BadRequest(f"{what} must be a whole number, not {text!r}") from None


def create_app(data_dir: Any, project: Any = None, central: str | None = None) -> Starlette:
    """The dashboard of the log in ``data_dir`` (``project``: the station's Project, for the report's gate;
    ``central``: the plant's central store for the Fleet page, else station.yaml's ``central:``)."""
    from studio.web import fleet_trace

    data = DashboardData(data_dir, project)
    central_url = fleet_trace.central_url(project, central)
    nav = pages.NAV + ((("/fleet", "Fleet"),) if central_url else ())
    assets = static_files()
    station = getattr(project, "name", None) or data.data_dir.name
    closing = threading.Event()
    sse = {"clients": 0}

    def page(request: Request, title: str, active: str, body: str) -> HTMLResponse:
        if request.query_params.get("fragment"):
            return HTMLResponse(body, headers={"cache-control": "no-store"})
        return HTMLResponse(pages.layout(title, body, active, station, nav), headers={"cache-control": "no-store"})

    def safe_report(since: str | None = None) -> tuple[dict[str, Any], str]:
        """The report, or an empty one and the reason shown on the page."""
        try:
            return data.report(since), ""
        except NoLog as e:
            return {}, pages.message(e.message, e.hint or "")
        except StudioError as e:
            return {}, pages.message(e.message, e.hint or "", "bad")

    # ---- pages (sync: Starlette runs them in its thread pool, off the event loop) ----
    def overview(request: Request) -> HTMLResponse:
        report, problem = safe_report()
        if problem:
            return page(request, "Overview", "/", problem + pages.figure_tiles({}, data.health(count=False)))
        # the last parts whose image is written (the newest few may still be 'pending' at the writer,
        # passes may be skipped by the retention policy); the Parts page lists every part
        rows = data.recent(OVERVIEW_PARTS * 4)
        shown = [r for r in rows if r["image_url"]][:OVERVIEW_PARTS] or rows[:OVERVIEW_PARTS]
        return page(request, "Overview", "/", pages.overview_body(report, shown, data.health(count=False)))

    def parts(request: Request) -> HTMLResponse:
        n = _whole(request.query_params.get("n", ""), "n", 60)
        try:
            body = pages.gallery(data.recent(n))
        except NoLog as e:
            body = pages.message(e.message, e.hint or "")
        return page(request, "Parts", "/parts", f"<h1>The last {n} parts</h1>" + body)

    def part(request: Request) -> HTMLResponse:
        n = _whole(request.path_params["n"], "the part number")
        row = data.part(n)
        if row is None:
            raise NotFound(f"no part {n} in the result log")
        return page(request, f"Part {n}", "/parts", pages.part_body(row))

    def alerts(request: Request) -> HTMLResponse:
        try:
            body = pages.alerts_table(data.alerts(200))
        except NoLog as e:
            body = pages.message(e.message, e.hint or "")
        return page(request, "Alerts", "/alerts", "<h1>Alerts</h1>" + body)

    def shadow(request: Request) -> HTMLResponse:
        report, problem = safe_report()
        return page(request, "Shadow", "/shadow", "<h1>Shadow comparison</h1>"
                    + (problem or pages.shadow_body(report.get("shadow"))))

    def gate(request: Request) -> HTMLResponse:
        report, problem = safe_report()
        return page(request, "Gate", "/gate", "<h1>Promotion gate</h1>" + (problem or pages.gate_body(report.get("gate"))))

    def _trace(request: Request) -> dict[str, Any]:
        from studio.station.trace import trace_part

        n = _whole(request.path_params["n"], "the part number")
        if data.part(n) is None:
            raise NotFound(f"no part {n} in the result log")
        return trace_part(data.data_dir, n, project=project)

    def trace(request: Request) -> HTMLResponse:
        chain = _trace(request)
        return page(request, f"Trace of part {request.path_params['n']}", "/parts", fleet_trace.trace_body(chain))

    def _fleet(request: Request) -> dict[str, Any]:
        if not central_url:
            raise NotFound("this dashboard has no central store",
                           hint="set central: postgresql://... in station.yaml, or start studio station web "
                                "with --central URL")
        hours = request.query_params.get("hours") or ""
        try:
            h = float(hours) if hours else fleet_trace.FLEET_HOURS
        except ValueError:
            raise BadRequest(f"hours must be a number, not {hours!r}") from None
        if not 0 < h <= 24 * 366:
            raise BadRequest(f"hours must be between 0 and {24 * 366}, not {hours!r}")
        return fleet_trace.read_fleet(central_url, h)

    def fleet(request: Request) -> HTMLResponse:
        try:
            body = fleet_trace.fleet_body(_fleet(request))
        except fleet_trace.CentralAway as e:
            body = pages.message(e.message, e.hint or "", "bad")
        return page(request, "Fleet", "/fleet", "<h1>Fleet</h1>" + body)

    # ---- JSON ------------------------------------------------------------------------
    def api(payload: Any) -> JSONResponse:
        return JSONResponse(finite(payload), headers={"cache-control": "no-store"})

    def api_report(request: Request) -> JSONResponse:
        return api(data.report(request.query_params.get("since") or None))

    def api_recent(request: Request) -> JSONResponse:
        return api(data.recent(_whole(request.query_params.get("n", ""), "n", 20)))

    def api_alerts(request: Request) -> JSONResponse:
        return api(data.alerts(_whole(request.query_params.get("n", ""), "n", 50)))

    def api_part(request: Request) -> JSONResponse:
        n = _whole(request.path_params["n"], "the part number")
        row = data.part(n)
        if row is None:
            raise NotFound(f"no part {n} in the result log")
        return api(row)

    def api_trace(request: Request) -> JSONResponse:
        return api(_trace(request))

    def api_fleet(request: Request) -> JSONResponse:
        return api(_fleet(request))

    def api_image(request: Request) -> Response:
        path, kind = data.image_file(_whole(request.path_params["n"], "the part number"))
        return FileResponse(path, media_type=kind, headers={"cache-control": "private, max-age=3600"})

    def api_health(request: Request) -> JSONResponse:
        return api(data.health())

    async def api_events(request: Request) -> Response:
        if sse["clients"] >= MAX_SSE_CLIENTS:
            return JSONResponse({"error": f"too many live pages open ({MAX_SSE_CLIENTS})",
                                 "hint": "close some dashboard tabs; the pages still show the figures, "
                                         "reload them by hand"}, status_code=503)

        async def stream():
            sse["clients"] += 1
            try:
                yield "retry: 3000\n\n"
                last, quiet = None, 0.0
                while not closing.is_set():
                    version = await run_in_threadpool(data.version)
                    if version != last:
                        last, quiet = version, 0.0
                        yield f"event: update\ndata: {json.dumps(version)}\n\n"
                    elif quiet >= SSE_KEEPALIVE_S:
                        quiet = 0.0
                        yield ": still here\n\n"
                    await asyncio.sleep(SSE_TICK_S)
                    quiet += SSE_TICK_S
            finally:
                sse["clients"] -= 1

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        body = assets.get(name)
        if body is None:
            raise NotFound(f"no dashboard file {name!r}")
        return Response(body, media_type=STATIC_TYPES["." + name.rsplit(".", 1)[-1]],
                        headers={"cache-control": "max-age=300"})

    # ---- errors: JSON under /api/, a page elsewhere --------------------------------------
    def error(request: Request, status: int, text: str, hint: str = "") -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": text, "hint": hint or None, "status": status}, status_code=status)
        body = pages.message(text, hint, "bad")
        return HTMLResponse(pages.layout("Error", f"<h1>{status}</h1>{body}", "", station, nav), status_code=status)

    def on_studio_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StudioError)
        status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, BadRequest) else 503
        return error(request, status, exc.message, exc.hint or "")

    def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = {404: f"no such page: {request.url.path}",
                405: f"{request.method} is not allowed: the dashboard is read-only (GET only)"}.get(
            exc.status_code, str(exc.detail))
        hint = "the pages are / /parts /alerts /shadow /gate; the JSON is under /api/" if exc.status_code == 404 else ""
        resp = error(request, exc.status_code, text, hint)
        if exc.status_code == 405:
            resp.headers["allow"] = "GET, HEAD"
        return resp

    def on_crash(request: Request, exc: Exception) -> Response:
        log.error("dashboard: %s %s failed", request.method, request.url.path, exc_info=exc)
        return error(request, 500, f"the dashboard failed on this request ({type(exc).__name__}: {exc})",
                     "the station is not affected; reload the page, and report this if it stays")

    routes = [Route(path, fn, methods=["GET"]) for path, fn in (
        ("/", overview), ("/parts", parts), ("/parts/{n}", part), ("/alerts", alerts), ("/shadow", shadow),
        ("/gate", gate), ("/api/report", api_report), ("/api/recent", api_recent), ("/api/alerts", api_alerts),
        ("/api/parts/{n}", api_part), ("/parts/{n}/trace", trace), ("/api/parts/{n}/trace", api_trace),
        ("/fleet", fleet), ("/api/fleet", api_fleet), ("/api/image/{n}", api_image), ("/api/health", api_health),
        ("/api/events", api_events), ("/static/{name}", static))]
    app = Starlette(routes=routes, exception_handlers={StudioError: on_studio_error, HTTPException: on_http,
                                                       Exception: on_crash})
    app.add_middleware(_Headers)
    app.state.data = data
    app.state.closing = closing
    app.state.sse = sse
    return app
