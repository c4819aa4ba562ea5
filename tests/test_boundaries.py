"""The layout is the architecture: research imports neither sim nor live; sim and live never
import each other. Checked on the source (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"research": {"sim", "live", "qlab"}, "sim": {"live", "qlab"}, "live": {"sim", "qlab"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_boundaries(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_packages(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


# The decision layer exists once, in research/trading: the marks of each decision, found by
# the AST (not by text, so a comment or a docstring does not count).
DECISION_PACKAGE = ROOT / "research" / "trading"
ALGORITHM_PARAMETER_KEYS = {"volume_profile", "tif_bars", "offset_bps", "fallback_to_market",
                            "rate"}
# IS's parameters: the Almgren-Chriss coefficients *with* the order's horizon (the cost model's
# own get_params has the coefficients alone: a model's parameters, not an order's)
IS_PARAMETER_KEYS = {"sigma", "eta", "horizon"}
# where a parameter key may also appear: the factory that reads them into an algorithm
PARAMETER_READERS = {ROOT / "research" / "execution" / "algorithms" / "factory.py"}


def _decision_marks(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    marks = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and path not in PARAMETER_READERS:
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if IS_PARAMETER_KEYS <= keys:
                marks.append(f"line {node.lineno}: algorithm parameters (IS) built")
            if keys & ALGORITHM_PARAMETER_KEYS:
                marks.append(f"line {node.lineno}: algorithm parameters "
                             f"{sorted(keys & ALGORITHM_PARAMETER_KEYS)} built")
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "target_weights" and "strategies" not in path.parts:
                marks.append(f"line {node.lineno}: target weights asked for (a rebalance "
                             "decision)")
            if name == "isocalendar":
                marks.append(f"line {node.lineno}: a rebalance period computed")
        if isinstance(node, ast.FunctionDef) and node.name in (
                "rebalance_dates", "is_rebalance_session", "target_shares", "rebalance_parents",
                "build_parents", "_algo_params", "_is_params"):
            marks.append(f"line {node.lineno}: def {node.name}")
    return marks


def test_decision_logic_lives_in_the_trading_package_only():
    """Rebalance schedule, target-share sizing and algorithm parameters are written once, in
    research/trading; sim, live and the rest of research call it. Known callers that only use
    it are listed with why."""
    allowed = {
        # the cost-free daily gate loop asks the portfolio strategy for weights on the trading
        # package's rebalance dates (no shares, no orders); replaced by the replay (#17)
        ROOT / "research" / "promotion" / "validation.py": {"target weights asked for"},
        # the TCA study's parent list: ids and sizes come from its order file, parameters
        # from research.trading (build_parents only calls those functions per study order)
        ROOT / "sim" / "tca" / "_run.py": {"def build_parents"},
    }
    offenders = []
    for package in ("research", "sim", "live", "qlab"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if DECISION_PACKAGE in path.parents:
                continue
            for mark in _decision_marks(path):
                if any(ok in mark for ok in allowed.get(path, ())):
                    continue
                offenders.append(f"{path.relative_to(ROOT)} {mark}")
    assert not offenders, "\n".join(offenders)
