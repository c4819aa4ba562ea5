"""Typed configuration: process settings (environment / ``.env``) and run configs (YAML).

Two kinds of configuration, on purpose kept apart:

* :class:`Settings` — how *this process* runs: where data lives, default model coefficients,
  risk limits, retry and circuit-breaker thresholds, broker credentials, tracking URI. Read
  from ``QLAB_*`` environment variables and a ``.env`` file; nested groups use ``__``
  (``QLAB_RISK__MAX_POSITION_WEIGHT=0.08``).
* :class:`RunConfig` — what *a study or a live deployment* does: strategy, universe,
  execution policy, risk limits, cost model. A YAML file validated with ``extra="forbid"``
  so a typo is an error, never a silently ignored key. Run configs are what gets promoted.

Every default below that the seed report names carries a comment saying so. Secrets are
``SecretStr`` and every model sets ``hide_input_in_errors`` so a validation error never echoes
the value it rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from research.domain import Algorithm

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
#: a limit in (0, 1]: at 0 every position would breach it (a config that cannot trade)
LimitFraction = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]

#: Where a half spread comes from: the bar's quotes when present, else this bar estimator.
#: One list for the cost model's and the simulated market's settings and the run config.
SpreadSource = Literal["quotes", "corwin_schultz", "abdi_ranaldo", "roll"]
#: The cost model's impact laws (research.costs derives its own list from this one).
ImpactLaw = Literal["square_root", "almgren_2005"]


class _Group(BaseModel):
    # NaN and infinity are never a setting: NaN passes every bound check (all comparisons are
    # False) and infinity makes any limit meaningless.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, validate_assignment=True,
                              allow_inf_nan=False)


# --------------------------------------------------------------------------- settings groups
class DataSettings(_Group):
    """Where bars live and how the embedded intraday data is synthesised."""

    store_path: Path = Field(
        Path("data/store"), description="Root of the local Parquet store (git-ignored)."
    )
    calendar: str = Field("XNYS", description="exchange_calendars code of the trading calendar.")
    synth_seed: int = Field(7, description="Seed of the intraday synthesiser.")
    synth_default_adv_usd: PositiveFloat = Field(
        2.0e9,
        description="Average daily dollar volume per symbol when none is configured "
        "(large-cap S&P 500 names trade roughly $0.5-10bn a day).",
    )
    synth_adv_usd: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="Per-symbol ADV in dollars, overriding the default."
    )
    synth_spread_bps: PositiveFloat = Field(
        3.0, description="Median quoted spread of a large cap at mid-day, bps."
    )
    synth_open_spread_multiple: PositiveFloat = Field(
        3.0, description="Quoted spread at the open relative to mid-day (practitioner 2-3x)."
    )
    synth_first_half_hour_volume_share: Fraction = Field(
        0.12, description="Share of the day's volume in the first 30 minutes (NYSE: 11.0-12.6%)."
    )
    synth_last_half_hour_volume_share: Fraction = Field(
        0.16, description="Share of the day's volume in the last 30 minutes (heavy close)."
    )
    synth_overnight_variance_share: Fraction = Field(
        0.2, description="Share of close-to-close variance realised overnight (open gap)."
    )


class CostSettings(_Group):
    """Pre-trade cost model defaults (the predictor, never used to produce simulated fills)."""

    impact_law: ImpactLaw = Field(
        "square_root", description="Impact law of the cost model."
    )
    sqrt_impact_y: PositiveFloat = Field(
        0.7, description="Y in cost = Y*sigma*sqrt(Q/V); literature: of order 0.5-1. Predicts "
        "only: the IS algorithm executes with the run config's execution.is_impact_y."
    )
    almgren_eta: PositiveFloat = Field(
        0.142, description="Almgren et al. 2005 temporary-impact coefficient eta "
        "(used with impact_law=almgren_2005 only)."
    )
    almgren_beta: PositiveFloat = Field(0.6, description="Almgren et al. 2005 exponent beta.")
    almgren_gamma: PositiveFloat = Field(
        0.314, description="Almgren et al. 2005 permanent-impact coefficient gamma."
    )
    max_participation: Fraction = Field(
        0.10, description="Participation cap the cost model assumes: largest share of market "
        "volume an order may take. Predicts only: POV executes at execution.pov_rate."
    )
    risk_aversion: float = Field(
        1e-6, ge=0, description="Lambda of the cost model's cost + lambda*risk trade-off "
        "($^-1). Predicts only: the IS algorithm executes with execution.risk_aversion."
    )
    spread_source: SpreadSource = Field(
        "quotes", description="Spread estimate: quotes when present, else this bar estimator."
    )
    spread_lookback_days: PositiveInt = Field(
        21, description="Past days the bar spread estimators average over."
    )
    fee_schedule: str = Field("tiger_us", description="Fee schedule id (tiger_us, zero, flat_bps).")

    @field_validator("fee_schedule")
    @classmethod
    def _known_fee_schedule(cls, name: str) -> str:
        return check_fee_schedule(name)
    flat_fee_bps: float = Field(0.0, ge=0, description="Fee rate of the flat_bps schedule.")
    limit_offset_bps: float = Field(
        0.0, description="Limit offset from the mid (bps, positive = passive) the cost model "
        "prices a limit order at when the order names none; executed limits use the run "
        "config's execution.limit_offset_bps."
    )


class RiskLimits(_Group):
    """The portfolio risk limits (seed report: module 2): one model, the process defaults in
    :class:`RiskSettings` (which extends it) and a run config's own in ``RunConfig.risk``."""

    max_position_weight: LimitFraction = Field(0.10, description="Max single position, seed: 10%.")
    max_sector_weight: LimitFraction = Field(0.30, description="Max sector concentration, seed: 30%.")
    max_pairwise_correlation: Annotated[float, Field(ge=-1, le=1)] = Field(
        0.7, description="Max correlation between two held positions, seed: 0.7."
    )
    max_gross_exposure: PositiveFloat = Field(1.0, description="Gross exposure cap, x NAV.")
    max_net_exposure: PositiveFloat = Field(1.0, description="Absolute net exposure cap, x NAV.")
    var_budget: LimitFraction = Field(
        0.10, description="Portfolio VaR budget at the configured horizon, fraction of NAV."
    )
    daily_loss_limit: LimitFraction = Field(
        0.03, description="Daily loss that halts new risk-increasing orders, fraction of NAV."
    )
    on_target_breach: Literal["trim", "rescale", "reject"] = Field(
        "trim", description="A rebalance target that breaches a limit: 'trim' (default) sends "
        "the orders and the pre-trade check cuts each child to the largest compliant quantity; "
        "'rescale' moves every position the same fraction of the way (the largest that "
        "complies); 'reject' trades nothing that session.",
    )
    on_daily_loss: Literal["reduce", "halt"] = Field(
        "reduce", description="Once the day's loss (the book marked to market every bar "
        "against the day's opening NAV) passes daily_loss_limit: 'reduce' (default) lets only "
        "risk-reducing orders through for the rest of the session; 'halt' halts trading (open "
        "orders cancelled) until the next session.",
    )
    on_drift: Literal["alert", "reduce"] = Field(
        "alert", description="Between rebalances, a book that prices drove over a position, "
        "sector, gross or net limit: 'alert' (default) only alerts; 'reduce' sends "
        "reduce-only orders at the next session's open that bring it back to the limits "
        "(the VaR and correlation limits alert only: no single trade is implied).",
    )


#: The :class:`RiskLimits` thresholds of "limits off": none can bind a long or long-short book
#: of up to 10x NAV gross (the unconstrained counterfactual of the risk-limits study, and the
#: replays that isolate something else from the limits).
LIMITS_OFF = {"max_position_weight": 1.0, "max_sector_weight": 1.0,
              "max_pairwise_correlation": 1.0, "var_budget": 1.0, "daily_loss_limit": 1.0,
              "max_gross_exposure": 10.0, "max_net_exposure": 10.0}


class RiskSettings(RiskLimits):
    """Portfolio risk limits (the :class:`RiskLimits` fields) and VaR conventions."""

    var_confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = Field(
        0.95, description="VaR/CVaR confidence, seed: 95%."
    )
    var_horizon_days: PositiveInt = Field(21, description="VaR horizon in trading days, seed: 21.")
    var_lookback_days: PositiveInt = Field(252, description="Return history for VaR, seed: 252.")
    var_method: Literal["historical", "gaussian", "cornish_fisher", "monte_carlo", "fhs"] = Field(
        "historical", description="Default VaR method."
    )
    var_horizon_scaling: Literal["sqrt", "overlapping"] = Field(
        "sqrt",
        description="sqrt(h) scaling of 1-day VaR (assumes i.i.d. returns) or overlapping "
        "h-day returns (no i.i.d. assumption, but strongly autocorrelated samples).",
    )
    daily_risk_budget: Fraction = Field(
        0.02, description="Daily risk budget: max 1-day VaR usage / daily loss, fraction of NAV."
    )
    covariance: Literal["ledoit_wolf", "sample", "ewma"] = Field(
        "ledoit_wolf", description="Covariance estimator (seed: Ledoit-Wolf shrinkage)."
    )
    ewma_halflife_days: PositiveFloat = Field(63.0, description="Half-life of the EWMA estimator.")
    alert_cooldown_seconds: float = Field(
        900.0, ge=0, description="An unchanged breach re-alerts only after this cool-down."
    )
    mc_paths: PositiveInt = Field(10_000, description="Monte Carlo / FHS scenario count.")
    seed: int = Field(11, description="Seed of Monte Carlo VaR.")


class ExecutionSettings(_Group):
    """Engine robustness: retries, breakers, pre-trade rules (seed report: module 3)."""

    retry_max_attempts: PositiveInt = Field(5, description="Attempts for idempotent broker calls.")
    retry_initial_backoff_s: PositiveFloat = Field(0.5, description="First backoff, seconds.")
    retry_max_backoff_s: PositiveFloat = Field(30.0, description="Backoff ceiling, seconds.")
    retry_jitter_s: float = Field(0.25, ge=0, description="Random jitter added to each backoff.")
    breaker_price_move_pct: PositiveFloat = Field(
        0.05, description="Pause a symbol when its price moves more than this..."
    )
    breaker_price_move_window_minutes: PositiveInt = Field(5, description="...within N minutes.")
    breaker_spread_multiple: PositiveFloat = Field(
        5.0, description="Pause a symbol when its spread exceeds k x its normal spread."
    )
    breaker_day_band_pct: PositiveFloat = Field(
        0.10, description="Pause a symbol whose price leaves +-band of the previous close."
    )
    breaker_max_error_rate: Fraction = Field(
        0.20, description="Broker error rate (over the last 50 calls) that moves to REDUCING."
    )
    breaker_max_consecutive_rejects: PositiveInt = Field(
        5, description="Consecutive rejects that move the engine to HALTED."
    )
    breaker_max_broker_latency_ms: PositiveFloat = Field(
        2000.0, description="Broker latency that moves the engine to REDUCING."
    )
    breaker_max_data_staleness_s: PositiveFloat = Field(
        120.0, description="Market data older than this halts new orders and cancels children."
    )
    breaker_cooldown_s: float = Field(
        300.0, ge=0, description="Cool-down before an automatic recovery; 0 = manual only."
    )
    breaker_cancel_on_halt: bool = Field(True, description="Cancel open orders when a "
                                         "breaker trips to HALTED (a halt asked for — kill "
                                         "switch, daily-loss 'halt' — always cancels).")
    price_collar_pct: PositiveFloat = Field(
        0.05, description="Reject limit prices further than this from the last price."
    )
    max_order_notional: PositiveFloat = Field(250_000.0, description="Max child order notional $.")
    max_orders_per_second: PositiveFloat = Field(
        2.0, description="Token-bucket rate (Tiger paper: 120 place/modify/cancel per minute)."
    )
    order_burst: PositiveInt = Field(10, description="Token-bucket burst size.")
    parent_idle_bars: PositiveInt = Field(
        5, description="A parent that sends no child for this many open-market bars is "
        "logged with the reason (and shown by the status endpoint).")
    latency_bars: Annotated[int, Field(ge=1)] = Field(
        1, description="Bars between decision and first possible fill (no look-ahead: >= 1)."
    )
    journal_path: Path = Field(Path("data/journal"), description="Folder of SQLite journals.")
    journal_synchronous: Literal["FULL", "NORMAL"] = Field(
        "NORMAL",
        description="SQLite synchronous mode of the live journal (WAL). NORMAL: every commit "
        "survives any process crash (SIGKILL included), which is what the engine's recovery "
        "needs, but the last commits may roll back on an OS crash or power loss; restart "
        "reconciliation then finds orders at the broker the journal does not know and refuses "
        "to trade on the mismatch (it never re-sends blindly). FULL: every commit is fsync'd "
        "(power-loss durable), at the cost of one disk flush inside every bar that sends "
        "orders (benchmarks/bench_live.py, 2-core dev VM: 0.4-0.8 ms median, 1-3.5 ms p99, "
        "~10 ms p99 when other jobs load the disk).",
    )


class SimulationSettings(_Group):
    """The simulated market's response model: deliberately separate from CostSettings."""

    impact_y: PositiveFloat = Field(
        0.8, description="Square-root temporary impact coefficient of the simulated market."
    )
    permanent_impact: float = Field(
        1.0, ge=0,
        description="Permanent impact: the price moves by this x daily vol x (net shares / ADV), "
        "linear so it cannot depend on how an order is sliced (Almgren et al. 2005: "
        "0.314 x turnover^1/4, about 1.2 for a large cap).",
    )
    limit_fill_rule: Literal["touch", "through"] = Field(
        "through", description="A limit fills when the market touches it or trades through it."
    )
    limit_volume_share: Fraction = Field(
        0.05, description="Max share of a bar's volume a resting limit order can take."
    )
    max_participation: Fraction = Field(
        0.10, description="Max share of a bar's volume any order can take (zipline: 2.5-10%)."
    )
    spread_source: SpreadSource = Field(
        "quotes", description="Half spread paid: quotes when present, else this bar estimator."
    )
    seed: int = Field(3, description="Seed of the simulated market, recorded with each run; "
                      "its default response model draws nothing at random (fills follow from "
                      "the bars), so no number depends on it today.")


class TigerSettings(_Group):
    """Tiger Brokers credentials and endpoints. Secrets are SecretStr and never printed."""

    tiger_id: str = Field("", description="Developer id (tiger_id) issued by Tiger.")
    account: SecretStr = Field(SecretStr(""), description="Trading account id.")
    license: str = Field("TBNZ", description="License entity, e.g. TBNZ, TBSG, TBUS.")
    private_key: SecretStr = Field(SecretStr(""), description="RSA private key (PKCS#1 text).")
    private_key_path: Path | None = Field(None, description="File holding the private key.")
    server_url: str = Field("https://openapi.tigerfintech.com/gateway", description="Trade URL.")
    quote_server_url: str = Field(
        "https://openapi.tigerfintech.com/gateway", description="Quote URL."
    )
    paper: bool = Field(True, description="Trade the paper account.")
    timeout_s: PositiveFloat = Field(15.0, description="HTTP timeout of one Tiger call.")
    place_per_minute: PositiveInt = Field(
        120, description="Client-side cap on place/modify/cancel (paper account: 120/min)."
    )


class TrackingSettings(_Group):
    """Experiment tracking (MLflow) and promotion."""

    mlflow_tracking_uri: str = Field(
        "sqlite:///mlruns/mlflow.db", description="MLflow tracking URI; a server URL works too."
    )
    experiment: str = Field("qlab", description="MLflow experiment name.")
    registered_model: str = Field("qlab-execution", description="Registry name for promotion.")
    live_alias: str = Field("live", description="Alias that marks the promoted config.")


class Settings(BaseSettings):
    """Everything a qlab process reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="QLAB_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        hide_input_in_errors=True,
        validate_default=True,
        allow_inf_nan=False,
    )

    data: DataSettings = Field(default_factory=DataSettings)
    costs: CostSettings = Field(default_factory=CostSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    simulation: SimulationSettings = Field(default_factory=SimulationSettings)
    tiger: TigerSettings = Field(default_factory=TigerSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Settings from the environment and ``env_file``; keyword overrides win."""
    return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]


def settings_error_message(exc: ValidationError) -> str:
    """What a command prints when the environment / .env holds an invalid setting: every
    field path (``QLAB_<GROUP>__<FIELD>``) with its reason, never the rejected value."""
    lines = "\n".join(f"  {loc}: {msg}" for loc, msg in _error_list(exc))
    return f"invalid settings (environment / .env):\n{lines}"


def masked_settings(settings: Settings) -> dict[str, Any]:
    """JSON-ready effective settings with every secret shown as ``**********``."""
    return settings.model_dump(mode="json")  # SecretStr dumps as '**********' in json mode


# --------------------------------------------------------------------------- run configs
class UniverseConfig(_Group):
    dataset: str = Field("sp500_synthetic_minute", description="Dataset in the local store.")
    symbols: list[str] = Field(default_factory=list, description="Empty = every symbol.")
    start: str | None = Field(None, description="First date (YYYY-MM-DD), inclusive.")
    end: str | None = Field(None, description="Last date (YYYY-MM-DD), inclusive.")
    sectors: dict[str, str] = Field(
        default_factory=dict, description="Sector of each symbol the embedded GICS map "
        "(research.data.sectors, the 20 embedded names) lacks, or overrides: the sector limit, "
        "sector-neutral and optimised strategies and the sector attribution read it.")

    @field_validator("sectors")
    @classmethod
    def _sector_names(cls, v: dict[str, str]) -> dict[str, str]:
        cleaned = {str(k).strip().upper(): str(s).strip() for k, s in v.items()}
        empty = sorted(k for k, s in cleaned.items() if not k or not s)
        if empty:
            raise ValueError(f"sectors: empty symbol or sector name for {empty}")
        return cleaned

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        cleaned = [s.strip().upper() for s in v]
        if any(not s for s in cleaned):
            raise ValueError("symbols contains an empty symbol")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("symbols contains duplicates")
        return cleaned

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return None if value is None else parse_iso_date(value).isoformat()

    @model_validator(mode="after")
    def _ordered(self) -> UniverseConfig:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


#: Factor names of the multi-factor strategy (research.strategies.factor_scores).
FactorName = Literal["momentum", "low_volatility", "reversal"]


class MultiFactorParams(_Group):
    """``strategy.multi_factor``: cross-sectional factor scores from daily closes, z-scored,
    combined, and the top names held long only (research.strategies.MultiFactor)."""

    factor_weights: dict[FactorName, float] = Field(
        default_factory=lambda: {"momentum": 1.0, "low_volatility": 1.0, "reversal": 1.0},
        description="Weight of each factor's z-score in the combined score; a factor left out "
        "(or weighted 0) is not computed.")
    top_n: PositiveInt = Field(5, description="Names held: the top_n combined scores.")
    weighting: Literal["equal", "score"] = Field(
        "equal", description="'equal': 1/top_n each; 'score': in proportion to the positive "
        "part of the combined score (equal when no selected score is positive).")
    sector_neutral: bool = Field(
        False, description="z-score each factor within its GICS sector (research.data.sectors) "
        "instead of across the whole universe.")
    max_position_weight: Fraction | None = Field(
        None, description="Cap per name (excess re-spread over the uncapped names; cash if "
        "every name is capped); None = the run config's risk.max_position_weight.")
    momentum_days: PositiveInt = Field(252, description="12-1 momentum: the return from "
                                       "momentum_days to skip_days sessions before the decision.")
    skip_days: PositiveInt = Field(21, description="12-1 momentum skips the last month; the "
                                   "short-term reversal factor is the return over it.")
    volatility_days: PositiveInt = Field(63, description="Window of the low-volatility factor.")

    @field_validator("factor_weights")
    @classmethod
    def _some_factor(cls, weights: dict[str, float]) -> dict[str, float]:
        if not any(w != 0 for w in weights.values()):
            raise ValueError("at least one factor needs a non-zero weight")
        return weights

    @model_validator(mode="after")
    def _skip_inside_momentum(self) -> MultiFactorParams:
        if self.skip_days >= self.momentum_days:
            raise ValueError(f"skip_days ({self.skip_days}) must be below momentum_days "
                             f"({self.momentum_days})")
        return self


class OptimisedParams(_Group):
    """``strategy.optimised``: a long-only, fully invested portfolio from a convex programme on
    the Ledoit-Wolf covariance with the run config's position and sector limits as constraints
    and a turnover penalty (research.strategies.OptimisedPortfolio)."""

    objective: Literal["min_variance", "mean_variance", "max_sharpe"] = "min_variance"
    return_lookback_days: PositiveInt = Field(
        252, description="Expected returns (mean_variance, max_sharpe): the mean daily return "
        "over this many past sessions (a naive estimate; say so when reporting).")
    risk_aversion: PositiveFloat = Field(
        5.0, description="mean_variance: gamma of mu'w - gamma/2 w'Sigma w (both over the "
        "holding period).")
    turnover_cost_bps: float = Field(
        10.0, ge=0, description="Turnover penalty per unit of weight traded, bps of NAV, when no "
        "cost-model estimate is passed; with a fitted cost model the loop passes each name's "
        "predicted cost instead.")


class RiskBudgetParams(_Group):
    """``strategy.risk_budget``: long-only weights whose volatility contributions match the
    budgets (Spinu 2013, research.risk.risk_budget_weights) on the Ledoit-Wolf covariance."""

    budgets: dict[str, PositiveFloat] | None = Field(
        None, description="Symbol -> budget (renormalised over the names with a full lookback "
        "window); None = equal budgets (risk parity).")

    @field_validator("budgets")
    @classmethod
    def _upper(cls, budgets: dict[str, float] | None) -> dict[str, float] | None:
        return None if budgets is None else {k.strip().upper(): v for k, v in budgets.items()}


#: Kinds of ``strategy.kind`` and the sub-model each may carry.
_KIND_PARAMS = {"multi_factor": "multi_factor", "optimised": "optimised",
                "risk_parity": None, "risk_budget": "risk_budget"}


class StrategyConfig(_Group):
    """The portfolio strategy. Kind-specific parameters live in a sub-model named after the
    kind (``multi_factor:``, ``optimised:``, ``risk_budget:``), allowed only with that kind;
    ``lookback_days`` is the covariance / volatility window of inverse_volatility, optimised,
    risk_parity and risk_budget."""

    kind: Literal["inverse_volatility", "equal_weight", "buy_and_hold", "multi_factor",
                  "optimised", "risk_parity", "risk_budget"] = "inverse_volatility"
    rebalance: Literal["daily", "weekly", "monthly"] = "monthly"
    rebalance_every_sessions: PositiveInt | None = Field(
        None, description="Rebalance every N exchange sessions instead of on `rebalance`'s "
        "calendar: on the sessions whose count from universe.start (session 0) is a multiple "
        "of N, whatever window a run trades (the schedule is the config's, not the run's).")
    lookback_days: PositiveInt = 63
    capital: PositiveFloat = Field(10_000_000.0, description="Portfolio NAV in dollars.")
    multi_factor: MultiFactorParams | None = None
    optimised: OptimisedParams | None = None
    risk_budget: RiskBudgetParams | None = None
    no_trade_band: Literal["off", "cost_aware"] = Field(
        "off", description="'cost_aware': a rebalance skips a name's trade when its expected "
        "benefit (|target - current weight| x NAV x no_trade_benefit_bps) does not exceed the "
        "cost model's predicted cost of that order (research.trading.rebalance.cost_aware_trade);"
        " needs a fitted cost model. 'off' (default): every trade is sent.")
    no_trade_benefit_bps: PositiveFloat = Field(
        50.0, description="Expected benefit of moving one unit of weight to its target, bps of "
        "the traded notional (the excess return the strategy expects of its target over the "
        "rebalance period): a trade whose predicted cost is above it is skipped.")

    @model_validator(mode="after")
    def _params_match_kind(self) -> StrategyConfig:
        for name in ("multi_factor", "optimised", "risk_budget"):
            if getattr(self, name) is not None and _KIND_PARAMS.get(self.kind) != name:
                raise ValueError(f"strategy.{name} is given but strategy.kind is {self.kind!r} "
                                 f"(set kind: {name} or remove the {name} block)")
        return self


class ExecutionPolicy(_Group):
    """How each parent order is worked; every algorithm parameter lives here (see
    :mod:`research.trading.algorithm_params` for how each is used)."""

    algorithm: Algorithm = Algorithm.TWAP
    horizon_minutes: PositiveInt = 60
    limit_offset_bps: float = Field(0.0, description="Limit distance from the mid, bps "
                                    "(positive = passive).")
    limit_fallback_to_market: bool = True
    limit_cleanup_minutes: Annotated[int, Field(ge=0)] = Field(
        5, description="Last minutes of the horizon in which an unfilled limit is cancelled "
        "(and the rest sent at market when limit_fallback_to_market).")
    pov_rate: Annotated[float, Field(gt=0, le=1)] = 0.10
    risk_aversion: float = Field(1e-6, ge=0, description="IS: Almgren-Chriss lambda ($^-1).")
    is_impact_y: PositiveFloat = Field(
        0.7, description="IS: square-root impact coefficient the schedule assumes (the "
        "execution's belief, apart from the cost model that predicts).")
    max_child_fee_bps: PositiveFloat | None = Field(
        None, description="Fee-aware slicing (TWAP, VWAP, POV, IS): the most fees a child "
        "order may cost, bps of its notional. From the run's fee schedule (per-order minimums) "
        "it gives a minimum child size, the shares below which a child's fees exceed this; the "
        "algorithm sends no smaller child except the parent's last remainder (a child is "
        "brought forward to that size, never ahead of the parent's quantity). None (default): "
        "off, every slice is sent as scheduled, so replays of existing configs do not change; "
        "with Tiger's ~$2 of per-order minimums, 5 bps means children of at least ~$4,000.")


class CostModelChoice(_Group):
    impact_law: ImpactLaw = "square_root"
    spread_source: SpreadSource = "quotes"
    fee_schedule: str = "tiger_us"
    calibration_file: Path | None = None

    @field_validator("fee_schedule")
    @classmethod
    def _known_fee_schedule(cls, name: str) -> str:
        return check_fee_schedule(name)


def check_fee_schedule(name: str) -> str:
    """``name`` if the cost model can price with it (the schedules file or flat_bps)."""
    from research.costs import load_fee_schedules

    known = sorted({*load_fee_schedules(), "flat_bps"})
    if name not in known:
        raise ValueError(f"unknown fee schedule {name!r}; known: {', '.join(known)}")
    return name


def parse_iso_date(value: Any):
    """A calendar date from ``YYYY-MM-DD`` text (or a date YAML already parsed); a month 13 or
    a 31 February is an error, never rolled over."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD") from None


class ValidationPolicy(_Group):
    """What the config's author declares acceptable in its validation replay (``qlab
    validate-run``); the promotion gates hold the replay to it."""

    max_limit_binds_per_year: Annotated[float, Field(ge=0)] = Field(
        24.0, description="Most risk-limit binds a year the replay may show: distinct (session, "
        "symbol, limit) trims or refusals — a limit that binds every rebalance of a monthly "
        "book on two names is 24. More means the limits, not the strategy, shape the book.")


class RunConfig(_Group):
    """A study or deployment: the unit that is validated, tracked and promoted."""

    name: str = Field(..., min_length=1)
    universe: UniverseConfig = Field(default_factory=UniverseConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    execution: ExecutionPolicy = Field(default_factory=ExecutionPolicy)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    cost_model: CostModelChoice = Field(default_factory=CostModelChoice)
    validation: ValidationPolicy = Field(default_factory=ValidationPolicy)
    seed: int = 0

    @model_validator(mode="after")
    def _limits_consistent(self) -> RunConfig:
        if self.risk.max_position_weight > self.risk.max_sector_weight:
            raise ValueError("risk.max_position_weight cannot exceed risk.max_sector_weight")
        if self.strategy.rebalance_every_sessions is not None and self.universe.start is None:
            raise ValueError("strategy.rebalance_every_sessions counts sessions from "
                             "universe.start: give universe.start")
        budgets = self.strategy.risk_budget.budgets if self.strategy.risk_budget else None
        if budgets is not None and self.universe.symbols:
            unknown = sorted(set(budgets) - set(self.universe.symbols))
            if unknown:
                raise ValueError(f"strategy.risk_budget.budgets names {unknown}, not in "
                                 "universe.symbols")
        return self


class ConfigFileError(ValueError):
    """A config file is unreadable or invalid; ``errors`` lists (field path, reason)."""

    def __init__(self, path: Path, errors: list[tuple[str, str]]):
        self.path = path
        self.errors = errors
        lines = "\n".join(f"  {loc}: {msg}" for loc, msg in errors)
        super().__init__(f"{path}: {len(errors)} error(s)\n{lines}")


def _error_list(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        out.append((loc, err["msg"]))
    return out


def _strict_yaml_loader(dates_as_text: bool):
    """A SafeLoader that refuses duplicate keys (YAML keeps the last one silently) and, with
    ``dates_as_text``, leaves ``2022-03-01`` a string for a typed model to interpret."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping_without_duplicates(loader, node, deep=False):
        loader.flatten_mapping(node)
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                seen = key in first_line
            except TypeError:  # an unhashable key; the base constructor reports it
                continue
            if seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line "
                    f"{first_line[key] + 1})", key_node.start_mark)
            first_line[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 mapping_without_duplicates)
    if dates_as_text:
        StrictLoader.yaml_implicit_resolvers = {
            k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
            for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
    return StrictLoader


def read_yaml_file(path: str | Path, *, dates_as_text: bool = False) -> Any:
    """Parse a YAML (or JSON) file; every failure is a :class:`ConfigFileError` naming the
    file and, where there is one, the line: missing file, directory, not UTF-8, bad YAML,
    duplicate key."""
    import yaml

    path = Path(path)
    if path.is_dir():
        raise ConfigFileError(path, [("(file)", "is a directory, expected a YAML file")])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(path, [("(file)", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, [("(file)", f"not UTF-8 text (byte {exc.start}); save "
                                      "it as UTF-8")]) from None
    except OSError as exc:
        raise ConfigFileError(path, [("(file)", f"cannot be read: {exc.strerror}")]) from None
    try:
        return yaml.load(text, Loader=_strict_yaml_loader(dates_as_text))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ConfigFileError(path, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None


def load_run_config(path: str | Path,
                    known_datasets: Mapping[str, Sequence[str]] | None = None) -> RunConfig:
    """Read and validate a YAML run config; raise :class:`ConfigFileError` listing every error.

    With ``known_datasets`` (dataset name -> its symbols, e.g. from
    ``research.data.known_bar_datasets``) the config is also checked against what exists: the
    dataset, every universe symbol in it and the calibration file.
    """
    path = Path(path)
    raw = read_yaml_file(path, dates_as_text=True)  # dates are checked by the model
    if not isinstance(raw, dict):
        raise ConfigFileError(path, [("(root)", "expected a mapping of keys to values")])
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(path, _error_list(exc)) from None
    if known_datasets is not None:
        problems = run_config_reference_errors(config, known_datasets)
        if problems:
            raise ConfigFileError(path, problems)
    return config


def run_config_reference_errors(config: RunConfig, known_datasets: Mapping[str, Sequence[str]]
                                ) -> list[tuple[str, str]]:
    """(field path, reason) for every name in ``config`` that points at nothing: the dataset,
    universe symbols missing from it, a calibration file that does not exist."""
    problems = []
    universe = config.universe
    if universe.dataset not in known_datasets:
        known = ", ".join(sorted(known_datasets)) or "none"
        problems.append(("universe.dataset", f"unknown dataset {universe.dataset!r} (known: "
                                             f"{known}; add one with `qlab data import`)"))
    else:
        have = set(known_datasets[universe.dataset])
        missing = [s for s in universe.symbols if s not in have]
        if missing:
            problems.append(("universe.symbols", f"{missing} not in dataset "
                                                 f"{universe.dataset!r}"))
        # every traded name needs a sector (the sector limit, sector-aware strategies, the
        # attribution): one the data has but no map names would stop the run at its start
        from research.data.sectors import sector_map

        known_sectors = sector_map(universe.sectors)
        names = universe.symbols or list(have)
        unsectored = [s for s in names if s in have and s not in known_sectors]
        if unsectored:
            problems.append(("universe.sectors", f"no sector for {unsectored}: name them here "
                                                 "(symbol: sector); the embedded GICS map "
                                                 "covers the 20 embedded names only"))
    calibration = config.cost_model.calibration_file
    if calibration is not None and not calibration.is_file():
        problems.append(("cost_model.calibration_file", f"no such file: {calibration}"))
    return problems


def env_example() -> str:
    """The text of ``.env.example``: every setting with its description and default.

    Generated from the models so it cannot drift; a test compares it with the committed file.
    """
    lines = [
        "# qlab settings. Copy to .env and uncomment what you change. Every variable is",
        "# QLAB_<GROUP>__<FIELD>; values shown are the defaults. Regenerate with",
        "#   python -c 'from research.config import env_example; print(env_example(), end=\"\")'",
        "",
    ]
    for group_name, group_field in Settings.model_fields.items():
        model = group_field.default_factory  # each group is a model class
        lines.append(f"# --- {group_name}: {(model.__doc__ or '').strip().splitlines()[0]}")
        for name, field in model.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, SecretStr):
                default = ""
            elif isinstance(default, dict):
                default = "{}" if not default else default
            elif default is None:
                default = ""
            lines.append(f"# {field.description}")
            lines.append(f"# QLAB_{group_name.upper()}__{name.upper()}={default}")
        lines.append("")
    return "\n".join(lines)
