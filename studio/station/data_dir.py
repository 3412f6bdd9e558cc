"""Where the station keeps its result log and part images.

Not in the project: the project folder is zipped and moved between PCs,
while the log grows on the line PC for as long as the station runs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "STUDIO_DATA_DIR"


def default_root() -> Path:
    return Path.home() / ".local" / "share" / "inspection-studio"


def resolve_data_dir(project: Any, data_dir: str | Path | None = None,
                     station_settings: dict[str, Any] | None = None) -> Path:
    """The first of: ``data_dir``; station.yaml's ``data_dir`` (relative to the
    project); ``$STUDIO_DATA_DIR``; ``~/.local/share/inspection-studio/<project folder name>``."""
    if data_dir:
        return Path(data_dir).expanduser()
    settings = station_settings if station_settings is not None else project.station_settings()
    configured = settings.get("data_dir")
    if configured:
        path = Path(str(configured)).expanduser()
        return path if path.is_absolute() else Path(project.root) / path
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    return default_root() / Path(project.root).name
