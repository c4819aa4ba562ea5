"""qlab/ is the composition root: it builds the ``qlab`` app and mounts each area's commands;
the areas only define them. Checked on the source (AST) and on the built app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
AREAS = ("research", "sim", "live")
SOURCE_PACKAGES = (*AREAS, "qlab")


def _sources(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_only_the_composition_root_mounts_commands():
    # an area that adds groups to an app, or reaches into one's registered groups, is wiring
    # the CLI from outside qlab/
    offenders = []
    for path, tree in _sources(*AREAS):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("add_typer",
                                                                 "registered_groups"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} uses .{node.attr}")
    assert not offenders, "\n".join(offenders)


def test_no_module_imports_a_private_name_of_another_module():
    offenders = []
    for path, tree in _sources(*SOURCE_PACKAGES):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports "
                                     f"{private} from {node.module}")
    assert not offenders, "\n".join(offenders)


def test_building_the_app_changes_no_area_app():
    from qlab.cli import build_app
    from research.cli import data_app

    research_data_commands = [c.name for c in data_app.registered_commands]
    first, second = build_app(), build_app()
    assert first is not second
    # live's fetch is mounted beside research's data commands, not into research's group
    assert [c.name for c in data_app.registered_commands] == research_data_commands
    assert "fetch" not in research_data_commands
    runner = CliRunner()
    for app in (first, second):
        result = runner.invoke(app, ["data", "--help"], terminal_width=120)
        assert result.exit_code == 0, result.output
        for name in (*research_data_commands, "fetch"):
            assert f" {name} " in result.output


def test_every_area_is_mounted_once():
    from qlab.cli import app

    commands = [c.name for c in app.registered_commands]
    groups = [g.name for g in app.registered_groups]
    assert commands == ["report", "validate-run", "promote", "live", "demo", "backtest", "sweep"]
    assert groups == ["data", "config", "costs", "risk", "tca"]


@pytest.mark.parametrize("command", [
    ["promote", "run0"],
    # validate-run reads the thresholds before it replays anything
    ["validate-run"]])
def test_a_bad_gate_thresholds_file_is_named(command, isolated_env, tmp_path):
    # the thresholds loader now lives in research.promotion; both commands still name the
    # file and the unknown key (promote refuses: exit 1; validate-run: bad input, exit 2)
    from qlab.cli import app

    gates = tmp_path / "gates.yaml"
    gates.write_text(yaml.safe_dump({"min_parent_ordres": 8}))
    args = list(command)
    if command[0] == "validate-run":
        from tests.live.test_live_runner import run_config

        cfg = tmp_path / "run.yaml"
        cfg.write_text(yaml.safe_dump(run_config().model_dump(mode="json")))
        args += [str(cfg)]
    result = CliRunner().invoke(app, [*args, "--gates", str(gates)])
    expected_exit = 1 if command[0] == "promote" else 2
    assert result.exit_code == expected_exit, result.output
    assert f"gate thresholds {gates}" in result.output
    assert "min_parent_ordres" in result.output
    if command[0] == "promote":
        assert result.output.startswith("promotion refused: gate thresholds")
