"""The OPC UA server link, with a real asyncua client over 127.0.0.1.

One server (and its certificate) per module: generating RSA keys and loading
the standard address space take seconds. Client certificates too.
"""
import asyncio
import socket
import sqlite3
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import asyncua  # noqa: F401  a core dependency: a broken install fails, never skips
from asyncua import Client, ua  # noqa: E402
from asyncua.crypto import cert_gen  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

from studio.core.errors import PlcError, StudioError  # noqa: E402
from studio.plc import accounts, open_plc  # noqa: E402
from studio.plc import opcua_model as model  # noqa: E402
from studio.plc import register_map as rm  # noqa: E402

USER, PASSWORD = "line1", "correct horse battery"
CLIENT_URI = "urn:test:inspection-studio:plc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_client_cert(folder, name):
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {"organizationName": "test"},
        [x509.UniformResourceIdentifier(CLIENT_URI), x509.DNSName(socket.gethostname())],
        [ExtendedKeyUsageOID.CLIENT_AUTH], days=30)
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return SimpleNamespace(cert=cert_path, key=key_path, der=cert_path.read_bytes())


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client-certs")
    return SimpleNamespace(trusted=make_client_cert(folder, "trusted-plc"),
                           unknown=make_client_cert(folder, "unknown-plc"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("station-data")


@pytest.fixture(scope="module")
def hashed():
    return {USER: accounts.hash_password(PASSWORD)}


class LineStation:
    """What the station does with PLC triggers: take one, give it a part number, publish its result."""

    def __init__(self, plc, first_part=100):
        self.plc, self.part = plc, first_part - 1
        self.stop = threading.Event()
        self.taken = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            trigger = self.plc.wait_trigger(self.stop, 0.2)
            if trigger is None:
                continue
            self.part += 1
            trigger.accepted(self.part)
            self.taken.append((self.part, trigger.part_id))
            self.plc.publish(self.part, rm.VERDICT_REJECT, 0.8125, 3, part_id=trigger.part_id,
                             defect_class="scratch")

    def close(self):
        self.stop.set()
        self.thread.join(2)


@pytest.fixture(scope="module")
def server(data_dir, hashed):
    """Policy None allowed (the plain tests stay fast); Basic256Sha256 offered too; one account."""
    port = free_port()
    plc = open_plc(f"opcua-server://127.0.0.1:{port}?security=none", data_dir=data_dir,
                   settings={"plc_users": hashed})
    plc.set_model("20240501-anomaly")
    plc.set_state(rm.STATE_RUNNING)
    yield plc
    plc.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def client_for(plc, user=USER, password=PASSWORD):
    c = Client(plc.endpoint, timeout=10)
    c.application_uri = CLIENT_URI
    if user is not None:
        c.set_user(user)
        c.set_password(password)
    return c


async def station_node(c):
    ns = await c.get_namespace_index(model.NAMESPACE)
    return ns, await c.nodes.objects.get_child(f"{ns}:{model.STATION}")


async def read_all(c, ns, station, names):
    nodes = [await station.get_child(f"{ns}:{n}") for n in names]
    values = await c.read_values(nodes)            # one Read request: one consistent snapshot
    return dict(zip(names, values))


class Collect:
    def __init__(self):
        self.events, self.changes = [], []

    def event_notification(self, event):
        self.events.append(event)

    def datachange_notification(self, node, value, data):
        self.changes.append((node.nodeid.Identifier, value))




# ---- the contract ---------------------------------------------------------
def test_browse_shows_the_fixed_contract(server):
    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            assert (await station.read_browse_name()) == ua.QualifiedName(model.STATION, ns)
            children = {(await ch.read_browse_name()).Name: ch for ch in await station.get_children()}
            assert set(children) == {n for n, *_ in model.VARIABLES} | {"Trigger"}
            types = {n: (await children[n].read_data_type_as_variant_type()).name for n, *_ in model.VARIABLES}
            assert types == {n: k for n, k, *_ in model.VARIABLES}
            values = await read_all(c, ns, station, ["State", "ModelId", "PartCounter", "Verdict"])
            assert values == {"State": "running", "ModelId": "20240501-anomaly", "PartCounter": 0, "Verdict": 0}
            trigger = children["Trigger"]
            args = await (await trigger.get_child("0:InputArguments")).read_value()
            outs = await (await trigger.get_child("0:OutputArguments")).read_value()
            assert [a.Name for a in args] == ["PartId"] and [a.Name for a in outs] == ["ResultPartCounter"]
            assert outs[0].DataType == ua.NodeId(ua.ObjectIds.UInt32)
            # the Machine Vision subset beside it
            mv = await c.get_namespace_index(model.MV_NAMESPACE)
            machine = await c.nodes.objects.get_child([f"{mv}:VisionSystem", f"{mv}:VisionStateMachine"])
            names = {(await ch.read_browse_name()).Name for ch in await machine.get_children()}
            assert {"CurrentState", "Halt", "Reset", "SelectModeAutomatic", "AutomaticModeStateMachine"} <= names
            auto = await machine.get_child(f"{mv}:AutomaticModeStateMachine")
            names = {(await ch.read_browse_name()).Name for ch in await auto.get_children()}
            assert {"CurrentState", "StartSingleJob", "StartContinuous", "Stop", "Abort"} <= names
            state = await machine.get_child("0:CurrentState")
            assert (await state.read_value()).Text == "Operational"
            # results are read-only for the client
            with pytest.raises(ua.UaStatusCodeError):
                await children["Verdict"].write_value(ua.Variant(1, ua.VariantType.Int32))

    run(main())
    assert server.registers()[rm.STATE] == rm.STATE_RUNNING      # the register image goes on too


def test_the_application_certificate_is_made_once_in_the_data_directory(server, data_dir):
    own = data_dir / "opcua" / "own"
    cert = x509.load_der_x509_certificate((own / "cert.der").read_bytes())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.UniformResourceIdentifier)
    assert uris == [server.application_uri] and (own / "key.pem").stat().st_mode & 0o077 == 0
    assert any("created the station's application certificate" in n for n in server.notices)
    assert (data_dir / "opcua" / "trusted").is_dir() and (data_dir / "opcua" / "rejected").is_dir()


def test_trigger_returns_the_part_number_and_the_result_follows(server):
    line = LineStation(server, first_part=100)

    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            got = Collect()
            sub = await c.create_subscription(20, got)
            etype = await c.nodes.root.get_child(
                ["0:Types", "0:EventTypes", "0:BaseEventType", f"{ns}:ResultReadyEventType"])
            await sub.subscribe_events(station, etype)
            watched = [await station.get_child(f"{ns}:{n}") for n in ("PartCounter", "Verdict", "Score")]
            await sub.subscribe_data_change(watched, queuesize=10)     # every change, none coalesced
            mv = await c.get_namespace_index(model.MV_NAMESPACE)
            results = await c.nodes.objects.get_child([f"{mv}:VisionSystem", f"{mv}:ResultManagement"])
            mv_type = await c.nodes.root.get_child(
                ["0:Types", "0:EventTypes", "0:BaseEventType", f"{mv}:ResultReadyEventType"])
            mv_got = Collect()
            mv_sub = await c.create_subscription(20, mv_got)
            await mv_sub.subscribe_events(results, mv_type)
            await asyncio.sleep(0.2)

            out = await station.call_method(f"{ns}:Trigger", ua.Variant("A-17", ua.VariantType.String))
            assert out == 100
            out = await station.call_method(f"{ns}:Trigger", ua.Variant("A-18", ua.VariantType.String))
            assert out == 101
            for _ in range(100):
                if len(got.events) >= 2 and len(mv_got.events) >= 2:
                    break
                await asyncio.sleep(0.05)
            values = await read_all(c, ns, station, ["PartCounter", "PartId", "Verdict", "Score",
                                                    "DefectClassId", "DefectClass"])
            nodes = [await station.get_child(f"{ns}:{n}") for n in model.RESULT_VARIABLES]
            stamps = [dv.SourceTimestamp for dv in await c.read_attributes(nodes, ua.AttributeIds.Value)]
            return got, mv_got, values, stamps

    try:
        got, mv_got, values, stamps = run(main())
    finally:
        line.close()
    assert line.taken == [(100, "A-17"), (101, "A-18")]
    assert values == {"PartCounter": 101, "PartId": "A-18", "Verdict": 2, "Score": 0.8125, "DefectClassId": 3,
                      "DefectClass": "scratch"}
    assert [(e.PartCounter, e.PartId, e.Verdict, e.Score, e.DefectClassId, e.DefectClass) for e in got.events] == [
        (100, "A-17", 2, 0.8125, 3, "scratch"), (101, "A-18", 2, 0.8125, 3, "scratch")]
    assert [(e.ResultId, e.JobId, e.PartId, e.IsPartial, e.ResultState) for e in mv_got.events] == [
        ("100", "single-100", "A-17", False, 2), ("101", "single-101", "A-18", False, 2)]
    assert "Verdict=2" in mv_got.events[0].ResultContent
    assert len(set(stamps)) == 1                # one update: one source timestamp for the part's variables
    counters = [v for name, v in got.changes if name.endswith("PartCounter")]
    assert counters[-1] == 101 and 100 in counters
    assert server.registers()[1:5] == [101, 2, rm.score_word(0.8125), 3]


def test_trigger_times_out_when_the_station_takes_none(server):
    server.wait_trigger(threading.Event(), 0.01)        # a station on PLC triggers, busy elsewhere now

    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            t0 = time.monotonic()
            with pytest.raises(ua.UaStatusCodeError) as err:
                await station.call_method(f"{ns}:Trigger", ua.Variant("lost", ua.VariantType.String))
            return err.value, time.monotonic() - t0

    error, waited = run(main())
    assert error.code == ua.StatusCodes.BadTimeout and waited < 5
    # the withdrawn trigger is not handed to a station that asks later
    assert server.wait_trigger(threading.Event(), 0.3) is None


def test_a_reader_never_sees_two_parts_mixed(server):
    """Score = part / 1000 and DefectClassId = part: a one-request read must always agree."""
    stop = threading.Event()

    def publish_forever():
        part = 1000
        while not stop.is_set():
            part += 1
            server.publish(part, rm.VERDICT_PASS if part % 2 else rm.VERDICT_REJECT, part / 1000.0, part,
                           part_id=f"P{part}", defect_class=f"c{part}")
            time.sleep(0.002)

    writer = threading.Thread(target=publish_forever, daemon=True)
    writer.start()

    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            snapshots = []
            for _ in range(80):
                snapshots.append(await read_all(c, ns, station, ["PartCounter", "PartId", "Verdict", "Score",
                                                                "DefectClassId", "DefectClass"]))
            return snapshots

    try:
        snapshots = run(main())
    finally:
        stop.set()
        writer.join(2)
    parts = {s["PartCounter"] for s in snapshots}
    assert len(parts) > 10                                       # the reads did overlap the writes
    for s in snapshots:
        n = s["PartCounter"]
        assert (s["PartId"], s["DefectClassId"], s["DefectClass"]) == (f"P{n}", n, f"c{n}")
        assert s["Score"] == pytest.approx(n / 1000.0) and s["Verdict"] == (1 if n % 2 else 2)


def test_publish_and_beat_take_microseconds(server):
    t0 = time.perf_counter()
    for i in range(200):
        server.publish(5000 + i, rm.VERDICT_PASS, 0.1, 0)
        server.beat()
    per_call_ms = (time.perf_counter() - t0) / 400 * 1000
    assert per_call_ms < 1.0            # a handover, never a network wait


def test_heartbeat_advances_and_the_plc_heartbeat_is_watched(server):
    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            beat = await station.get_child(f"{ns}:Heartbeat")
            before = await beat.read_value()
            server.beat()
            server.beat()
            await asyncio.sleep(0.2)
            after = await beat.read_value()
            plc_beat = await station.get_child(f"{ns}:PlcHeartbeat")
            await plc_beat.write_value(ua.Variant(7, ua.VariantType.UInt32))
            first = server.plc_heartbeat_age()
            await asyncio.sleep(0.3)
            await plc_beat.write_value(ua.Variant(7, ua.VariantType.UInt32))    # same value: not a beat
            aged = server.plc_heartbeat_age()
            await plc_beat.write_value(ua.Variant(8, ua.VariantType.UInt32))
            fresh = server.plc_heartbeat_age()
            return before, after, first, aged, fresh

    before, after, first, aged, fresh = run(main())
    assert after == before + 2
    assert first is not None and first < 0.2
    assert aged >= 0.3 and fresh < 0.2


def test_station_state_reaches_state_and_the_vision_state_machine(server):
    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            mv = await c.get_namespace_index(model.MV_NAMESPACE)
            machine = await c.nodes.objects.get_child([f"{mv}:VisionSystem", f"{mv}:VisionStateMachine"])
            vision = await machine.get_child("0:CurrentState")
            auto = await machine.get_child([f"{mv}:AutomaticModeStateMachine", "0:CurrentState"])
            state = await station.get_child(f"{ns}:State")
            seen = []

            async def look():
                await asyncio.sleep(0.15)
                seen.append(((await state.read_value()), (await vision.read_value()).Text,
                             (await auto.read_value()).Text))

            server.set_state(rm.STATE_FAULTED)
            await look()
            server.set_state(rm.STATE_RUNNING)
            await look()
            await machine.call_method(f"{mv}:SelectModeAutomatic")
            await look()
            await machine.call_method(f"{mv}:Halt")
            await look()
            with pytest.raises(ua.UaStatusCodeError) as err:      # halted: the PLC's trigger is refused
                await station.call_method(f"{ns}:Trigger", ua.Variant("x", ua.VariantType.String))
            await machine.call_method(f"{mv}:Reset")
            await machine.call_method(f"{mv}:SelectModeAutomatic")
            await look()
            return seen, err.value.code

    seen, code = run(main())
    assert seen == [("faulted", "Error", "Initialized"), ("running", "Operational", seen[1][2]),
                    ("running", "Operational", "Ready"), ("running", "Halted", "Initialized"),
                    ("running", "Operational", "Ready")]
    assert code == ua.StatusCodes.BadInvalidState


# ---- who may connect -----------------------------------------------------------
def test_wrong_password_and_unknown_user_are_refused(server):
    async def attempt(user, password):
        c = client_for(server, user, password)
        try:
            await c.connect()
        except Exception as e:          # asyncua raises the server's status code
            return e
        await c.disconnect()
        return None

    wrong = run(attempt(USER, "not the password"))
    nobody = run(attempt("intruder", PASSWORD))
    anonymous = run(attempt(None, None))
    for refused in (wrong, nobody):
        assert isinstance(refused, ua.UaStatusCodeError) and refused.code == ua.StatusCodes.BadUserAccessDenied
    assert isinstance(anonymous, ua.UaStatusCodeError)
    assert anonymous.code in (ua.StatusCodes.BadIdentityTokenRejected, ua.StatusCodes.BadIdentityTokenInvalid)


def test_stored_accounts_hold_argon2_hashes_never_the_password(hashed):
    stored = hashed[USER]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.verify_password(stored, PASSWORD) and not accounts.verify_password(stored, PASSWORD + "x")
    assert accounts.hash_password(PASSWORD) != stored                 # salted: never the same twice


def test_encrypted_session_with_a_trusted_client_certificate(server, certs, data_dir):
    trusted = data_dir / "opcua" / "trusted"
    trusted.joinpath("trusted-plc.der").write_bytes(certs.trusted.der)

    async def main(mode):
        c = client_for(server)
        await c.set_security_string(f"Basic256Sha256,{mode},{certs.trusted.cert},{certs.trusted.key}")
        async with c:
            ns, station = await station_node(c)
            return (await read_all(c, ns, station, ["State"]))["State"], c.security_policy.Mode

    assert run(main("SignAndEncrypt")) == ("running", ua.MessageSecurityMode.SignAndEncrypt)
    assert run(main("Sign")) == ("running", ua.MessageSecurityMode.Sign)


def test_an_unknown_certificate_is_refused_and_filed_under_rejected(server, certs, data_dir):
    rejected = data_dir / "opcua" / "rejected"

    async def main():
        c = client_for(server)
        await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{certs.unknown.cert},{certs.unknown.key}")
        try:
            await c.connect()
        except Exception as e:
            return e
        await c.disconnect()
        return None

    refused = run(main())
    assert isinstance(refused, ua.UaStatusCodeError) and refused.code == ua.StatusCodes.BadCertificateUntrusted
    filed = [p for p in rejected.glob("*.der") if p.read_bytes() == certs.unknown.der]
    assert len(filed) == 1
    # moved to trusted/ by the engineer: the next session is accepted, without a restart
    filed[0].rename(data_dir / "opcua" / "trusted" / filed[0].name)
    assert run(main()) is None


@pytest.mark.slow
def test_default_security_and_anonymous_by_choice(data_dir, certs, server):
    """Without security=none only Basic256Sha256 is offered; anonymous=1 lets a client in without an account."""
    trusted = data_dir / "opcua" / "trusted"
    trusted.joinpath("trusted-plc.der").write_bytes(certs.trusted.der)
    plc = open_plc(f"opcua-server://127.0.0.1:{free_port()}?anonymous=1", data_dir=data_dir, settings={})
    try:
        async def main():
            endpoints = await Client(plc.endpoint, timeout=10).connect_and_get_server_endpoints()
            plain = client_for(plc, None, None)
            try:
                await plain.connect()
                await plain.disconnect()
                refused = None
            except Exception as e:
                refused = e
            anonymous = client_for(plc, None, None)
            await anonymous.set_security_string(
                f"Basic256Sha256,SignAndEncrypt,{certs.trusted.cert},{certs.trusted.key}")
            async with anonymous as c:
                ns, station = await station_node(c)
                state = (await read_all(c, ns, station, ["State"]))["State"]
                plc.set_state(rm.STATE_RUNNING)     # running free: nobody takes PLC triggers
                await asyncio.sleep(0.1)
                t0 = time.monotonic()
                try:
                    await station.call_method(f"{ns}:Trigger", ua.Variant("x", ua.VariantType.String))
                    free_run = None
                except ua.UaStatusCodeError as e:
                    free_run = (e.code, time.monotonic() - t0)
            return endpoints, refused, state, free_run

        endpoints, refused, state, free_run = run(main())
    finally:
        plc.stop()
    offered = {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode) for e in endpoints}
    assert offered == {("Basic256Sha256", ua.MessageSecurityMode.Sign),
                       ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)}
    assert all(any(t.TokenType == ua.UserTokenType.Anonymous for t in e.UserIdentityTokens) for e in endpoints)
    assert refused is not None                  # an unencrypted client gets nowhere
    assert state == "starting"                  # no set_state yet
    assert free_run[0] == ua.StatusCodes.BadInvalidState and free_run[1] < 1.5      # said at once, no timeout
    assert "anonymous" in " ".join(plc.notices) and "security policy None" not in " ".join(plc.notices)
    assert not any("created" in n for n in plc.notices)           # the second start keeps the certificate
    assert "security policy None" in " ".join(server.notices)      # the module's server says it at start


@pytest.mark.parametrize("spec, words", [
    ("opcua-server://127.0.0.1", ["needs HOST:PORT"]),
    ("opcua-server://127.0.0.1:4840?anonymous=yes", ["anonymous=yes", "What to do"]),
    ("opcua-server://127.0.0.1:4840?encrypt=1", ["unknown option 'encrypt'"]),
])
def test_bad_specs_say_what_to_type(spec, words, tmp_path):
    with pytest.raises(PlcError) as err:
        open_plc(spec, data_dir=tmp_path, settings={})
    for word in words:
        assert word in str(err.value)


def test_no_account_and_no_anonymous_is_refused_at_start(tmp_path):
    with pytest.raises(PlcError, match="no PLC account can log in") as err:
        open_plc(f"opcua-server://127.0.0.1:{free_port()}", data_dir=tmp_path, settings={})
    assert "plc-user" in str(err.value)


def test_port_in_use_is_a_plc_error_at_once(tmp_path, hashed):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        t0 = time.monotonic()
        with pytest.raises(PlcError, match="already in use") as err:
            open_plc(f"opcua-server://127.0.0.1:{busy.getsockname()[1]}", data_dir=tmp_path,
                     settings={"plc_users": hashed})
    assert time.monotonic() - t0 < 2 and "What to do" in str(err.value)


def test_a_plain_password_in_station_yaml_is_refused(tmp_path):
    with pytest.raises(StudioError, match="no Argon2 hash"):
        open_plc(f"opcua-server://127.0.0.1:{free_port()}", data_dir=tmp_path,
                 settings={"plc_users": {"line1": "secret"}})


def test_plc_user_command_stores_a_hash_in_station_yaml(demo_project, monkeypatch, capsys):
    import io

    import yaml

    from studio.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["station", "plc-user", str(demo_project.root), "line1", "--password-stdin"]) == 0
    text = (demo_project.root / "station.yaml").read_text()
    assert "a long enough secret" not in text
    stored = yaml.safe_load(text)["plc_users"]["line1"]
    assert accounts.verify_password(stored, "a long enough secret")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["station", "plc-user", str(demo_project.root), "line2", "--password-stdin"]) == 2
    assert "shorter than" in capsys.readouterr().err
    assert main(["station", "plc-user", str(demo_project.root), "line1", "--remove"]) == 0
    assert "plc_users" not in (yaml.safe_load((demo_project.root / "station.yaml").read_text()) or {})


# ---- a real station -----------------------------------------------------------
class FrameCamera:
    """Frame n is filled with n; the first grab waits for ``go`` (the test's client to subscribe)."""

    def __init__(self):
        self.frame_id = 0
        self.go = threading.Event()

    def open(self):
        pass

    def grab(self, timeout=2.0):
        self.go.wait(30)
        self.frame_id += 1
        image = np.full((24, 32, 3), self.frame_id % 256, np.uint8)
        return SimpleNamespace(image=image, frame_id=self.frame_id, timestamp=time.time(), meta={})

    def close(self):
        pass


class TinyModel:
    """Score frame n -> (n % 5) / 4; rejects at 0.6 with class 'scratch' (id 1)."""
    model_id = "20240501-anomaly"
    task = "anomaly"
    threshold = 0.6
    card = {}

    def predict(self, image):
        score = (int(image[0, 0, 0]) % 5) / 4.0
        bad = score >= self.threshold
        return SimpleNamespace(score=score, defective=bad, defect_class="scratch" if bad else None,
                               class_id=1 if bad else 0, anomaly_map=None)


@pytest.mark.slow
def test_a_station_run_serves_what_it_logs(demo_project, tmp_path, hashed):
    from studio.core.atomic import atomic_write_yaml
    from studio.station import Station

    atomic_write_yaml(demo_project.root / "station.yaml", {"plc_users": hashed})
    port = free_port()
    camera = FrameCamera()
    station = Station(demo_project, plc_spec=f"opcua-server://127.0.0.1:{port}?security=none",
                      model=TinyModel(), camera=camera, data_dir=tmp_path / "data", max_parts=7,
                      interval_s=0.02, heartbeat_s=0.05)
    alerts = []
    station.events.subscribe(lambda kind, p: kind == "alert" and alerts.append(p["message"]))

    async def watch(plc, done):
        async with client_for(plc) as c:
            ns, node = await station_node(c)
            got = Collect()
            sub = await c.create_subscription(20, got)
            etype = await c.nodes.root.get_child(
                ["0:Types", "0:EventTypes", "0:BaseEventType", f"{ns}:ResultReadyEventType"])
            await sub.subscribe_events(node, etype)
            camera.go.set()                     # parts may come now
            while not done.is_set():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)            # the last notifications
            values = await read_all(c, ns, node, ["PartCounter", "Verdict", "Score", "DefectClassId", "State",
                                                  "ModelId", "Heartbeat"])
            return got.events, values

    station.start()
    done, result = threading.Event(), {}

    def client_thread():
        result["out"] = asyncio.run(asyncio.wait_for(watch(station.plc, done), 30))

    # the client subscribes while the station waits for its first frame
    t = threading.Thread(target=client_thread)
    t.start()
    try:
        assert station.wait(20) is True
    finally:
        done.set()
        t.join(30)
        station.stop()
    events, values = result["out"]
    con = sqlite3.connect(station.log_path)
    con.row_factory = sqlite3.Row
    logged = [dict(r) for r in con.execute("SELECT * FROM results ORDER BY part")]
    con.close()
    assert [r["part"] for r in logged] == list(range(1, 8))
    last = logged[-1]
    assert values["PartCounter"] == last["part"] and values["Verdict"] == last["verdict_code"]
    assert values["Score"] == pytest.approx(last["score"]) and values["DefectClassId"] == last["class_id"]
    assert values["ModelId"] == TinyModel.model_id and values["State"] == "stopped"
    assert values["Heartbeat"] >= 1
    by_part = {r["part"]: r for r in logged}
    parts = [e.PartCounter for e in events]
    assert parts == list(range(1, 8))           # one event per part, in order
    for e in events:
        row = by_part[e.PartCounter]
        assert (e.Verdict, e.DefectClassId, e.Score) == (row["verdict_code"], row["class_id"], row["score"])
    assert any("security policy None" in a for a in alerts)                    # said at start


def test_readme_shows_the_contract_as_built():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert model.markdown_table() in readme and model.NAMESPACE in readme


@pytest.mark.slow
def test_plc_triggered_station_run_over_opcua(demo_project, tmp_path, hashed):
    """The PLC's Trigger fires the station's camera; the part id travels into the log and back to OPC UA."""
    from studio.core.atomic import atomic_write_yaml
    from studio.station import Station

    atomic_write_yaml(demo_project.root / "station.yaml", {"plc_users": hashed})
    camera = FrameCamera()
    camera.go.set()
    station = Station(demo_project, plc_spec=f"opcua-server://127.0.0.1:{free_port()}?security=none",
                      model=TinyModel(), camera=camera, data_dir=tmp_path / "data", max_parts=3,
                      heartbeat_s=0.05, trigger="plc")

    async def plc(link):
        async with client_for(link) as c:
            ns, node = await station_node(c)
            numbers = []
            for part_id in ("LOT7-001", "LOT7-002", "LOT7-003"):
                numbers.append(await node.call_method(f"{ns}:Trigger", ua.Variant(part_id, ua.VariantType.String)))
            for _ in range(100):
                values = await read_all(c, ns, node, ["PartCounter", "PartId", "Verdict"])
                if values["PartCounter"] == numbers[-1]:
                    break
                await asyncio.sleep(0.05)
            return numbers, values

    station.start()
    try:
        numbers, values = asyncio.run(asyncio.wait_for(plc(station.plc), 60))
        assert station.wait(20) is True
    finally:
        station.stop()
    con = sqlite3.connect(station.log_path)
    con.row_factory = sqlite3.Row
    logged = [dict(r) for r in con.execute("SELECT * FROM results ORDER BY part")]
    con.close()
    assert [r["part"] for r in logged] == numbers == [1, 2, 3]
    assert [r["part_id"] for r in logged] == ["LOT7-001", "LOT7-002", "LOT7-003"]
    assert values == {"PartCounter": 3, "PartId": "LOT7-003", "Verdict": logged[-1]["verdict_code"]}


def test_machine_vision_jobs_map_onto_the_station(server):
    line = LineStation(server, first_part=500)
    commands = []
    server.on_command = commands.append

    async def main():
        async with client_for(server) as c:
            mv = await c.get_namespace_index(model.MV_NAMESPACE)
            machine = await c.nodes.objects.get_child([f"{mv}:VisionSystem", f"{mv}:VisionStateMachine"])
            auto = await machine.get_child(f"{mv}:AutomaticModeStateMachine")
            state = await auto.get_child("0:CurrentState")
            seen = []

            async def look():
                await asyncio.sleep(0.15)
                seen.append((await state.read_value()).Text)

            await machine.call_method(f"{mv}:SelectModeAutomatic")
            await look()
            job = await auto.call_method(f"{mv}:StartSingleJob", ua.Variant("J-1", ua.VariantType.String))
            await auto.call_method(f"{mv}:StartContinuous")
            await look()
            await auto.call_method(f"{mv}:Stop")
            await look()
            await auto.call_method(f"{mv}:StartContinuous")
            await auto.call_method(f"{mv}:Abort")
            await look()
            return job, seen

    try:
        job, seen = run(main())
    finally:
        server.on_command = None
        line.close()
    assert job == "single-500" and line.taken == [(500, "J-1")]
    assert seen == ["Ready", "ContinuousExecution", "Ready", "Ready"]
    assert commands == ["start_continuous", "stop", "start_continuous", "abort"]


@pytest.mark.slow
def test_machine_vision_stop_and_halt_hold_a_free_running_station(demo_project, tmp_path, hashed):
    """Stop and Halt (OPC 40100) hold a free-running station: no new parts, the ones taken finished;
    StartContinuous lets it go on. Every part the PLC saw is logged once."""
    from studio.core.atomic import atomic_write_yaml
    from studio.station import Station

    atomic_write_yaml(demo_project.root / "station.yaml", {"plc_users": hashed})
    camera = FrameCamera()
    camera.go.set()
    station = Station(demo_project, plc_spec=f"opcua-server://127.0.0.1:{free_port()}?security=none",
                      model=TinyModel(), camera=camera, data_dir=tmp_path / "data", interval_s=0.02,
                      heartbeat_s=0.05)

    def parts():
        return station.stats()["parts"]

    async def still(seconds=0.6):
        await asyncio.sleep(0.4)                # the parts already taken are finished
        before = parts()
        await asyncio.sleep(seconds)
        return parts() == before

    async def moving():
        before = parts()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if parts() >= before + 3:
                return True
        return False

    async def plc(link):
        async with client_for(link) as c:
            mv = await c.get_namespace_index(model.MV_NAMESPACE)
            machine = await c.nodes.objects.get_child([f"{mv}:VisionSystem", f"{mv}:VisionStateMachine"])
            auto = await machine.get_child(f"{mv}:AutomaticModeStateMachine")
            seen = [await moving()]                                     # free-run from the start
            await machine.call_method(f"{mv}:SelectModeAutomatic")
            await auto.call_method(f"{mv}:Stop")
            seen.append(await still())
            await auto.call_method(f"{mv}:StartContinuous")
            seen.append(await moving())
            await machine.call_method(f"{mv}:Halt")
            seen.append(await still())
            await machine.call_method(f"{mv}:Reset")
            await machine.call_method(f"{mv}:SelectModeAutomatic")
            await auto.call_method(f"{mv}:StartContinuous")
            seen.append(await moving())
            return seen

    station.start()
    try:
        seen = asyncio.run(asyncio.wait_for(plc(station.plc), 90))
    finally:
        station.stop()
    assert seen == [True, True, True, True, True]
    con = sqlite3.connect(station.log_path)
    logged = [r[0] for r in con.execute("SELECT part FROM results ORDER BY part")]
    con.close()
    assert logged == list(range(1, len(logged) + 1)) and len(logged) == station.stats()["parts"]


def test_shadow_mode_state_and_the_plcs_own_verdict(server):
    """Shadow mode: State reads "shadow", Verdict stays 0 on a watched part; the PLC writes its own verdict."""
    got = []
    server.on_incumbent = lambda counter, part_id, verdict: got.append((counter, part_id, verdict))
    server.set_state(rm.STATE_WATCHING)
    server.publish_watching(77, part_id="LOT-77")

    async def main():
        async with client_for(server) as c:
            ns, station = await station_node(c)
            await asyncio.sleep(0.2)
            v = await read_all(c, ns, station, ["State", "Verdict", "PartCounter"])
            node = {n: await station.get_child(f"{ns}:{n}")
                    for n in ("IncumbentPartCounter", "IncumbentPartId", "IncumbentVerdict")}
            await node["IncumbentPartCounter"].write_value(ua.Variant(77, ua.VariantType.UInt32))
            await node["IncumbentVerdict"].write_value(ua.Variant(rm.VERDICT_REJECT, ua.VariantType.Int32))
            await node["IncumbentPartId"].write_value(ua.Variant("LOT-77", ua.VariantType.String))
            await node["IncumbentVerdict"].write_value(ua.Variant(rm.VERDICT_PASS, ua.VariantType.Int32))
            await node["IncumbentVerdict"].write_value(ua.Variant(0, ua.VariantType.Int32))     # not a verdict
            return v["State"], v["Verdict"], v["PartCounter"]

    try:
        state, verdict, counter = run(main())
    finally:
        server.on_incumbent = None
        server.set_state(rm.STATE_RUNNING)
    assert (state, verdict, counter) == ("shadow", 0, 77)
    assert got == [(77, "", rm.VERDICT_REJECT), (77, "LOT-77", rm.VERDICT_PASS)]
