"""The ``studio station`` subcommand group, for command modules that add to it (after station_commands)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def station_group(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The subparsers of ``studio station`` (station_commands must be registered first in main's list)."""
    station = sub.choices["station"]
    for action in station._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("studio station has no subcommands yet: register studio.cli.station_commands first")


def project_for(data_dir: str | Path, given: str | None) -> Any:
    """The project named by ``--project``, else the one the data directory is in (None when neither)."""
    from studio.project import Project
    from studio.project.project import PROJECT_FILE

    if given:
        return Project.open(given)
    for folder in [Path(data_dir).resolve(), *Path(data_dir).resolve().parents]:
        if (folder / PROJECT_FILE).is_file():
            return Project.open(folder)
    return None
