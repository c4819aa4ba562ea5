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
