"""The ``studio`` command (and ``python -m studio``): the command line, with the GUI behind it.

This is the one module above both ``studio.cli`` and ``studio.gui``: it
registers the GUI's front ends (``studio.cli.front_ends``) by name, so
``studio gui`` opens the studio window and ``studio station run --kiosk``
the operator's full-screen view, then runs the command line. Registering
imports nothing of Qt; a command that needs no display never pays for it.
"""
from __future__ import annotations

from studio.cli.front_ends import FRONT_ENDS

FRONT_ENDS.register("studio", "studio.gui.app:main")
FRONT_ENDS.register("kiosk", "studio.gui.kiosk:run_kiosk")
FRONT_ENDS.register("attached kiosk", "studio.gui.kiosk_attached:run_attached_kiosk")


def main(argv: list[str] | None = None) -> int:
    """Run the command line (no command: the studio window); the exit code."""
    from studio.cli.main import main as cli_main

    return cli_main(argv)
