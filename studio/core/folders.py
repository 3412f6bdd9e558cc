"""Where a project lives, whether the caller holds a ``Project`` or only its folder."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def project_folder(project: Any) -> Path:
    """A Project's folder, or the folder given. (A ``Path`` has a ``root`` attribute of its own -- "/" --
    so ``getattr(project, "root", project)`` would send a plain path's files to the file system's root.)"""
    if isinstance(project, (str, os.PathLike)):
        return Path(project)
    return Path(project.root)
