"""Each limit on a hand-built book: NAV $1,000,000 and a $100 price, so one share is 0.01%
of NAV (a weight of 0.04 is 400 shares)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from research.config import RiskLimits
from research.risk import (
    Decision,
    LimitChecker,
    LimitKind,
    RiskInputError,
    UnknownSectorError,
)

NAV, PRICE = 1_000_000.0, 100.0
SYMBOLS = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
SECTORS = {
    "A": "Tech",
    "B": "Tech",
    "C": "Tech",
    "D": "Energy",
    "E": "Energy",
    "F": "Energy",
    "G": "Health",
    "H": "Health",
    "I": "Health",
    "J": "Utilities",
}
LOOSE = {  # every limit out of the way unless a test tightens it
    "max_position_weight": 1.0,
    "max_sector_weight": 1.0,
    "max_pairwise_correlation": 1.0,
    "max_gross_exposure": 10.0,
    "max_net_exposure": 10.0,
    "var_budget": 1.0,  # the whole NAV: out of the way of these books
    "daily_loss_limit": 0.03,
}


def make_checker(
    weights: dict[str, float],
    correlation: dict[tuple[str, str], float] | None = None,
    sd: float = 0.01,
    horizon: int = 1,
    **limits: float,
) -> LimitChecker:
    checker = LimitChecker(
        SYMBOLS, SECTORS, RiskLimits(**{**LOOSE, **limits}), confidence=0.95, horizon=horizon
    )
    corr = np.eye(len(SYMBOLS))
    for (a, b), rho in (correlation or {}).items():
        i, j = SYMBOLS.index(a), SYMBOLS.index(b)
        corr[i, j] = corr[j, i] = rho
    cov = corr * sd * sd
    checker.set_risk_model(cov, np.zeros(len(SYMBOLS)), corr)
    checker.set_weights(weights)
    return checker


def order(checker: LimitChecker, symbol: str, side: str, weight: float):
    return checker.check_order(symbol, side, round(weight * NAV / PRICE), PRICE, NAV)


# ---------------------------------------------------------------- position weight
def test_position_limit_trims_to_the_largest_compliant_quantity():
    checker = make_checker({"A": 0.06}, max_position_weight=0.10)
    decision = order(checker, "A", "buy", 0.10)  # would be 16%
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 400  # 6% + 4% = the 10% limit
    assert decision.reasons == (LimitKind.POSITION_WEIGHT,)
    assert decision.binding[0].measured_after == pytest.approx(0.16)
    assert "position_weight" in decision.message and "A" in decision.message
    # the trimmed quantity complies, one more share would not
    assert order(checker, "A", "buy", 0.04).decision is Decision.APPROVED
    assert checker.check_order("A", "buy", 401, PRICE, NAV).decision is Decision.TRIMMED


def test_position_limit_applies_to_shorts_and_allows_reducing_a_breach():
    checker = make_checker({"A": 0.12}, max_position_weight=0.10)
    assert order(checker, "A", "buy", 0.01).decision is Decision.REJECTED  # already over
    assert order(checker, "A", "sell", 0.05).decision is Decision.APPROVED  # 12% -> 7%
    flip = order(checker, "A", "sell", 0.30)  # 12% -> -18%: only down to -10%
    assert flip.decision is Decision.TRIMMED and flip.approved_quantity == 2200


# ---------------------------------------------------------------- sector weight
def test_sector_limit_trims_on_gross_sector_exposure():
    checker = make_checker(
        {"A": 0.05, "B": 0.10, "C": 0.12}, max_position_weight=0.15, max_sector_weight=0.30
    )
    decision = order(checker, "A", "buy", 0.04)  # Tech 27% -> 31%
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 300
    assert decision.reasons == (LimitKind.SECTOR_WEIGHT,)
    assert decision.binding[0].subject == "Tech"
    assert order(checker, "D", "buy", 0.10).decision is Decision.APPROVED  # another sector


def test_sector_limit_counts_shorts_gross_and_lets_a_cover_through():
    checker = make_checker({"A": -0.10, "B": 0.12, "C": 0.12}, max_sector_weight=0.30)  # 34%: over
    assert order(checker, "A", "buy", 0.10).decision is Decision.APPROVED  # cover: 34% -> 24%
    assert order(checker, "B", "buy", 0.01).decision is Decision.REJECTED  # adds to the breach
    assert order(checker, "A", "sell", 0.01).decision is Decision.REJECTED  # a bigger short too
    over_flat = order(checker, "A", "buy", 0.20)  # past flat: long A up to the 30% limit only
    assert over_flat.decision is Decision.TRIMMED and over_flat.approved_quantity == 1600


# ---------------------------------------------------------------- pairwise correlation
def test_correlated_new_position_is_rejected_but_a_hedge_passes():
    checker = make_checker({"A": 0.05}, correlation={("A", "B"): 0.8}, max_pairwise_correlation=0.7)
    long_b = order(checker, "B", "buy", 0.02)
    assert long_b.decision is Decision.REJECTED
    assert long_b.reasons == (LimitKind.PAIRWISE_CORRELATION,)
    assert long_b.binding[0].measured_after == pytest.approx(0.8)
    assert long_b.binding[0].subject == "B/A"
    assert order(checker, "B", "sell", 0.02).decision is Decision.APPROVED  # short B hedges A
    assert order(checker, "C", "buy", 0.02).decision is Decision.APPROVED  # uncorrelated


def test_flipping_into_a_correlated_pair_is_trimmed_to_closing():
    checker = make_checker(
        {"A": -0.05, "B": 0.05}, correlation={("A", "B"): 0.8}, max_pairwise_correlation=0.7
    )
    decision = order(checker, "B", "sell", 0.08)  # B +5% -> -3%, short alongside short A
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 500  # closes B, no further
    assert decision.reasons == (LimitKind.PAIRWISE_CORRELATION,)


def test_continuous_correlation_check_uses_position_signs():
    corr = {("A", "B"): 0.8, ("C", "D"): 0.75}
    hedged = make_checker({"A": 0.05, "B": -0.05, "C": 0.02, "D": 0.02}, correlation=corr)
    status = {s.kind: s for s in hedged.evaluate()}[LimitKind.PAIRWISE_CORRELATION]
    assert status.measured == pytest.approx(0.75) and status.subject in ("C/D", "D/C")
    assert status.breached is False  # the loose limit is 1.0
    tight = make_checker(
        {"A": 0.05, "B": -0.05, "C": 0.02, "D": 0.02},
        correlation=corr,
        max_pairwise_correlation=0.7,
    )
    assert {s.kind: s for s in tight.evaluate()}[LimitKind.PAIRWISE_CORRELATION].breached


# ---------------------------------------------------------------- gross and net exposure
def test_gross_exposure_limit():
    book = {s: 0.10 for s in SYMBOLS[:9]}  # 90% gross, 30% per sector
    checker = make_checker(book, max_gross_exposure=0.95)
    decision = order(checker, "J", "buy", 0.10)
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 500
    assert decision.reasons == (LimitKind.GROSS_EXPOSURE,)
    # selling a long reduces gross: approved even into a short, up to the gross room
    assert order(checker, "A", "sell", 0.10).decision is Decision.APPROVED
    assert order(checker, "A", "sell", 0.20).decision is Decision.APPROVED  # -10%: gross 90%
    assert order(checker, "A", "sell", 0.30).approved_quantity == 2500  # -15%: gross back to 95%


def test_net_exposure_limit_on_a_long_short_book():
    book = {"A": 0.25, "D": 0.25, "B": -0.15, "E": -0.15}  # gross 80%, net 20%
    checker = make_checker(book, max_net_exposure=0.25)
    decision = order(checker, "G", "buy", 0.10)
    assert decision.decision is Decision.TRIMMED
    assert decision.approved_quantity == 500
    assert decision.reasons == (LimitKind.NET_EXPOSURE,)
    assert order(checker, "G", "sell", 0.40).approved_quantity == 4000  # net 20% -> -20%: fine
    assert order(checker, "G", "sell", 0.50).approved_quantity == 4500  # stops at -25%


# ---------------------------------------------------------------- VaR budget
def test_var_budget_trims_in_closed_form_single_asset():
    # one asset, σ = 1% a day, zero mean: VaR(w) = 1.645 · 0.01 · w
    checker = make_checker({"A": 0.5}, var_budget=0.0125)
    z = NormalDist().inv_cdf(0.95)
    largest_weight = 0.0125 / (z * 0.01)
    decision = order(checker, "A", "buy", 0.5)
    assert decision.decision is Decision.TRIMMED
    assert decision.reasons == (LimitKind.VAR_BUDGET,)
    assert decision.approved_quantity == math.floor((largest_weight - 0.5) * NAV / PRICE)


def test_var_budget_with_correlation_drift_horizon_and_tail_factor_matches_bisection():
    rng = np.random.default_rng(3)
    n = len(SYMBOLS)
    x = rng.normal(0.0004, 0.015, size=(300, n)) + rng.normal(0, 0.01, size=(300, 1))
    cov, mean = np.cov(x, rowvar=False), x.mean(axis=0)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    checker = LimitChecker(
        SYMBOLS, SECTORS, RiskLimits(**{**LOOSE, "var_budget": 0.07}), confidence=0.95, horizon=21
    )
    checker.set_risk_model(cov, mean, corr, tail_factor=1.2)
    book = np.full(n, 0.06)
    checker.set_weights(book)
    z = NormalDist().inv_cdf(0.95)

    def book_var(w: np.ndarray) -> float:  # independent: full-book Gaussian VaR × tail factor
        return 1.2 * (-21 * w @ mean + z * math.sqrt(21) * math.sqrt(w @ cov @ w))

    assert checker.pretrade_var() == pytest.approx(book_var(book), rel=1e-12)
    assert book_var(book) < 0.07
    i = SYMBOLS.index("C")
    lo, hi = 0.0, 0.5
    for _ in range(100):
        mid = (lo + hi) / 2
        trial = book.copy()
        trial[i] += mid
        lo, hi = (mid, hi) if book_var(trial) <= 0.07 else (lo, mid)
    assert 0.2 < lo < 0.3
    decision = order(checker, "C", "buy", 0.5)
    assert decision.reasons == (LimitKind.VAR_BUDGET,)
    assert decision.approved_quantity == math.floor(lo * NAV / PRICE)


def test_var_budget_allows_a_risk_reducing_trade_when_over_budget():
    checker = make_checker({"A": 0.5, "B": 0.5}, correlation={("A", "B"): 0.9}, var_budget=0.001)
    assert order(checker, "A", "sell", 0.2).decision is Decision.APPROVED
    assert order(checker, "C", "buy", 0.2).decision is Decision.REJECTED


def test_var_budget_counts_the_other_names_working_buys():
    """A rebalance sends its buys together, each checked before any fills. From cash, A (40%)
    is working when B (40%) is checked; A and B correlate 0.5, σ = 1% a day, zero mean, so
    VaR(a·A + u·B) = z·0.01·√(a² + u² + 2·0.5·a·u). Under a 1% budget B alone would pass
    (z·0.01·0.4 = 0.66%) but A and B together would not (z·0.01·√0.48 = 1.14%): B is trimmed
    to the u solving u² + 0.4u + 0.16 = (0.01 / (z·0.01))². A working sell of a long counts
    for nothing (it may not fill), and it may always go through."""
    checker = make_checker({"C": 0.0}, correlation={("A", "B"): 0.5}, var_budget=0.01)
    z = NormalDist().inv_cdf(0.95)
    alone = order(checker, "B", "buy", 0.4)
    assert alone.decision is Decision.APPROVED
    working = {"A": 0.4 * NAV}
    decision = checker.check_order("B", "buy", 4_000, PRICE, NAV, working_notional=working)
    assert decision.reasons == (LimitKind.VAR_BUDGET,)
    u = max(np.roots([1.0, 0.4, 0.16 - (1 / z) ** 2]))
    assert decision.approved_quantity == math.floor(u * NAV / PRICE + 1e-9)
    assert decision.binding[0].measured_after == pytest.approx(
        z * 0.01 * math.sqrt(0.16 + 0.16 + 0.4 * 0.4), rel=1e-12)
    long_book = make_checker({"A": 0.4}, correlation={("A", "B"): 0.5}, var_budget=0.01)
    sell_a = {"A": -0.4 * NAV}  # a working sell of the long: not counted
    assert long_book.check_order("B", "buy", 4_000, PRICE, NAV, working_notional=sell_a
                                 ).approved_quantity == decision.approved_quantity


# ---------------------------------------------------------------- daily loss
def test_daily_loss_halts_risk_increasing_orders_only():
    checker = make_checker({"A": 0.05, "B": -0.03})
    checker.set_daily_loss(0.035)
    buy_more = order(checker, "A", "buy", 0.01)
    assert buy_more.decision is Decision.REJECTED and buy_more.reasons == (LimitKind.DAILY_LOSS,)
    assert order(checker, "C", "buy", 0.01).decision is Decision.REJECTED  # a new position
    assert order(checker, "A", "sell", 0.02).decision is Decision.APPROVED  # reduce
    assert order(checker, "B", "buy", 0.03).decision is Decision.APPROVED  # cover a short
    flip = order(checker, "A", "sell", 0.08)
    assert flip.decision is Decision.TRIMMED and flip.approved_quantity == 500  # to flat only
    checker.set_daily_loss(0.01)
    assert order(checker, "A", "buy", 0.01).decision is Decision.APPROVED


# ---------------------------------------------------------------- several limits at once
def test_the_tightest_limit_decides_and_every_binding_limit_is_reported():
    checker = make_checker({"A": 0.08, "B": 0.15}, max_position_weight=0.10, max_sector_weight=0.30)
    decision = order(checker, "A", "buy", 0.10)  # position room 2%, sector room 7%
    assert decision.approved_quantity == 200
    assert set(decision.reasons) == {LimitKind.POSITION_WEIGHT, LimitKind.SECTOR_WEIGHT}
    by_kind = {b.kind: b.max_quantity for b in decision.binding}
    assert by_kind == {LimitKind.POSITION_WEIGHT: 200, LimitKind.SECTOR_WEIGHT: 700}


def test_continuous_evaluation_reports_every_limit():
    checker = make_checker(
        {"A": 0.12, "B": 0.15, "C": 0.05, "D": -0.02},
        max_position_weight=0.10,
        max_sector_weight=0.30,
        max_gross_exposure=0.30,
        max_net_exposure=0.5,
    )
    checker.set_daily_loss(0.01)
    status = {s.kind: s for s in checker.evaluate(var_value=0.05)}
    assert set(status) == set(LimitKind)
    assert status[LimitKind.POSITION_WEIGHT].measured == pytest.approx(0.15)
    assert status[LimitKind.POSITION_WEIGHT].subject == "B"
    assert status[LimitKind.SECTOR_WEIGHT].measured == pytest.approx(0.32)
    assert status[LimitKind.GROSS_EXPOSURE].measured == pytest.approx(0.34)
    assert status[LimitKind.NET_EXPOSURE].measured == pytest.approx(0.30)
    assert status[LimitKind.VAR_BUDGET].measured == 0.05
    assert status[LimitKind.DAILY_LOSS].usage == pytest.approx(1 / 3)
    breached = {k for k, s in status.items() if s.breached}
    assert breached == {
        LimitKind.POSITION_WEIGHT,
        LimitKind.SECTOR_WEIGHT,
        LimitKind.GROSS_EXPOSURE,
    }


# ---------------------------------------------------------------- target portfolios
def test_target_is_trimmed_to_the_compliant_fraction_of_the_move():
    checker = make_checker({"A": 0.05}, max_position_weight=0.10)
    decision = checker.check_target({"A": 0.20, "D": 0.05})
    assert decision.decision is Decision.TRIMMED
    assert decision.fraction == pytest.approx(1 / 3, abs=1e-8)
    assert decision.approved_weights["A"] == pytest.approx(0.10, abs=1e-8)
    assert decision.approved_weights["D"] == pytest.approx(0.05 / 3, abs=1e-8)
    assert decision.reasons == (LimitKind.POSITION_WEIGHT,)
    assert checker.check_target({"A": 0.08, "D": 0.05}).decision is Decision.APPROVED


def test_target_under_daily_loss_is_made_reduce_only():
    checker = make_checker({"A": 0.05, "B": 0.05})
    checker.set_daily_loss(0.05)
    decision = checker.check_target({"A": 0.02, "B": 0.09, "C": 0.04})
    assert decision.approved_weights["A"] == pytest.approx(0.02)
    assert decision.approved_weights["B"] == pytest.approx(0.05)
    assert decision.approved_weights["C"] == 0.0
    assert decision.reasons == (LimitKind.DAILY_LOSS,)


def test_target_with_unknown_symbol_is_an_error():
    with pytest.raises(RiskInputError, match="ZZZ"):
        make_checker({}).check_target({"ZZZ": 0.1})


# ---------------------------------------------------------------- configuration and bad input
def test_limits_default_to_the_seed_values_and_settings_are_passed_in(monkeypatch):
    from pydantic import ValidationError

    from research.config import load_settings

    defaults = RiskLimits()
    assert defaults.max_position_weight == 0.10 and defaults.max_sector_weight == 0.30
    assert defaults.max_pairwise_correlation == 0.7 and defaults.daily_loss_limit == 0.03
    assert RiskLimits(max_position_weight=0.05).max_position_weight == 0.05
    monkeypatch.setenv("QLAB_RISK__MAX_POSITION_WEIGHT", "0.08")
    assert RiskLimits().max_position_weight == 0.10  # a constructor reads no environment
    settings = load_settings(None).risk  # the caller does, and passes them in
    assert settings.max_position_weight == 0.08
    assert LimitChecker(["AAPL"], {"AAPL": "Tech"}, settings).limits.max_position_weight == 0.08
    for bad in ({"max_gross_exposure": 0.0}, {"var_budget": float("nan")},
                {"max_net_exposure": float("inf")}, {"max_pairwise_correlation": 1.5}):
        with pytest.raises(ValidationError):
            RiskLimits(**bad)


def test_unknown_sector_is_an_error():
    with pytest.raises(UnknownSectorError, match="ZZZ") as info:
        LimitChecker(["A", "ZZZ"], {"A": "Tech"})
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ZZZ", "buy", 10, 100.0, NAV), "no returns"),
        (("A", "buy", 0, 100.0, NAV), "positive"),
        (("A", "buy", 10, -1.0, NAV), "positive"),
        (("A", "hold", 10, 100.0, NAV), "side"),
    ],
)
def test_bad_orders_are_errors(args, message):
    with pytest.raises(ValueError, match=message):
        make_checker({}).check_order(*args)


def test_a_correlation_limit_at_or_below_zero_has_a_usage_not_a_division_by_zero():
    """max_pairwise_correlation may be 0 or negative (no positively correlated pair held):
    its usage is infinite when breached and 0 otherwise, never a ZeroDivisionError."""
    from research.risk.limits import LimitKind, LimitStatus

    kind = LimitKind.PAIRWISE_CORRELATION
    assert LimitStatus(kind, 0.3, 0.0, "A/B").usage == math.inf
    assert LimitStatus(kind, -0.2, 0.0, "A/B").usage == 0.0
    assert LimitStatus(kind, -0.2, -0.5, "A/B").usage == math.inf
    assert LimitStatus(kind, 0.35, 0.7, "A/B").usage == pytest.approx(0.5)


@pytest.mark.parametrize("field", ["max_position_weight", "max_sector_weight", "var_budget",
                                   "daily_loss_limit"])
def test_a_limit_of_zero_is_refused_by_the_config_with_its_field_named(field):
    from pydantic import ValidationError

    from research.config import RunConfig

    with pytest.raises(ValidationError, match=f"risk.{field}"):
        RunConfig(name="x", universe={"symbols": ["AAPL"]}, risk={field: 0.0})
