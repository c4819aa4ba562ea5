"""Assembling a live run from settings: the config from ``@live`` (or a file, dry-run only),
the Tiger session, bars, monitoring and the :class:`live.runner.LiveRunner`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd


class LiveStartError(RuntimeError):
    """The live process refuses to start (message names why; it never contains a secret)."""


def _mode(dry_run: bool, paper: bool, settings: Any) -> str:
    if dry_run:
        return "dry-run"
    if paper and not settings.tiger.paper:
        raise LiveStartError("--paper given but settings.tiger.paper is false (a live account)")
    if not paper and settings.tiger.paper:
        raise LiveStartError("live mode needs settings.tiger.paper=false; use --paper for the "
                             "paper account or --dry-run")
    return "paper" if paper else "live"


def _check_account_kind(mode: str, settings: Any) -> None:
    """Refuse when the account is not the kind the mode trades: ``--paper`` with a real
    account, or a live run with a paper account.

    Why: the flag and ``settings.tiger.paper`` only state an intent; the account id decides
    where orders go, so a real account under ``--paper`` traded real money. The account is
    never named (a secret); an empty one is left to the credentials check that names it."""
    from live.tiger.config import is_paper_account

    account = settings.tiger.account.get_secret_value()
    if mode not in ("paper", "live") or not account:
        return
    paper_account = is_paper_account(account)
    if mode == "paper" and not paper_account:
        raise LiveStartError(
            "--paper given but the configured account (QLAB_TIGER__ACCOUNT) is not a Tiger "
            "paper account (tigeropen treats only all-digit ids of 17 or more digits as "
            "paper): nothing was sent; set the paper account's id, or trade the real account "
            "with `qlab live` and QLAB_TIGER__PAPER=false")
    if mode == "live" and paper_account:
        raise LiveStartError(
            "live mode but the configured account (QLAB_TIGER__ACCOUNT) is a Tiger paper "
            "account (an all-digit id of 17 or more digits, by tigeropen's rule): use "
            "--paper for it, or set the real account's id")


def _broker_failure(exc: Exception, settings: Any) -> str:
    """One line saying what Tiger refused and what to check, for a broker error at start-up
    (as ``qlab data fetch`` reports the same errors). The caller redacts it."""
    from live.tiger.errors import QuotePermissionDenied, TigerAuthError
    from research.execution.errors import BrokerUnavailable, RateLimited, Rejected

    if isinstance(exc, TigerAuthError):
        return (f"Tiger refused the credentials (code {exc.code}): {exc}; check "
                "QLAB_TIGER__TIGER_ID and that the private key (QLAB_TIGER__PRIVATE_KEY_PATH / "
                "QLAB_TIGER__PRIVATE_KEY) is the one registered with Tiger for it")
    if isinstance(exc, QuotePermissionDenied):
        return (f"Tiger denied market data (code {exc.code}): {exc}; the account needs a US "
                "quote subscription")
    if isinstance(exc, Rejected) and exc.code == "1010":
        return (f"Tiger refused the request (code 1010): {exc.reason}; check that "
                "QLAB_TIGER__ACCOUNT is an account this tiger_id may trade")
    if isinstance(exc, Rejected):
        return f"Tiger refused the request (code {exc.code}): {exc.reason}"
    if isinstance(exc, RateLimited):
        return f"Tiger rate-limited the start-up ({exc}); wait a minute and start again"
    if isinstance(exc, BrokerUnavailable):
        return f"cannot reach Tiger at {settings.tiger.server_url}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def run_live(*, dry_run: bool = False, paper: bool = False, config_path: Path | None = None,
             max_bars: int | None = None, since: str | None = None, idle_polls: int = 0,
             poll_s: float = 5.0, kill_file: Path | None = None, metrics_port: int | None = None,
             status_port: int | None = None, run_id: str | None = None,
             tiger_public_key_file: Path | None = None, settings: Any = None,
             stream: Any = None, replay: str | None = None,
             replay_venue: Any = None) -> int:
    """Assemble and run the live process; returns the bars processed. ``replay`` (dry run
    only): recorded minute bars to trade instead of Tiger's, through ``replay_venue(config,
    settings, replay, since)`` — a simulated venue the composition root supplies (live never
    imports the simulated world): it returns an object with ``broker``, ``closes``,
    ``history``, ``first_session``, ``description`` and ``feed()``."""
    from live.feed import TigerBarFeed
    from live.monitoring import LiveMetrics, StatusEndpoint, make_logger
    from live.promotion import PromotionError, load_live_config
    from live.runner import LiveRunner, startup_heap_frozen
    from live.safety import DryRunBroker, KillSwitch
    from live.tiger import TIGER_PRODUCTION_PUBLIC_KEY, TigerBroker, TigerSession
    from live.tiger.bars import MAX_SYMBOLS_PER_REQUEST, TigerBarSource
    from live.tiger.config import TigerConfigError, private_key_body
    from research.config import ConfigFileError, load_run_config, load_settings
    from research.data.schema import EXCHANGE_TZ, Frequency
    from research.execution import ReconciliationError
    from research.execution.errors import BrokerError
    from research.promotion import config_hash

    settings = settings or load_settings()
    if replay is not None and not dry_run:
        raise LiveStartError("--replay trades recorded bars through the simulated broker: it "
                             "needs --dry-run")
    mode = _mode(dry_run, paper, settings)
    _check_account_kind(mode, settings)  # before the registry or Tiger is asked anything
    if replay is not None and replay_venue is None:
        raise LiveStartError("--replay needs the simulated venue, which `qlab live` supplies")
    if config_path is not None:
        if not dry_run:
            raise LiveStartError("--config is only allowed with --dry-run; paper and live trade "
                                 f"the promoted config ({settings.tracking.registered_model}"
                                 f"@{settings.tracking.live_alias}) only")
        try:
            config, version = load_run_config(config_path), "file"
        except ConfigFileError as exc:
            raise LiveStartError(str(exc)) from None
    else:
        try:
            lc = load_live_config(settings)
        except PromotionError as exc:
            raise LiveStartError(str(exc)) from None
        config, version = lc.config, lc.version
    if not config.universe.symbols:
        raise LiveStartError(f"config {config.name!r}: universe.symbols is empty; live trading "
                             "needs an explicit symbol list")
    symbols = tuple(config.universe.symbols)
    from research.costs import CostModel

    try:  # the run config's cost model (over the settings' defaults), checked before connecting
        cost_model = CostModel.for_run(config.cost_model, settings.costs)
    except ValueError as exc:
        raise LiveStartError(f"config {config.name!r}: {exc}") from None
    h = config_hash(config)
    run_id = run_id or f"{mode.replace('-', '')}-{config.name}-{h[:8]}"
    venue = None
    if replay is not None:  # offline: no credentials, no connection
        secrets: list[str] = []
        log = make_logger(run_id, secrets=secrets, stream=stream, mode=mode, config=config.name,
                          config_version=version, config_hash=h[:12])
        try:
            venue = replay_venue(config, settings, replay, since)
        except (OSError, ValueError) as exc:
            raise LiveStartError(str(exc)) from None
        broker: Any = venue.broker
        day, closes, fit_on = venue.first_session, venue.closes, venue.history
        redact = str
        log.info("replay", bars=venue.description,
                 effect="orders go to the simulated broker: nothing reaches Tiger")
    else:
        try:
            key = private_key_body(settings.tiger)
        except TigerConfigError as exc:
            raise LiveStartError(str(exc)) from None
        secrets = [settings.tiger.private_key.get_secret_value(), key,
                   settings.tiger.account.get_secret_value()]
        log = make_logger(run_id, secrets=secrets, stream=stream, mode=mode, config=config.name,
                          config_version=version, config_hash=h[:12])
        public = (tiger_public_key_file.read_text().strip() if tiger_public_key_file
                  else TIGER_PRODUCTION_PUBLIC_KEY)
        try:
            session = TigerSession(settings.tiger, tiger_public_key=public)
        except TigerConfigError as exc:
            raise LiveStartError(str(exc)) from None
        redact = session.redact
        broker = TigerBroker(session)
        if mode == "dry-run":
            broker = DryRunBroker(broker)
        day = pd.Timestamp(since) if since else pd.Timestamp.now(tz=EXCHANGE_TZ).normalize()
        day = day.tz_localize(None) if day.tzinfo else day
        history_days = int(max(config.strategy.lookback_days,
                               settings.risk.var_lookback_days) * 1.6)
        try:  # the first calls to Tiger: wrong credentials and accounts show here
            fit_on = TigerBarSource(session, Frequency.DAILY).load(
                list(symbols), start=day - pd.Timedelta(days=history_days),
                end=day - pd.Timedelta(days=1))
        except BrokerError as exc:
            raise LiveStartError(redact(_broker_failure(exc, settings))) from None
        except ValueError as exc:  # no bars, bars that fail validation
            raise LiveStartError(redact(f"daily history from Tiger: {exc}")) from None
        closes = fit_on.pivot(index="timestamp", columns="symbol", values="close")
        closes.index = closes.index.tz_localize(None).normalize()
    journal_dir = Path(settings.execution.journal_path) / ("dry-run" if dry_run else "")
    if dry_run:  # a dry run keeps no state between runs: nothing it "sent" exists anywhere
        shutil.rmtree(journal_dir, ignore_errors=True)
    try:  # the cost model sees only the bars before the first session
        cost_model.fit(fit_on)
    except ValueError as exc:
        raise LiveStartError(f"cost model could not be fitted on the bars before the first "
                             f"session: {exc}") from None
    metrics = LiveMetrics()
    runner = LiveRunner(config, settings, broker, closes, run_id=run_id, journal_dir=journal_dir,
                        mode=mode, kill_switch=KillSwitch(kill_file), logger=log,
                        metrics=metrics, cost_model=cost_model,
                        real_time=venue is None and day == pd.Timestamp.now(tz=EXCHANGE_TZ)
                        .tz_localize(None).normalize())
    servers = []
    if metrics_port is not None:
        server, _ = metrics.serve(metrics_port)
        servers.append(server)
        log.info("metrics_serving", port=server.server_address[1])
    if status_port is not None:
        ep = StatusEndpoint(runner.status, status_port).start()
        servers.append(ep)
        log.info("status_serving", url=ep.url)
    log.info("cost_model", impact_law=cost_model.impact_law,
             sqrt_impact_y=cost_model.sqrt_impact_y, spread_source=cost_model.spread_source,
             fee_schedule=str(cost_model.fee_schedule),
             calibration_file=str(config.cost_model.calibration_file or ""))
    log.info("starting", symbols=list(symbols), since=f"{day:%Y-%m-%d}")
    try:
        try:
            runner.start()
            runner.prepare_session(day)  # risk refit and targets before the first bar
        except ReconciliationError as exc:
            log.error("reconciliation_failed", error=str(exc))
            raise LiveStartError(redact(f"reconciliation with the broker failed: {exc}")
                                 ) from None
        except BrokerError as exc:  # e.g. the account is not this developer's (code 1010)
            why = redact(_broker_failure(exc, settings))
            log.error("start_failed", error=why)
            raise LiveStartError(why) from None
        feed = venue.feed() if venue is not None else TigerBarFeed(
            # today's minutes fit one page a symbol: one k-line request per 50 symbols a poll
            TigerBarSource(session, Frequency.MINUTE,
                           symbols_per_request=MAX_SYMBOLS_PER_REQUEST), symbols, poll_s=poll_s,
            idle_polls=idle_polls, since=day)
        with startup_heap_frozen():  # no 100 ms full GC pass inside a bar
            try:
                return runner.run(feed, max_bars=max_bars)
            except ReconciliationError as exc:  # e.g. a restart found a slice it never journaled
                log.error("reconciliation_failed", error=str(exc))
                raise LiveStartError(redact(
                    f"trading stopped, reconciliation with the broker failed: {exc}")) from None
            except BrokerError as exc:  # what the engine's retries could not cure
                why = redact(_broker_failure(exc, settings))
                log.error("trading_stopped", error=why)
                raise LiveStartError(f"trading stopped: {why}") from None
    finally:
        for s in servers:
            if hasattr(s, "stop"):
                s.stop()
            else:
                s.shutdown()
                s.server_close()
