"""``qlab report NAME [-p KEY VALUE ...] [-f params.yaml]``: run a notebook into an HTML report.

Only typer is imported here; the runner (papermill, nbconvert, MLflow) is imported inside the
command. Mount it on the main app with :func:`register` (``qlab report NAME ...``); ``app`` is
the same command as a standalone Typer app (``python -m research.reports.cli NAME ...``),
which knows only research's own notebooks: the simulated world's (``execution_comparison``)
are registered by ``qlab``, so run those with ``qlab report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
HELP = (
    "Run notebooks/NAME.ipynb with papermill and write reports/NAME.html; print its path.\n\n"
    "Parameters: -p KEY VALUE (repeatable; where a list is expected, a JSON list such as "
    "'[\"market\",\"twap\"]' or a comma-separated list) and -f params.yaml; -p wins over the "
    "file. They are validated against the notebook's model before anything runs (exit 2)."
)


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    """``-p KEY VALUE`` pairs from the raw extra arguments (typer has no repeatable pairs)."""
    pairs, i = [], 0
    while i < len(args):
        flag = args[i]
        if flag not in ("-p", "--parameter"):
            raise typer.BadParameter(f"unexpected argument {flag!r} (parameters are "
                                     "given as -p KEY VALUE)")
        if len(args) - i < 3:
            raise typer.BadParameter(f"{flag} needs a KEY and a VALUE")
        pairs.append((args[i + 1], args[i + 2]))
        i += 3
    return pairs


def report_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Notebook file stem in notebooks/.")],
    params_file: Annotated[Path | None, typer.Option(
        "-f", "--file", help="YAML file of parameters (a mapping).")] = None,
    output_dir: Annotated[Path, typer.Option(help="Folder of the HTML report.")] = Path("reports"),
    timeout: Annotated[float, typer.Option(help="Seconds allowed per notebook cell.")] = 1800.0,
    notebooks_dir: Annotated[Path | None, typer.Option(
        help="Folder of the notebooks (default: the repository's notebooks/).")] = None,
    track: Annotated[bool, typer.Option(help="Record the run in MLflow.")] = True,
    progress: Annotated[bool | None, typer.Option(
        help="Show cells executed of total while it runs (default: when stderr is a "
        "terminal).")] = None,
):
    from research.reports.runner import (
        ReportDefinitionError,
        ReportError,
        ReportNotFound,
        ReportParameterError,
        load_params_file,
        parse_cli_params,
        run_report,
    )

    try:
        params = load_params_file(params_file) if params_file is not None else {}
        params.update(parse_cli_params(_pairs(list(ctx.args))))
        path = run_report(name, params, output_dir=output_dir, timeout=timeout,
                          notebooks_dir=notebooks_dir, track=track, progress=progress)
    except (ReportParameterError, ReportNotFound, ReportDefinitionError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except ReportError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(str(path))


report_command.__doc__ = HELP


def register(parent: typer.Typer, name: str = "report") -> None:
    """Add ``report`` as a command of ``parent`` (the ``qlab`` app)."""
    parent.command(name, context_settings=CONTEXT_SETTINGS, help=HELP)(report_command)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("report", context_settings=CONTEXT_SETTINGS, help=HELP)(report_command)

if __name__ == "__main__":  # pragma: no cover
    app()
