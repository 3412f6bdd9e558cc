"""Where the studio's shipped files are: the top-level ``resources/`` folder.

In a source checkout that is ``<repo>/resources``; an installed studio has it
under ``<prefix>/share/inspection-studio`` (the wheel's data files, see
``pyproject.toml``). ``STUDIO_RESOURCES`` points elsewhere (a test, a plant's
own style sheet). Each lookup names the file it misses and says what to do.
"""
from __future__ import annotations

import os
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

from studio.core.errors import StudioError

SHARE_NAME = "inspection-studio"
MARKER = "inspection-studio.desktop"     # a file every copy of resources/ holds


def _candidates() -> list[Path]:
    out = []
    if os.environ.get("STUDIO_RESOURCES"):
        out.append(Path(os.environ["STUDIO_RESOURCES"]))
    out.append(Path(__file__).resolve().parents[2] / "resources")          # a source checkout
    here = Path(__file__).resolve().parents
    if len(here) > 5 and here[2].name == "site-packages":               # <prefix>/lib/pythonX.Y/site-packages
        out.append(here[5] / "share" / SHARE_NAME)
    for prefix in dict.fromkeys([sysconfig.get_paths().get("data"), sys.prefix, sys.base_prefix]):
        if prefix:
            out.append(Path(prefix) / "share" / SHARE_NAME)                 # an installed wheel
    user = sysconfig.get_paths("posix_user" if os.name == "posix" else "nt_user").get("data")
    if user:
        out.append(Path(user) / "share" / SHARE_NAME)                       # pip install --user
    return out


@lru_cache(maxsize=1)
def resources_dir() -> Path:
    for cand in _candidates():
        if (cand / MARKER).is_file():
            return cand
    raise StudioError("the studio's resources (icons, style sheet, templates) are not installed",
                      file=", ".join(str(c) for c in _candidates()),
                      hint="reinstall the studio (pip install inspection-studio), or set STUDIO_RESOURCES "
                           "to the resources/ folder of a checkout")


def resource(*parts: str) -> Path:
    """The path of a shipped file, e.g. ``resource("styles", "studio.qss")``; StudioError if missing."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise StudioError("is missing from the studio's resources", file=path,
                          hint="reinstall the studio; a source checkout has it under resources/")
    return path
