"""How every ``qlab`` command ends on bad input: one message on stderr and an exit code.

Shared by the command modules of research, sim and live (``research`` is the package both
may import). Only typer is imported at module level, so ``qlab --help`` stays fast.
"""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and stop the command with exit ``code`` (1: the work
    failed; 2: the input or the settings are wrong)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def settings_or_exit():
    """Settings from the environment and .env; an invalid one is a message naming each bad
    field (exit 2), not a traceback."""
    from pydantic import ValidationError

    from research.config import load_settings, settings_error_message

    try:
        return load_settings()
    except ValidationError as exc:
        fail(settings_error_message(exc), 2)


def run_config_or_exit(path):
    """The run config at ``path``; a missing, unreadable or invalid file is a message naming
    each bad field (exit 2)."""
    from research.config import ConfigFileError, load_run_config

    try:
        return load_run_config(path)
    except ConfigFileError as exc:
        fail(str(exc), 2)


def dates_or_exit(command: str, **options: str | None) -> None:
    """Each given date option (``start="2022-03-01"`` for ``--start``) must be a real
    calendar date YYYY-MM-DD; else a message naming the option (exit 2)."""
    from research.config import parse_iso_date

    for name, value in options.items():
        if value is not None:
            try:
                parse_iso_date(value)
            except ValueError as exc:
                fail(f"{command}: --{name}: {exc}", 2)


def output_file_or_exit(option: str, path, command: str = "") -> None:
    """Refuse, before any work, an output file that cannot be written: a folder, a path under
    a regular file, or a place where no file can be created (``/proc``, a read-only mount).
    Checked up front because the commands that write one run for minutes, and a failure at
    the end would throw the run away. ``os.access`` is not enough (root passes it everywhere),
    so the check creates the file, or a scratch folder where missing folders would be made,
    and removes what it made; an existing file is opened for appending, which leaves it as it
    was. A device that accepts the open but not the bytes (``/dev/full``) can only fail at
    write time: :func:`write_output_or_exit` reports that. Exit 2."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    where = f"{command}: " if command else ""
    label = f"{where}{option} {path}"
    if path.is_dir():
        fail(f"{label}: is a directory; name a file", 2)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        fail(f"{label}: {ancestor} is a file, not a folder", 2)
    try:
        if path.is_file():
            with open(path, "ab"):
                pass
        elif path.exists():
            # a device or pipe (/dev/stdout): opening a pipe could block, so only ask
            if not os.access(path, os.W_OK):
                raise PermissionError(13, "Permission denied")
        elif ancestor == path.parent:
            with open(path, "xb"):
                pass
            path.unlink()
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".qlab-probe-", dir=ancestor))
    except OSError as exc:
        fail(f"{label}: no file can be written there ({exc.strerror or exc})", 2)


def write_output_or_exit(option: str, path, write, command: str = "") -> None:
    """Call ``write(path)`` after making its folder; an OSError (a full disk, ``/dev/full``,
    a folder removed during the run) is a message naming the option and the path (exit 1),
    not a traceback after the results were printed."""
    from pathlib import Path

    path = Path(path)
    where = f"{command}: " if command else ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as exc:
        fail(f"{where}{option} {path}: could not be written ({exc.strerror or exc}); the "
             "results printed above were not saved", 1)


def output_folder_or_exit(option: str, path, command: str = "") -> None:
    """Refuse, before any work, an output folder that cannot be made or written: a file, a
    path under a file, or a place where nothing can be created. Probed by making (and
    removing) a scratch folder in it or in its nearest existing ancestor, for the reason
    :func:`output_file_or_exit` gives. Exit 2."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    where = f"{command}: " if command else ""
    label = f"{where}{option} {path}"
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        fail(f"{label}: {ancestor} is a file, not a folder", 2)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".qlab-probe-", dir=ancestor))
    except OSError as exc:
        fail(f"{label}: no folder can be written there ({exc.strerror or exc})", 2)
