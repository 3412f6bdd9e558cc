"""``studio camera ...``: find GenICam producers and cameras, read and write a camera's features."""
from __future__ import annotations

import argparse

from studio.cli.output import emit
from studio.core.errors import StudioError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cam = sub.add_parser("camera", help="list GenICam cameras, read or set camera features")
    csub = cam.add_subparsers(dest="camera_command", required=True)
    ls = csub.add_parser("list", help="GenTL producers found here and the cameras each one sees")
    ls.add_argument("--producer", help="only this producer (.cti path or viky)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=__name__ + ":cmd_list")
    ft = csub.add_parser("features", help="the standard features of a camera (and set some)")
    ft.add_argument("spec", help="camera spec, e.g. genicam:viky#0")
    ft.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="write a feature first, e.g. --set ExposureTime=5000 (repeatable)")
    ft.add_argument("--json", action="store_true")
    ft.set_defaults(handler=__name__ + ":cmd_features")


def cmd_list(args: argparse.Namespace) -> int:
    from studio.capture.genicam import list_devices, list_producers

    producers = [{"name": args.producer, "spec": f"genicam:{args.producer}", "producer": args.producer}] \
        if args.producer else list_producers()
    lines = []
    for p in producers:
        try:
            p["devices"] = list_devices(p["producer"])
        except StudioError as e:
            p["devices"], p["error"] = [], str(e)
        lines.append(f"{p['name']}  ({p['spec']})")
        lines += [f"    {d['model']} #{d['serial']}  ({d['vendor']})  -> {d['spec']}" for d in p["devices"]]
        if p.get("error"):
            lines.append(f"    error: {p['error']}")
    emit(args, {"producers": producers}, "\n".join(lines) if lines else
         "no GenTL producer found (install the camera vendor's SDK; it sets GENICAM_GENTL64_PATH)")
    return 0


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def cmd_features(args: argparse.Namespace) -> int:
    from studio.capture import open_camera

    results = {}
    with open_camera(args.spec) as cam:
        for item in args.set:
            name, eq, value = item.partition("=")
            if not eq or not name.strip():
                raise StudioError(f"--set '{item}' is not NAME=VALUE", field="--set",
                                  hint="e.g. --set ExposureTime=5000")
            ok, why = cam.set_feature(name.strip(), _value(value.strip()))
            results[name.strip()] = {"ok": ok, "why": why}
        features = cam.features()
    lines = []
    for name, f in features.items():
        if not f.get("available"):
            lines.append(f"  {name:<22} (not on this camera)")
            continue
        rng = f" [{f['min']:g} .. {f['max']:g}]" if isinstance(f.get("min"), (int, float)) and \
            isinstance(f.get("max"), (int, float)) else ""
        choices = f" {{{', '.join(map(str, f['choices']))}}}" if f.get("choices") else ""
        access = "" if f.get("writable") else "  read-only"
        lines.append(f"  {name:<22} {f.get('value', '')}{rng}{choices}{access}")
    for name, r in results.items():
        lines.append(f"set {name}: {'ok' if r['ok'] else 'refused: ' + r['why']}")
    emit(args, {"features": features, "set": results}, "\n".join(lines) if lines else
         f"{args.spec} has no camera features")
    return 0 if all(r["ok"] for r in results.values()) else 1
