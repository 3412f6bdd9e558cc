"""How every command prints: words for people, one JSON line for scripts."""
from __future__ import annotations

import argparse
import json
from typing import Any


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    """Print ``text`` for people, or ``result`` as one JSON line (the last line printed) for scripts."""
    if getattr(args, "json", False):
        print(json.dumps(result, default=str), flush=True)
    else:
        print(text, flush=True)
