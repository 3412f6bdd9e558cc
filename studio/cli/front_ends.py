"""The front ends a command hands over to when it needs a display: the studio window, the kiosk.

The command line sits below the GUI (docs/ARCHITECTURE.md, "Layers"), so it
never imports ``studio.gui``: the entry point above both (``studio.app``, the
``studio`` command and ``python -m studio``) registers the GUI's front ends
here by name, and ``studio gui`` / ``studio station run --kiosk`` ask for
them. Nothing of Qt is imported until one is used.

=========  ==============================  =====================================
name       called as                       registered by ``studio.app``
=========  ==============================  =====================================
``studio``  ``fn(project_path) -> int``    ``studio.gui.app:main``
``kiosk``   ``fn(station) -> int``         ``studio.gui.kiosk:run_kiosk``
``attached  ``fn(data_dir, companion=,     ``studio.gui.kiosk_attached:
kiosk``     windowed=) -> int``            run_attached_kiosk`` (``studio kiosk``)
=========  ==============================  =====================================
"""
from __future__ import annotations

from typing import Any

from studio.core.errors import StudioError
from studio.core.registry import Registry

FRONT_ENDS = Registry("front end")


def hand_over(name: str, *args: Any, **kwargs: Any) -> int:
    """Run the front end ``name`` on a display; its exit code. A clear error without a display or a GUI."""
    if name not in FRONT_ENDS:
        raise StudioError(f"this entry point has no {name} front end (the command line was started "
                          "without the GUI)", hint="start the studio as 'studio ...' or 'python -m studio ...' "
                                                   "(studio.app), which registers the GUI")
    from studio.core.display import require_display

    require_display()
    return int(FRONT_ENDS.get(name)(*args, **kwargs) or 0)
