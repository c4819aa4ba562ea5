"""Risk limits, checked continuously on the book and pre-trade on an order or a target.

Limits (:class:`research.config.RiskLimits`; the defaults below are the seed report's)
    position_weight       |w_i| ≤ 10% of NAV
    sector_weight         Σ_{i in sector} |w_i| ≤ 30% (gross, so a long-short pair inside
                          one sector counts twice: concentration, not net exposure)
    pairwise_correlation  max over held pairs of sign(w_i)·sign(w_j)·ρ_ij ≤ 0.7 — the
                          correlation of the two positions' P&Ls, so a long/short hedge of
                          two correlated names is not a concentration
    gross_exposure        Σ|w_i| ≤ 1.0 × NAV
    net_exposure          |Σ w_i| ≤ 1.0 × NAV
    var_budget            portfolio VaR at the configured confidence and horizon ≤ 10% NAV
    daily_loss            today's loss ≤ 3% of the day's opening NAV; once breached only
                          risk-reducing orders pass

Pre-trade rule: an order may neither create a breach nor worsen an existing one — on a
position, sector, gross or net limit already in breach an order may reduce the exposure
towards flat, and go beyond flat only as far as the limit allows; for the VaR budget the
post-trade VaR may not exceed max(budget, current VaR). The
largest compliant quantity is computed in closed form per limit (all limits are linear
or, for the VaR budget, a convex quadratic in the order size) and the order is approved,
trimmed to that quantity (whole shares, rounded down) or rejected. The pairwise-correlation
limit is all-or-nothing: it only matters when an order opens a position (or flips its sign)
and then no non-zero size passes.

VaR budget pre-trade: the post-trade VaR is the Gaussian VaR of the post-trade book from the
cached covariance and mean (μ·h, σ·√h), multiplied by ``tail_factor`` = configured-method
VaR / Gaussian VaR of the current book, so that at zero quantity it equals the VaR the
snapshot reports; the marginal effect of the order is Gaussian. This keeps the check O(1)
per order; the snapshot re-measures the book with the configured method.

Units: weights are signed fractions of NAV; quantities are shares; prices and NAV dollars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np

from research.config import RiskLimits
from research.domain import Side
from research.risk._validation import as_weight_vector
from research.risk.errors import RiskInputError, UnknownSectorError

_STANDARD_NORMAL = NormalDist()
#: Measured values within this of a threshold count as at the limit, not over it.
_TOLERANCE = 1e-12


class _VarBook(NamedTuple):
    """What the pre-trade VaR of a book needs: wᵀΣw, Σw (per symbol) and wᵀμ."""

    variance: float
    marginal: list[float]
    mean_p: float


class LimitKind(StrEnum):
    """Machine-readable limit identifiers; also the reason codes of pre-trade decisions."""

    POSITION_WEIGHT = "position_weight"
    SECTOR_WEIGHT = "sector_weight"
    PAIRWISE_CORRELATION = "pairwise_correlation"
    GROSS_EXPOSURE = "gross_exposure"
    NET_EXPOSURE = "net_exposure"
    VAR_BUDGET = "var_budget"
    DAILY_LOSS = "daily_loss"


class Decision(StrEnum):
    APPROVED = "approved"
    TRIMMED = "trimmed"
    REJECTED = "rejected"


def threshold(limits: RiskLimits, kind: LimitKind) -> float:
    """The threshold of ``kind`` in ``limits`` (a limit kind names what is measured; its
    field in :class:`RiskLimits` names the bound: ``position_weight`` <-> ``max_position_weight``)."""
    return float(getattr(limits, _FIELD_OF_KIND[kind]))


_FIELD_OF_KIND = {
    LimitKind.POSITION_WEIGHT: "max_position_weight",
    LimitKind.SECTOR_WEIGHT: "max_sector_weight",
    LimitKind.PAIRWISE_CORRELATION: "max_pairwise_correlation",
    LimitKind.GROSS_EXPOSURE: "max_gross_exposure",
    LimitKind.NET_EXPOSURE: "max_net_exposure",
    LimitKind.VAR_BUDGET: "var_budget",
    LimitKind.DAILY_LOSS: "daily_loss_limit",
}


@dataclass(frozen=True, slots=True)
class LimitStatus:
    """One limit measured on a book. ``subject`` names the symbol / sector / pair."""

    kind: LimitKind
    measured: float
    threshold: float
    subject: str

    @property
    def usage(self) -> float:
        """measured / threshold, floored at 0 (a hedged pair has negative correlation); with
        a threshold at or below 0 (a correlation limit can be), infinite when breached, else
        0."""
        if self.threshold > 0.0:
            return max(self.measured, 0.0) / self.threshold
        return math.inf if self.breached else 0.0

    @property
    def breached(self) -> bool:
        return self.measured > self.threshold + _TOLERANCE


@dataclass(frozen=True, slots=True)
class BindingLimit:
    """A limit that cut an order: its value had the full order gone through."""

    kind: LimitKind
    threshold: float
    measured_after: float
    max_quantity: int
    subject: str


@dataclass(frozen=True, slots=True)
class PreTradeDecision:
    decision: Decision
    symbol: str
    side: Side
    requested_quantity: int
    approved_quantity: int
    reasons: tuple[LimitKind, ...]
    message: str
    binding: tuple[BindingLimit, ...] = ()

    @property
    def approved(self) -> bool:
        """True when some quantity may be sent (approved in full or trimmed)."""
        return self.approved_quantity > 0


@dataclass(frozen=True, slots=True)
class TargetDecision:
    """Decision on moving the book to a target: the compliant fraction of the move."""

    decision: Decision
    fraction: float
    approved_weights: dict[str, float]
    reasons: tuple[LimitKind, ...]
    message: str


def _sector_table(
    symbols: Sequence[str], sectors: Mapping[str, str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    unknown = [s for s in symbols if s not in sectors]
    if unknown:
        raise UnknownSectorError(
            f"no sector known for symbol(s) {unknown}: name them in the run config's "
            "universe.sectors (symbol: sector); the embedded map "
            "(research.data.sectors.GICS_SECTOR) covers the 20 embedded names only"
        )
    names = tuple(sorted({sectors[s] for s in symbols}))
    position = {name: i for i, name in enumerate(names)}
    return np.array([position[sectors[s]] for s in symbols], dtype=np.intp), names


def _interval_cap(limit: float, others: float, value: float, sign: int) -> float:
    """Largest u ≥ 0 such that the measure others + |value + sign·u| complies.

    Compliant: within ``limit``, or — for a book already in breach — on the way to flat:
    an order against the position may always take it to zero, never beyond the limit.
    """
    reduce_to_flat = abs(value) if sign * value < 0.0 else 0.0
    return max(limit - others - sign * value, reduce_to_flat)


class LimitChecker:
    """Holds a book and its risk model; measures limits and sizes orders against them.

    ``set_risk_model`` (covariance, mean, correlation: daily) and ``set_weights`` cache what
    every check needs, so :meth:`check_order` is a handful of scalar operations.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        sectors: Mapping[str, str],
        limits: RiskLimits | None = None,
        *,
        confidence: float = 0.95,
        horizon: int = 21,
    ):
        self.symbols = tuple(str(s) for s in symbols)
        if len(set(self.symbols)) != len(self.symbols):
            raise RiskInputError("symbols contain duplicates")
        self.limits = limits if limits is not None else RiskLimits()
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._sector_of, self.sector_names = _sector_table(self.symbols, sectors)
        self._sector_list = self._sector_of.tolist()
        self.confidence, self.horizon = confidence, horizon
        self._z_sqrt_h = _STANDARD_NORMAL.inv_cdf(confidence) * math.sqrt(horizon)
        n = len(self.symbols)
        self.covariance = np.zeros((n, n))
        self.mean = np.zeros(n)
        self.correlation = np.eye(n)
        self._diag = [0.0] * n
        self._mean_list = [0.0] * n
        self.tail_factor = 1.0
        self.daily_loss = 0.0
        self.set_weights(np.zeros(n))

    # ------------------------------------------------------------------ state
    def set_risk_model(
        self,
        covariance: np.ndarray,
        mean: np.ndarray,
        correlation: np.ndarray,
        tail_factor: float = 1.0,
        weights: Any = None,
    ) -> None:
        """Daily covariance, mean and correlation (and optionally a new book in one pass)."""
        n = len(self.symbols)
        if covariance.shape != (n, n) or correlation.shape != (n, n) or mean.shape != (n,):
            raise RiskInputError(f"risk model shapes do not match {n} symbols")
        self.covariance, self.mean, self.correlation = covariance, mean, correlation
        self.set_tail_factor(tail_factor)
        self._diag = np.diag(covariance).tolist()
        self._mean_list = mean.tolist()
        self.set_weights(self.weights if weights is None else weights)

    def set_tail_factor(self, tail_factor: float) -> None:
        """Configured-method VaR / Gaussian VaR of the book (scales the pre-trade VaR)."""
        if not (math.isfinite(tail_factor) and tail_factor > 0):
            raise RiskInputError(f"tail_factor must be positive, got {tail_factor}")
        self.tail_factor = float(tail_factor)

    def set_weights(self, weights: Any) -> None:
        """Current book as signed fractions of NAV (array aligned to symbols or mapping)."""
        w = as_weight_vector(weights, self.symbols, len(self.symbols))
        self.weights = w
        self._w = w.tolist()
        self._abs = np.abs(w)
        self._gross = float(self._abs.sum())
        self._net = float(w.sum())
        self._sector_gross = np.bincount(
            self._sector_of, weights=self._abs, minlength=len(self.sector_names)
        )
        self._sector_gross_list = self._sector_gross.tolist()
        marginal = self.covariance @ w
        self._marginal = marginal.tolist()
        self._variance = max(float(w @ marginal), 0.0)
        self._mean_p = float(w @ self.mean)
        self._var_book = _VarBook(self._variance, self._marginal, self._mean_p)
        # the correlation partners are measured when an order first needs them: the book is
        # re-marked twice a session, orders come on a few sessions
        self._partners: tuple[list, list, list, list] | None = None

    def _correlation_partners(self) -> tuple[list, list, list, list]:
        """Best correlation partner among held names, per symbol and per side of a new
        position: (long values, long partner, short values, short partner)."""
        if self._partners is None:
            w = self.weights
            held = w != 0.0
            signed = self.correlation * np.sign(w)[None, :]
            mask = held[None, :] & ~np.eye(len(w), dtype=bool)
            long_vals = np.where(mask, signed, -np.inf)
            short_vals = np.where(mask, -signed, -np.inf)
            self._partners = (
                (long_vals.max(axis=1).tolist(), long_vals.argmax(axis=1).tolist(),
                 short_vals.max(axis=1).tolist(), short_vals.argmax(axis=1).tolist())
                if len(w) else ([], [], [], []))
        return self._partners

    def set_daily_loss(self, loss: float) -> None:
        """Today's loss as a positive fraction of the day's opening NAV (gain: negative)."""
        if not math.isfinite(loss):
            raise RiskInputError(f"daily loss must be finite, got {loss}")
        self.daily_loss = float(loss)

    # ------------------------------------------------------------------ measures
    def _gaussian_var(self, mean_p: float, variance: float) -> float:
        return self.tail_factor * (
            -self.horizon * mean_p + self._z_sqrt_h * math.sqrt(max(variance, 0.0))
        )

    def pretrade_var(self) -> float:
        """VaR of the current book as the pre-trade check models it."""
        return self._gaussian_var(self._mean_p, self._variance)

    def _measure(self, weights: np.ndarray, var_value: float) -> list[LimitStatus]:
        limits = self.limits
        absolute = np.abs(weights)
        i = int(np.argmax(absolute))
        sector_gross = np.bincount(
            self._sector_of, weights=absolute, minlength=len(self.sector_names)
        )
        k = int(np.argmax(sector_gross))
        held = np.flatnonzero(weights)
        corr, pair = 0.0, "(fewer than two positions)"
        if held.size >= 2:
            sign = np.sign(weights[held])
            block = self.correlation[held[:, None], held] * (sign[:, None] * sign)
            np.fill_diagonal(block, -np.inf)
            flat = int(block.argmax())
            a, b = divmod(flat, held.size)
            corr = float(block[a, b])
            pair = f"{self.symbols[held[a]]}/{self.symbols[held[b]]}"
        return [
            LimitStatus(
                LimitKind.POSITION_WEIGHT,
                float(absolute[i]),
                limits.max_position_weight,
                self.symbols[i],
            ),
            LimitStatus(
                LimitKind.SECTOR_WEIGHT,
                float(sector_gross[k]),
                limits.max_sector_weight,
                self.sector_names[k],
            ),
            LimitStatus(
                LimitKind.PAIRWISE_CORRELATION, corr, limits.max_pairwise_correlation, pair
            ),
            LimitStatus(
                LimitKind.GROSS_EXPOSURE,
                float(absolute.sum()),
                limits.max_gross_exposure,
                "portfolio",
            ),
            LimitStatus(
                LimitKind.NET_EXPOSURE,
                abs(float(weights.sum())),
                limits.max_net_exposure,
                "portfolio",
            ),
            LimitStatus(LimitKind.VAR_BUDGET, var_value, limits.var_budget, "portfolio"),
            LimitStatus(
                LimitKind.DAILY_LOSS, self.daily_loss, limits.daily_loss_limit, "portfolio"
            ),
        ]

    def evaluate(self, var_value: float | None = None) -> tuple[LimitStatus, ...]:
        """Every limit on the current book; ``var_value`` defaults to :meth:`pretrade_var`."""
        return tuple(
            self._measure(self.weights, self.pretrade_var() if var_value is None else var_value)
        )

    # ------------------------------------------------------------------ pre-trade: one order
    def _var_cap(self, i: int, sign: int, requested: float, book: _VarBook) -> float:
        """Largest u ≥ 0 (weight units) keeping the modelled VaR of ``book`` (the filled book,
        or with other symbols' working orders) ≤ max(budget, its VaR now): an order may not
        add VaR over the budget, and may always reduce it."""
        budget = max(self.limits.var_budget,
                     self._gaussian_var(book.mean_p, book.variance))
        kappa, h, zh = self.tail_factor, self.horizon, self._z_sqrt_h
        variance, c, s_ii = book.variance, sign * book.marginal[i], self._diag[i]
        # VaR(u) ≤ budget  ⇔  zh·√q(u) ≤ g(u) with q(u) = σ² + 2cu + s_ii u², g(u) = g0 + a1 u.
        g0 = budget / kappa + h * book.mean_p
        a1 = h * sign * self._mean_list[i]
        quad = zh * zh * s_ii - a1 * a1
        if quad > 0.0:
            lin = 2.0 * (zh * zh * c - g0 * a1)
            const = zh * zh * variance - g0 * g0
            disc = max(lin * lin - 4.0 * quad * const, 0.0)
            root = math.sqrt(disc)
            # Stable form of the larger root (const ≤ 0 because VaR(0) ≤ budget).
            if lin > 0.0:
                return max(0.0, -2.0 * const / (lin + root)) if lin + root > 0 else 0.0
            return max(0.0, (-lin + root) / (2.0 * quad))
        return self._var_cap_by_bisection(i, sign, requested, budget, book)

    def _var_after(self, i: int, sign: int, u: float, book: _VarBook | None = None) -> float:
        book = self._var_book if book is None else book
        variance = book.variance + 2.0 * sign * u * book.marginal[i] + u * u * self._diag[i]
        return self._gaussian_var(book.mean_p + sign * u * self._mean_list[i], variance)

    def _var_cap_by_bisection(self, i: int, sign: int, requested: float, budget: float,
                              book: _VarBook) -> float:
        # Only when the asset's drift over the horizon outweighs z·σ (degenerate inputs).
        if self._var_after(i, sign, requested, book) <= budget:
            return requested
        low, high = 0.0, requested
        for _ in range(200):
            mid = 0.5 * (low + high)
            if self._var_after(i, sign, mid, book) <= budget:
                low = mid
            else:
                high = mid
        return low

    def _with_working(self, i: int, working_notional: Mapping[str, float], nav: float
                      ) -> tuple[float, float, float, _VarBook]:
        """(sector gross of symbol ``i``'s sector, gross, net, VaR state) of the book with the
        other symbols' working orders counted as filled where they add exposure (a working
        sell of a long is not counted: it may not fill). Why: orders sent together (a
        rebalance's parents) are each checked before any fills; without this, three buys in
        one sector each pass alone and the sector ends far over its limit — and ten buys each
        within the VaR budget end far over it together."""
        w = list(self._w)
        counted = False
        for sym, dollars in working_notional.items():
            j = self._index.get(sym)
            if j is None or j == i or not dollars:
                continue
            moved = w[j] + dollars / nav
            if abs(moved) > abs(w[j]):
                w[j] = moved
                counted = True
        sector = self._sector_of[i]
        sector_gross = sum(abs(x) for k, x in enumerate(w) if self._sector_of[k] == sector)
        book = self._var_book
        if counted:
            vector = np.array(w)
            marginal = self.covariance @ vector
            book = _VarBook(max(float(vector @ marginal), 0.0), marginal.tolist(),
                            float(vector @ self.mean))
        return sector_gross, sum(abs(x) for x in w), sum(w), book

    def check_order(
        self, symbol: str, side: Side | str, quantity: int, price: float, nav: float,
        working_notional: Mapping[str, float] | None = None,
    ) -> PreTradeDecision:
        """Approve, trim or reject an order of ``quantity`` shares at ``price`` on a book of
        ``nav`` dollars. ``working_notional``: signed dollars of other symbols' orders still
        working (the sector, gross, net and VaR limits count them as filled where they add
        exposure)."""
        i = self._index.get(symbol)
        if i is None:
            raise RiskInputError(
                f"order in {symbol!r}: the risk model has no returns for it; "
                "include the symbol in the returns window given to update()"
            )
        side = side if isinstance(side, Side) else Side.parse(side)
        if int(quantity) != quantity:
            raise RiskInputError(
                f"order in {symbol!r}: quantity must be whole shares, got {quantity}"
            )
        if not (quantity > 0 and price > 0 and nav > 0):
            raise RiskInputError(
                f"order in {symbol!r}: quantity, price and nav must be positive, "
                f"got {quantity}, {price}, {nav}"
            )
        sign = 1 if side is Side.BUY else -1
        per_share = price / nav
        requested = quantity * per_share
        limits = self.limits
        w_i = self._w[i]
        abs_w = abs(w_i)
        if working_notional:
            sector_gross, gross, net, var_book = self._with_working(i, working_notional, nav)
        else:
            sector_gross = self._sector_gross_list[self._sector_list[i]]
            gross, net, var_book = self._gross, self._net, self._var_book
        caps = [
            (LimitKind.POSITION_WEIGHT, _interval_cap(limits.max_position_weight, 0.0, w_i, sign)),
            (
                LimitKind.SECTOR_WEIGHT,
                _interval_cap(limits.max_sector_weight, sector_gross - abs_w, w_i, sign),
            ),
            (
                LimitKind.GROSS_EXPOSURE,
                _interval_cap(limits.max_gross_exposure, gross - abs_w, w_i, sign),
            ),
            (LimitKind.NET_EXPOSURE, _interval_cap(limits.max_net_exposure, 0.0, net, sign)),
            (LimitKind.VAR_BUDGET, self._var_cap(i, sign, requested, var_book)),
        ]
        if sign * w_i <= 0.0:  # opens a position, or reduces one and could flip it
            long_vals, _, short_vals, _ = self._correlation_partners()
            partner = long_vals if sign > 0 else short_vals
            if partner[i] > limits.max_pairwise_correlation + _TOLERANCE:
                caps.append((LimitKind.PAIRWISE_CORRELATION, abs_w))
        if self.daily_loss > limits.daily_loss_limit + _TOLERANCE:
            caps.append((LimitKind.DAILY_LOSS, abs_w if sign * w_i < 0.0 else 0.0))

        binding = [(kind, cap) for kind, cap in caps if cap < requested - _TOLERANCE]
        if not binding:
            return PreTradeDecision(
                Decision.APPROVED, symbol, side, quantity, quantity, (), "approved"
            )
        cap = min(c for _, c in binding)
        approved = min(quantity, max(0, math.floor(cap / per_share + 1e-9)))
        decision = Decision.REJECTED if approved == 0 else Decision.TRIMMED
        book = (sector_gross, gross, net)
        details = tuple(
            self._binding_detail(kind, c, i, sign, requested, per_share, book, var_book)
            for kind, c in binding
        )
        reasons = tuple(d.kind for d in details)
        verb = "rejected" if approved == 0 else f"trimmed to {approved} shares"
        why = "; ".join(
            f"{d.kind.value} would be {d.measured_after:.4g} > limit {d.threshold:.4g} "
            f"({d.subject}; max {d.max_quantity} shares)"
            for d in details
        )
        message = f"{side.value} {quantity} {symbol} {verb}: {why}"
        return PreTradeDecision(
            decision, symbol, side, quantity, approved, reasons, message, details
        )

    def _binding_detail(
        self, kind: LimitKind, cap: float, i: int, sign: int, u: float, per_share: float,
        book: tuple[float, float, float], var_book: _VarBook,
    ) -> BindingLimit:
        """``book``: (sector gross of ``i``'s sector, gross, net) and ``var_book`` (the VaR
        state) the check measured against (other symbols' working orders included)."""
        sector_gross, gross, net = book
        w_i = self._w[i]
        after = w_i + sign * u
        symbol = self.symbols[i]
        if kind is LimitKind.POSITION_WEIGHT:
            measured, subject = abs(after), symbol
        elif kind is LimitKind.SECTOR_WEIGHT:
            sector = self._sector_list[i]
            measured = sector_gross - abs(w_i) + abs(after)
            subject = self.sector_names[sector]
        elif kind is LimitKind.GROSS_EXPOSURE:
            measured, subject = gross - abs(w_i) + abs(after), "portfolio"
        elif kind is LimitKind.NET_EXPOSURE:
            measured, subject = abs(net + sign * u), "portfolio"
        elif kind is LimitKind.VAR_BUDGET:
            measured, subject = self._var_after(i, sign, u, var_book), "portfolio"
        elif kind is LimitKind.PAIRWISE_CORRELATION:
            long_vals, long_with, short_vals, short_with = self._correlation_partners()
            values, partners = (long_vals, long_with) if sign > 0 else (short_vals, short_with)
            measured, subject = values[i], f"{symbol}/{self.symbols[partners[i]]}"
        else:
            measured, subject = self.daily_loss, "portfolio (risk-increasing orders halted)"
        return BindingLimit(
            kind,
            threshold(self.limits, kind),
            float(measured),
            max(0, math.floor(cap / per_share + 1e-9)),
            subject,
        )

    # ------------------------------------------------------------------ pre-trade: a target
    def check_target(self, target: Any, *, tolerance: float = 1e-9) -> TargetDecision:
        """Largest fraction α of the move from the current book to ``target`` that complies.

        Each limit must hold at α or be no worse than now. Under a daily-loss breach the
        target is first made reduce-only (no position grows or flips). α is found by
        bisection to ``tolerance``; the limits are convex in α except the correlation limit,
        which is constant on (0, 1).
        """
        goal = as_weight_vector(target, self.symbols, len(self.symbols), name="target weights")
        start = self.weights
        reasons: list[LimitKind] = []
        if self.daily_loss > self.limits.daily_loss_limit + _TOLERANCE:
            same_side = np.sign(goal) == np.sign(start)
            reduced = np.where(
                same_side, np.clip(np.abs(goal), 0.0, np.abs(start)) * np.sign(start), 0.0
            )
            if not np.allclose(reduced, goal, rtol=0.0, atol=1e-15):
                reasons.append(LimitKind.DAILY_LOSS)
            goal = reduced
        current_var = self.pretrade_var()
        now = {s.kind: s.measured for s in self._measure(start, current_var)}

        def failing(alpha: float) -> list[LimitKind]:
            w = start + alpha * (goal - start)
            var_value = self._gaussian_var(float(w @ self.mean), float(w @ self.covariance @ w))
            return [
                s.kind
                for s in self._measure(w, var_value)
                if s.kind is not LimitKind.DAILY_LOSS
                and s.measured > max(s.threshold, now[s.kind]) + _TOLERANCE
            ]

        failed = failing(1.0)
        alpha = 1.0
        if failed:
            reasons.extend(k for k in failed if k not in reasons)
            low, high = 0.0, 1.0
            while high - low > tolerance:
                mid = 0.5 * (low + high)
                low, high = (mid, high) if not failing(mid) else (low, mid)
            alpha = low
        weights = start + alpha * (goal - start)
        approved = dict(zip(self.symbols, weights.tolist(), strict=True))
        if not reasons:
            return TargetDecision(Decision.APPROVED, 1.0, approved, (), "approved")
        moved = float(np.abs(weights - start).sum())
        decision = Decision.TRIMMED if moved > 1e-12 else Decision.REJECTED
        message = (
            f"target {decision.value}: {alpha:.2%} of the move complies; binding: "
            + ", ".join(k.value for k in reasons)
        )
        return TargetDecision(decision, alpha, approved, tuple(reasons), message)
