"""``studio`` — the headless command line. Every step, scriptable, with ``--json``.

The GUI and the CLI call the same functions; this module only parses
arguments, prints, and turns ``StudioError`` into a message and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from studio.cli.output import emit  # noqa: F401  (re-exported for command modules)
from studio.core.errors import Cancelled, StudioError

# Each module adds its own subcommands (``add_parsers(sub)``) and names each
# leaf's handler as ``module:function`` (``set_defaults(handler=...)``); the
# handler module is imported only when its command runs, so
# ``studio project check`` never pays for torch or Qt. A new area of the
# product adds its module here.
COMMAND_MODULES: list[str] = [
    "studio.cli.commands",
    "studio.cli.model_commands",
    "studio.cli.bakeoff_commands",
    "studio.cli.evaluation_commands",
    "studio.cli.station_commands",
    "studio.cli.report_commands",       # adds 'station report' / 'station acknowledge': after station_commands
    "studio.cli.lighting_commands",
    "studio.cli.camera_commands",
    "studio.cli.label_commands",
    "studio.cli.selfcheck_commands",
]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    p = argparse.ArgumentParser(prog="studio", description="Inspection Studio: camera to inspection station.")
    sub = p.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(sub)
    return p


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    try:
        return int(_resolve(args.handler)(args) or 0)
    except StudioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
