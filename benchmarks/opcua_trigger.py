"""OPC UA Trigger -> result latency, and what publish costs the station.

A real asyncua client calls ``InspectionStation.Trigger`` at a paced rate; a
station loop (as the acquisition thread does it: ``wait_trigger``,
``accepted(part)``, then ``publish`` after a simulated inspection time) answers.
Measured at the client: the method's round trip (trigger -> part number) and
trigger -> the part's ResultReady event. Also the station-side cost of
``publish`` and ``beat`` (the hand-over to the server's loop).

    .venv/bin/python benchmarks/opcua_trigger.py --parts 200 --rate 10 [--inspect-ms 15] [--encrypt]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.plc import accounts, open_plc  # noqa: E402
from studio.plc import opcua_model as model  # noqa: E402
from studio.plc import register_map as rm  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 2)


def station_loop(plc, stop, inspect_s):
    part = 0
    while not stop.is_set():
        trigger = plc.wait_trigger(stop, 0.2)
        if trigger is None:
            continue
        part += 1
        trigger.accepted(part)
        if inspect_s:
            time.sleep(inspect_s)
        plc.publish(part, rm.VERDICT_PASS, 0.25, 0, part_id=trigger.part_id)


async def client_run(plc, parts, rate, encrypt, certs):
    from asyncua import Client, ua

    c = Client(plc.endpoint, timeout=10)
    c.application_uri = "urn:bench:plc"
    c.set_user("bench")
    c.set_password("benchmark password")
    if encrypt:
        await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{certs[0]},{certs[1]}")
    arrived: dict[int, float] = {}

    class Handler:
        def event_notification(self, event):
            arrived[int(event.PartCounter)] = time.perf_counter()

    async with c:
        ns = await c.get_namespace_index(model.NAMESPACE)
        station = await c.nodes.objects.get_child(f"{ns}:{model.STATION}")
        sub = await c.create_subscription(0, Handler())
        etype = await c.nodes.root.get_child(["0:Types", "0:EventTypes", "0:BaseEventType",
                                              f"{ns}:ResultReadyEventType"])
        await sub.subscribe_events(station, etype)
        sent, acked = {}, {}
        t_next = time.perf_counter()
        for i in range(parts):
            t_next += 1.0 / rate
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
            t0 = time.perf_counter()
            part = await station.call_method(f"{ns}:Trigger", ua.Variant(f"P{i}", ua.VariantType.String))
            sent[part], acked[part] = t0, time.perf_counter()
        await asyncio.sleep(1.0)
    rtt = [(acked[p] - sent[p]) * 1000 for p in sent]
    result = [(arrived[p] - sent[p]) * 1000 for p in sent if p in arrived]
    return rtt, result, len(sent) - len(result)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", type=int, default=200)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--inspect-ms", type=float, default=0.0, help="simulated time from trigger to verdict")
    ap.add_argument("--encrypt", action="store_true", help="Basic256Sha256 SignAndEncrypt (default: None)")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="opcua-bench-"))
    spec = f"opcua-server://127.0.0.1:{free_port()}" + ("" if args.encrypt else "?security=none")
    t0 = time.perf_counter()
    plc = open_plc(spec, data_dir=data, settings={"plc_users": {"bench": accounts.hash_password("benchmark password")}})
    start_s = time.perf_counter() - t0
    plc.set_state(rm.STATE_RUNNING)
    certs = None
    if args.encrypt:
        from asyncua.crypto import cert_gen
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID

        key = cert_gen.generate_private_key()
        cert = cert_gen.generate_self_signed_app_certificate(
            key, "bench", {}, [x509.UniformResourceIdentifier("urn:bench:plc")], [ExtendedKeyUsageOID.CLIENT_AUTH])
        der = cert.public_bytes(serialization.Encoding.DER)
        (data / "client.der").write_bytes(der)
        (data / "client.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
        (data / "opcua" / "trusted" / "client.der").write_bytes(der)
        certs = (data / "client.der", data / "client.pem")
    stop = threading.Event()
    loop = threading.Thread(target=station_loop, args=(plc, stop, args.inspect_ms / 1000.0), daemon=True)
    loop.start()
    try:
        rtt, result, lost = asyncio.run(client_run(plc, args.parts, args.rate, args.encrypt, certs))
        calls = []
        for i in range(2000):
            t = time.perf_counter()
            plc.publish(100000 + i, rm.VERDICT_PASS, 0.1, 0)
            calls.append((time.perf_counter() - t) * 1e6)
    finally:
        stop.set()
        plc.stop()
    print(json.dumps({
        "parts": args.parts, "rate_per_s": args.rate, "inspect_ms": args.inspect_ms,
        "security": "Basic256Sha256 SignAndEncrypt" if args.encrypt else "None",
        "server_start_s": round(start_s, 2),
        "trigger_to_part_number_ms": {"median": round(statistics.median(rtt), 2), "p99": pct(rtt, 0.99),
                                      "max": round(max(rtt), 2)},
        "trigger_to_result_event_ms": {"median": round(statistics.median(result), 2), "p99": pct(result, 0.99),
                                       "max": round(max(result), 2)},
        "events_missing": lost,
        "publish_us": {"median": round(statistics.median(calls), 1), "p99": pct(calls, 0.99)},
    }, indent=2))


if __name__ == "__main__":
    main()
