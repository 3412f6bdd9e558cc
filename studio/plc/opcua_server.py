"""The station is an OPC UA server (asyncua); the PLC or SCADA is its client.

``opcua-server://HOST:PORT[?anonymous=1&security=none]``. The address space
is ``opcua_model`` (the contract). Security, by default:

- endpoints Basic256Sha256 Sign and SignAndEncrypt only; policy None only with
  ``?security=none`` (tests, trusted cells), and the station says so at start;
- the server's application certificate and key are created on first start in
  ``<data dir>/opcua/own/`` and kept (a PLC trusts them once);
- a client certificate the station does not know is refused and filed in
  ``<data dir>/opcua/rejected/``; moving the file to ``<data dir>/opcua/trusted/``
  trusts it (read at each new session: no restart);
- user name and password (``plc_users`` in station.yaml, Argon2id hashes, see
  ``accounts``); anonymous sessions only with ``?anonymous=1``.

asyncua runs in its own thread with its own asyncio loop, so the station's
threads never wait on the network: ``publish``, ``beat`` and ``set_state``
update the register image and hand the update to the loop with
``call_soon_threadsafe`` (microseconds); one writer task applies the updates in
order. A part's result variables are all set before any data-change
notification goes out, with no await in between, so a client never reads a
verdict with the previous part's score; PartCounter is notified last.
"""
from __future__ import annotations

import asyncio
import logging
import math
import queue
import socket
import threading
import time
from collections import OrderedDict
from datetime import datetime, UTC
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from studio.core.errors import PlcError
from studio.plc import accounts
from studio.plc import opcua_model as model
from studio.plc import register_map as rm
from studio.plc.base import PlcLink, PlcTrigger
from studio.plc.modbus_server import parse_address
from studio.plc.opcua_security import CertificateFolders, SessionUsers, fingerprint
from studio.plc.serving import NOT_STARTED, bind_problem, start_server_thread

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0           # asyncua loads its standard address space: 20-30 s on a loaded PC
STOP_TIMEOUT_S = 5.0
TRIGGER_ACCEPT_S = model.TRIGGER_ACCEPT_S
JOBS_KEPT = 1000                # part -> job id of triggered parts, for the Machine Vision events
APPLICATION_URI = "urn:{host}:inspection-studio:station"

# state 3 (inspecting, the result log failing: on_log_failure continue) is "running" in the fixed
# OPC UA contract; the station's `log` alert says the rest
STATE_NAMES = {rm.STATE_STOPPED: "stopped", rm.STATE_RUNNING: "running", rm.STATE_FAULTED: "faulted",
               rm.STATE_LOG_FAILING: "running", rm.STATE_WATCHING: "shadow"}
VISION_STATE = {"starting": "Preoperational", "running": "Operational", "shadow": "Operational",
                "faulted": "Error", "stopped": "Halted"}
# ResultState of a Machine Vision result: 1 OK, 2 not OK, 3 undetermined (review); -1 (vendor): fault
RESULT_STATE = {rm.VERDICT_PASS: 1, rm.VERDICT_REJECT: 2, rm.VERDICT_REVIEW: 3, rm.VERDICT_FAULT: -1,
                0: 3}       # 0: shadow mode, no verdict given (undetermined)
VERDICT_WORDS_WATCHING = {0: "watching only (no verdict)"}
VERDICT_WORDS = {code: word for word, code in rm.VERDICT_CODES.items()}
EXAMPLE = "opcua-server://0.0.0.0:4840"
OPTIONS = {"anonymous": ("0", "1"), "security": ("basic256sha256", "none")}


def parse_arg(arg: str, spec: str) -> tuple[str, int, bool, bool]:
    """``"0.0.0.0:4840?anonymous=1&security=none"`` -> host, port, anonymous, security none."""
    address, _, query = arg.partition("?")
    host, port = parse_address(address, spec)
    options = parse_qs(query, keep_blank_values=True) if query else {}
    for key, values in options.items():
        allowed = OPTIONS.get(key)
        if allowed is None:
            raise PlcError(f"'{spec}': unknown option '{key}'", field="plc",
                           hint=f"options are anonymous=1 and security=none, e.g. {EXAMPLE}?anonymous=1")
        if len(values) != 1 or values[0].lower() not in allowed:
            raise PlcError(f"'{spec}': {key}={','.join(values)} is not one of {', '.join(allowed)}", field="plc",
                           hint=f"e.g. {EXAMPLE}?{key}={allowed[-1]}")
    anonymous = options.get("anonymous", ["0"])[0] == "1"
    security_none = options.get("security", [""])[0].lower() == "none"
    return host, port, anonymous, security_none


class _Pending:
    __slots__ = ("trigger", "cancelled")

    def __init__(self, trigger: PlcTrigger):
        self.trigger, self.cancelled = trigger, False


class OpcUaServerPlc(PlcLink):
    supports_trigger = True
    uses_station_files = True

    def __init__(self, host: str, port: int, *, data_dir: str | Path | None, users: dict[str, str] | None = None,
                 anonymous: bool = False, security_none: bool = False, spec: str = ""):
        super().__init__(spec or f"opcua-server://{host}:{port}")
        self.host, self.port = host, port
        self.anonymous, self.security_none = anonymous, security_none
        self.users = dict(users or {})
        self.folders = CertificateFolders(Path(data_dir) / "opcua") if data_dir else None
        self.endpoint = f"opc.tcp://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
        self.application_uri = APPLICATION_URI.format(host=socket.gethostname())
        self.notices: list[str] = []        # what the station should tell the operator at start
        if not hasattr(self, "_image"):     # the register image, unless PlcLink keeps it
            self._image = [0] * rm.REGISTER_COUNT
            self._image_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._updates: asyncio.Queue | None = None
        self._server: Any = None
        self._nodes: model.Built | None = None
        self._triggers: "queue.Queue[_Pending]" = queue.Queue()
        self._beats = 0
        self._state = "starting"
        self._model_id = ""
        self._halted = False            # Halt: no triggers until Reset
        self._automatic = "Initialized"
        self._continuous = False
        self._in_flight = 0             # triggered parts accepted, not yet published
        self._takes_triggers = False    # the station asked for a trigger at least once (not free-running)
        self._jobs: OrderedDict[int, str] = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._plc_beat: tuple[Any, float] | None = None     # (last value, monotonic time it changed)
        self.on_command: Any = None     # the station may set a callable(name) for Halt/Reset/Stop/Abort/...
        self.rejected_count = 0         # client certificates refused (filed under rejected/)
        self._accounts = SessionUsers(self.users, anonymous)

    @classmethod
    def from_spec(cls, arg: str, spec: str = "", *, data_dir: str | Path | None = None,
                  settings: dict[str, Any] | None = None) -> "OpcUaServerPlc":
        spec = spec or f"opcua-server://{arg}"
        host, port, anonymous, security_none = parse_arg(arg, spec)
        users = accounts.users(settings or {}, "station.yaml")
        return cls(host, port, data_dir=data_dir, users=users, anonymous=anonymous, security_none=security_none,
                   spec=spec)

    # ---- life cycle ---------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        if self.folders is None:
            raise PlcError("the OPC UA server needs the station's data directory for its certificates",
                           hint="start it from the station (studio station run), which passes its data directory")
        if not self.users and not self.anonymous:
            raise PlcError(f"'{self.spec}': no PLC account can log in: station.yaml has no plc_users and "
                           "anonymous access is off", field="plc",
                           hint="add an account: echo PASSWORD | studio station plc-user PROJECT NAME "
                                f"--password-stdin; or allow anonymous clients with {EXAMPLE}?anonymous=1")
        what, hint = bind_problem(self.host, self.port)       # at once, not after asyncua's slow init
        if what != NOT_STARTED:
            raise PlcError(f"cannot serve OPC UA on {self.host}:{self.port}: {what}",
                           hint=hint.replace("poll it", "connect to it"))
        try:
            created = self.folders.prepare(self.application_uri, self.host)
        except OSError as e:
            raise PlcError(f"cannot create the OPC UA certificate in {self.folders.own}: {e.strerror or e}",
                           hint="check that the data directory is writable") from None
        self.notices = []
        if created:
            self.notices.append(f"OPC UA: created the station's application certificate {self.folders.cert}; "
                                "trust it once in the PLC / client")
        if self.security_none:
            self.notices.append("OPC UA security policy None is offered (security=none): anyone on the network "
                                "can read and trigger without encryption; use only in a trusted cell")
        if self.anonymous:
            self.notices.append("OPC UA anonymous access is allowed (anonymous=1): clients need no account")
        for note in self.notices:
            log.warning("%s", note)
        self._thread, outcome = start_server_thread(self._main, f"plc-opcua-{self.port}", START_TIMEOUT_S)
        if "error" in outcome or not outcome.get("listening"):
            self.stop()
            what, hint = bind_problem(self.host, self.port)
            detail = outcome.get("error")
            if what == NOT_STARTED:
                what, hint = detail or what, "check the address and port, and that asyncua is installed"
            elif detail:
                what = f"{what} ({detail})"
            raise PlcError(f"cannot serve OPC UA on {self.host}:{self.port}: {what}",
                           hint=hint.replace("poll it", "connect to it"))

    def stop(self) -> None:
        loop, thread, stopping = self._loop, self._thread, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT_S + 2.0)
            if thread.is_alive():
                log.warning("the OPC UA server did not stop in time")
        self._loop = self._thread = self._stopping = self._updates = None
        self._server = self._nodes = None
        self._takes_triggers = False
        self._cancel_waiting()

    async def _main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event, outcome: dict[str, Any]) -> None:
        from asyncua import Server, ua

        self._loop, self._stopping = loop, asyncio.Event()     # stop() works from here on
        server = Server(user_manager=self._accounts)
        await server.init()
        server.set_endpoint(self.endpoint if self.host != "0.0.0.0" else f"opc.tcp://0.0.0.0:{self.port}")
        server.set_server_name("Inspection Studio station")
        await server.set_application_uri(self.application_uri)
        server.product_uri = "urn:inspection-studio"
        server.manufacturer_name = "Inspection Studio"
        server.application_type = ua.ApplicationType.Server
        policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt, ua.SecurityPolicyType.Basic256Sha256_Sign]
        if self.security_none:
            policies.append(ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policies)
        tokens = [ua.UserNameIdentityToken] + ([ua.AnonymousIdentityToken] if self.anonymous else [])
        server.set_identity_tokens(tokens)
        await server.load_certificate(str(self.folders.cert))
        await server.load_private_key(str(self.folders.key))
        server.set_certificate_validator(self._validate_certificate)
        server.iserver.allow_remote_admin = False

        self._nodes = await model.build(server, {
            "Trigger": self._m_trigger, "StartSingleJob": self._m_start_single_job, "Halt": self._m_halt,
            "Reset": self._m_reset, "SelectModeAutomatic": self._m_select_automatic,
            "StartContinuous": self._m_start_continuous, "Stop": self._m_stop, "Abort": self._m_abort})
        from asyncua.common.callback import CallbackType

        server.subscribe_server_callback(CallbackType.PostWrite, self._on_client_write)
        self._updates = asyncio.Queue()
        if self._stopping.is_set():         # stop() came during the (slow) init: never listen
            return
        await server.start()
        self._server = server
        outcome["listening"] = True
        writer = loop.create_task(self._apply_updates())
        await self._apply(("state", self._state))      # what the station said before the server listened
        await self._apply(("model", self._model_id))
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            try:
                await asyncio.wait_for(server.stop(), STOP_TIMEOUT_S)
            except Exception as e:      # a stuck client must not keep the station from stopping
                log.warning("OPC UA server did not shut down cleanly: %s", e)

    # ---- security -----------------------------------------------------
    async def _validate_certificate(self, cert: Any, app_description: Any) -> None:
        from asyncua import ua
        from asyncua.common.utils import ServiceError
        from cryptography.hazmat.primitives import serialization

        der = cert.public_bytes(serialization.Encoding.DER)
        if fingerprint(der) not in self.folders.trusted_fingerprints():
            name = (app_description.ApplicationName.Text if app_description and app_description.ApplicationName
                    else "") or getattr(app_description, "ApplicationUri", "") or "client"
            path = self.folders.file_rejected(der, name)
            self.rejected_count += 1
            log.warning("OPC UA client '%s' refused: its certificate is not trusted (filed as %s; move it to %s "
                        "to trust it)", name, path, self.folders.trusted)
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)

    # ---- the station's writes (station threads; microseconds) ---------
    def _write(self, address: int, values: list[int]) -> None:
        with self._image_lock:
            self._image[address:address + len(values)] = values

    def registers(self) -> list[int]:
        with self._image_lock:
            return self._image[:rm.REGISTER_COUNT]

    def _post(self, update: tuple) -> None:
        loop, updates = self._loop, self._updates
        if loop is None or updates is None:
            return
        try:
            loop.call_soon_threadsafe(updates.put_nowait, update)
        except RuntimeError:            # the loop closed under us: the link is stopping
            pass

    def publish(self, part: int, verdict_code: int, score: float, class_id: int, *,
                part_id: str = "", defect_class: str = "") -> None:
        # registers (and checks the verdict code)
        super().publish(part, verdict_code, score, class_id, part_id=part_id, defect_class=defect_class)
        with self._jobs_lock:
            job = self._jobs.pop(int(part), None)
            if job is not None:
                self._in_flight = max(0, self._in_flight - 1)
        self._post(("result", int(part), int(verdict_code), float(score) if score is not None else math.nan,
                    int(class_id or 0), str(part_id or ""), str(defect_class or ""), job))

    def publish_watching(self, part: int, *, part_id: str = "") -> None:
        super().publish_watching(part, part_id=part_id)
        with self._jobs_lock:
            job = self._jobs.pop(int(part), None)
            if job is not None:
                self._in_flight = max(0, self._in_flight - 1)
        self._post(("result", int(part), 0, math.nan, 0, str(part_id or ""), "", job))

    def beat(self) -> None:
        super().beat()
        self._beats = (self._beats + 1) & 0xFFFFFFFF
        self._post(("beat", self._beats))

    def set_state(self, code: int) -> None:
        super().set_state(code)
        self._state = STATE_NAMES[code]
        if self._state not in ("running", "shadow"):
            with self._jobs_lock:       # parts taken but never published do not stay "in execution"
                self._in_flight = 0
        self._post(("state", self._state))

    def set_model(self, model_id: str | None) -> None:
        super().set_model(model_id)
        self._model_id = model_id or ""
        self._post(("model", self._model_id))

    # ---- the PLC's side -------------------------------------------------
    def wait_trigger(self, stop: threading.Event, timeout: float) -> PlcTrigger | None:
        self._takes_triggers = True         # the station runs on PLC triggers
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                pending = self._triggers.get(timeout=min(left, 0.1))     # short: `stop` gets through
            except queue.Empty:
                continue
            if not pending.cancelled:
                return pending.trigger
        return None

    def stop_triggers(self) -> None:
        """The station takes no more triggers now: the waiting ones are withdrawn (their caller gets
        Bad_Timeout), new ones wait for the next ``wait_trigger``."""
        parent = getattr(super(), "stop_triggers", None)
        if parent is not None:
            parent()
        self._cancel_waiting()

    def plc_heartbeat_age(self) -> float | None:
        seen = self._plc_beat
        return None if seen is None else time.monotonic() - seen[1]

    def _on_client_write(self, event: Any, dispatcher: Any = None) -> None:
        """asyncua PostWrite: note when the PLC's heartbeat changes."""
        nodes = self._nodes
        if nodes is None:
            return
        target = nodes.variables["PlcHeartbeat"]
        for item, status in zip(event.request_params.NodesToWrite, event.response_params or []):
            if item.NodeId == nodes.variables.get("IncumbentVerdict") and status.is_good():
                self._incumbent_written(item.Value.Value.Value if item.Value and item.Value.Value else None)
            if item.NodeId == target and status.is_good():
                value = item.Value.Value.Value if item.Value and item.Value.Value else None
                seen = self._plc_beat
                if seen is None or seen[0] != value:
                    self._plc_beat = (value, time.monotonic())

    def _incumbent_written(self, verdict: Any) -> None:
        """The PLC wrote IncumbentVerdict: hand it on with the key it wrote before (server thread)."""
        from asyncua import ua

        if self.on_incumbent is None or verdict not in (rm.VERDICT_PASS, rm.VERDICT_REJECT):
            return
        aspace = self._server.iserver.aspace

        def value(name: str) -> Any:
            return aspace.get(self._nodes.variables[name]).attributes[ua.AttributeIds.Value].value.Value.Value

        try:
            self.on_incumbent(int(value("IncumbentPartCounter") or 0), str(value("IncumbentPartId") or ""),
                              int(verdict))
        except Exception:
            log.exception("incumbent verdict from the PLC")

    # ---- the loop's writer (server thread) ------------------------------
    async def _apply_updates(self) -> None:
        while True:
            update = await self._updates.get()
            try:
                await self._apply(update)
            except Exception:           # one bad update must not stop the others
                log.exception("OPC UA update %s", update[0])

    async def _set(self, values: dict[str, Any]) -> None:
        """Set all ``values`` first (no await between), then notify subscribers in the given order."""
        from asyncua import ua

        nodes, server = self._nodes, self._server
        now = datetime.now(UTC)        # one timestamp for all values of one update
        data = {name: ua.DataValue(ua.Variant(value, nodes.types[name]), SourceTimestamp=now, ServerTimestamp=now)
                for name, value in values.items()}
        aspace = server.iserver.aspace
        for name, dv in data.items():       # phase 1: every read from now on sees the whole update
            node = aspace.get(nodes.variables[name])
            node.attributes[ua.AttributeIds.Value].value = dv
        for name, dv in data.items():       # phase 2: data-change notifications
            await server.write_attribute_value(nodes.variables[name], dv)

    async def _apply(self, update: tuple) -> None:
        from asyncua import ua

        kind = update[0]
        if kind == "beat":
            await self._set({"Heartbeat": update[1]})
        elif kind == "model":
            await self._set({"ModelId": update[1]})
        elif kind == "state":
            await self._set({"State": update[1]})
            await self._update_vision_state()
        elif kind == "result":
            _, part, code, score, class_id, part_id, defect_class, job = update
            await self._set({"PartId": part_id, "Verdict": code, "Score": score, "DefectClassId": class_id,
                             "DefectClass": defect_class, "PartCounter": part & 0xFFFFFFFF})
            ev = self._nodes.result_event.event
            ev.PartCounter, ev.PartId, ev.Verdict, ev.Score = part & 0xFFFFFFFF, part_id, code, score
            ev.DefectClassId, ev.DefectClass = class_id, defect_class
            verdict = VERDICT_WORDS.get(code) or VERDICT_WORDS_WATCHING.get(code, str(code))
            await self._nodes.result_event.trigger(message=f"part {part}: {verdict}")
            mv = self._nodes.mv_event.event
            mv.ResultId, mv.JobId, mv.PartId, mv.IsPartial = str(part), job or self._continuous_job(), part_id, False
            mv.ResultState = RESULT_STATE.get(code, -1)
            mv.ResultContent = ua.Variant([f"PartCounter={part}", f"Verdict={code}", f"VerdictText={verdict}",
                                           f"Score={score!r}", f"DefectClassId={class_id}",
                                           f"DefectClass={defect_class}"], ua.VariantType.String).Value
            await self._nodes.mv_event.trigger(message=f"result {part}: {verdict}")
            if job is None and not self._halted and self._automatic in ("Ready", "Initialized"):
                self._automatic = "ContinuousExecution"       # the station runs free (no PLC trigger)
            await self._update_vision_state()
        elif kind == "vision":
            await self._update_vision_state()

    def _continuous_job(self) -> str:
        return "continuous"

    async def _update_vision_state(self) -> None:
        from asyncua import ua

        nodes, server = self._nodes, self._server
        state = "Halted" if self._halted else VISION_STATE.get(self._state, "Preoperational")
        if state == "Operational":
            if self._in_flight:
                automatic = "SingleExecution"
            elif self._continuous or self._automatic == "ContinuousExecution":
                automatic = "ContinuousExecution"
            else:
                automatic = self._automatic if self._automatic in ("Initialized", "Ready") else "Ready"
        else:
            automatic = "Initialized"
        for nodeid, text in ((nodes.vision_state, state), (nodes.automatic_state, automatic)):
            await server.write_attribute_value(nodeid, ua.DataValue(ua.Variant(ua.LocalizedText(text),
                                                                               ua.VariantType.LocalizedText)))

    # ---- methods (server thread) ----------------------------------------
    async def _take_trigger(self, part_id: Any) -> int | Any:
        """Queue a PLC trigger and wait for the station's part number; a StatusCode when it cannot."""
        from asyncua import ua

        if self._halted or self._state not in ("running", "shadow") or not self._takes_triggers:
            return ua.StatusCode(ua.StatusCodes.BadInvalidState)    # halted, not running, or free-running
        text = part_id.Value if isinstance(part_id, ua.Variant) else part_id
        if text is not None and not isinstance(text, str):
            return ua.StatusCode(ua.StatusCodes.BadTypeMismatch)
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def resolve(part: int) -> None:
            if not future.done():
                future.set_result(part)

        def accepted(part: int) -> None:       # station thread
            with self._jobs_lock:
                self._jobs[int(part)] = f"single-{int(part)}"
                while len(self._jobs) > JOBS_KEPT:
                    self._jobs.popitem(last=False)
                self._in_flight += 1
            try:
                loop.call_soon_threadsafe(resolve, int(part))
            except RuntimeError:
                pass
            self._post(("vision",))

        pending = _Pending(PlcTrigger(part_id=text or "", accepted=accepted))
        self._triggers.put(pending)
        try:
            return await asyncio.wait_for(asyncio.shield(future), TRIGGER_ACCEPT_S)
        except TimeoutError:
            pending.cancelled = True
            return ua.StatusCode(ua.StatusCodes.BadTimeout)

    async def _m_trigger(self, parent: Any, part_id: Any = None) -> Any:
        from asyncua import ua

        part = await self._take_trigger(part_id)
        if isinstance(part, ua.StatusCode):
            return part
        return [ua.Variant(part & 0xFFFFFFFF, ua.VariantType.UInt32)]

    async def _m_start_single_job(self, parent: Any, part_id: Any = None) -> Any:
        from asyncua import ua

        part = await self._take_trigger(part_id)
        if isinstance(part, ua.StatusCode):
            return part
        return [ua.Variant(f"single-{part}", ua.VariantType.String)]

    def _command(self, name: str) -> None:
        handler = self.on_command
        if handler is not None:
            try:
                handler(name)
            except Exception:
                log.exception("station command %s", name)

    async def _m_halt(self, parent: Any) -> Any:
        from asyncua import ua

        self._halted, self._continuous = True, False
        self._cancel_waiting()
        self._command("halt")
        await self._update_vision_state()
        return ua.StatusCode()

    async def _m_reset(self, parent: Any) -> Any:
        from asyncua import ua

        if self._state == "faulted" and not self._halted:
            return ua.StatusCode(ua.StatusCodes.BadInvalidState)   # a station fault clears only on restart
        self._halted, self._continuous, self._automatic = False, False, "Initialized"
        self._command("reset")
        await self._update_vision_state()
        return ua.StatusCode()

    async def _m_select_automatic(self, parent: Any) -> Any:
        from asyncua import ua

        if self._halted:
            return ua.StatusCode(ua.StatusCodes.BadInvalidState)
        self._automatic = "Ready"
        await self._update_vision_state()
        return ua.StatusCode()

    async def _m_start_continuous(self, parent: Any) -> Any:
        from asyncua import ua

        if self._halted or self._state not in ("running", "shadow"):
            return ua.StatusCode(ua.StatusCodes.BadInvalidState)
        self._continuous, self._automatic = True, "ContinuousExecution"
        self._command("start_continuous")
        await self._update_vision_state()
        return ua.StatusCode()

    async def _m_stop(self, parent: Any) -> Any:
        from asyncua import ua

        self._continuous, self._automatic = False, "Ready"
        self._command("stop")
        await self._update_vision_state()
        return ua.StatusCode()

    async def _m_abort(self, parent: Any) -> Any:
        from asyncua import ua

        self._continuous, self._automatic = False, "Ready"
        self._cancel_waiting()
        self._command("abort")
        await self._update_vision_state()
        return ua.StatusCode()

    def _cancel_waiting(self) -> None:
        """Triggers the station has not taken yet are withdrawn."""
        while True:
            try:
                self._triggers.get_nowait().cancelled = True
            except queue.Empty:
                return

    @property
    def refused_logins(self) -> int:
        return self._accounts.refused

    # ---- for a person ---------------------------------------------------
    def describe(self) -> str:
        where = "all networks" if self.host == "0.0.0.0" else self.host
        security = ("Basic256Sha256 Sign/SignAndEncrypt and None (security=none)" if self.security_none
                    else "Basic256Sha256 Sign/SignAndEncrypt")
        login = f"{len(self.users)} account(s)" + (", anonymous allowed" if self.anonymous else "")
        return (f"OPC UA server opc.tcp://{self.host}:{self.port} on {where} ({security}; {login}); "
                f"namespace {model.NAMESPACE}, object {model.STATION}")
