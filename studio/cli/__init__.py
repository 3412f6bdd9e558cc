"""The command line: ``studio COMMAND ...``.

Each ``*_commands.py`` module registers its own sub-commands (``main.COMMAND_MODULES``)
and imports what a handler needs only when that command runs, so ``studio --help``
stays fast. Handlers call the same functions as the GUI; a ``StudioError`` is
printed for a person and exits 2; ``--json`` prints one JSON object on the last line.
"""

