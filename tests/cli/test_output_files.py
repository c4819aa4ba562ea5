"""Output files of long commands: one that cannot be written is refused before the run, and
one that fails only at write time (a full device) ends with a message, not a traceback after
the results were printed. The other commands' output options are rows of test_bad_input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.backtest_cli import invoke_backtest, write_run_config


def config_file(folder: Path) -> Path:
    return write_run_config(folder, "outputs", {"symbols": ["AAPL", "JPM", "XOM"]})


backtest = invoke_backtest


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_json_that_fails_at_write_time_is_a_message_not_a_traceback(isolated_env):
    """/dev/full opens like any file and refuses the bytes: only the write can tell, after
    the run, so the failure must say the JSON was not saved and exit non-zero."""
    res = backtest([str(config_file(isolated_env)), "--bars", "sp500_daily", "--engine",
                    "vectorbt", "--start", "2022-01-03", "--end", "2022-03-31", "--json",
                    "/dev/full"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 1, res.output
    assert "--json /dev/full" in res.output and "not saved" in res.output


def test_an_unwritable_json_is_refused_before_the_run(isolated_env):
    (isolated_env / "taken").write_text("a file")
    res = backtest([str(config_file(isolated_env)), "--bars", "sp500_daily", "--start",
                    "2022-01-03", "--json", "taken/deeper/bt.json"])
    assert res.exit_code == 2 and "taken is a file, not a folder" in res.output
    assert "backtest outputs" not in res.output  # nothing ran
    assert (isolated_env / "taken").read_text() == "a file"


def test_the_probe_leaves_nothing_behind(isolated_env):
    from research.cli_exit import output_file_or_exit, output_folder_or_exit

    output_file_or_exit("--json", isolated_env / "new" / "deeper" / "bt.json")
    output_file_or_exit("--json", isolated_env / "bt.json")
    output_folder_or_exit("--out", isolated_env / "sweeps")
    (isolated_env / "kept.json").write_text("before")
    output_file_or_exit("--json", isolated_env / "kept.json")
    assert sorted(p.name for p in isolated_env.iterdir()) == ["kept.json"]
    assert (isolated_env / "kept.json").read_text() == "before"
