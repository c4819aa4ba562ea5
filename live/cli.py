"""Commands of the live world: ``qlab promote``, ``qlab live`` and ``qlab data fetch`` (bars
from a broker's quote API; research must not import live, so the command lives here and
``qlab/cli.py`` mounts it in the ``data`` group beside research's).

``python -m live`` runs ``live`` alone. Only typer is imported at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import fail


def promote(
    run_id: Annotated[str | None, typer.Argument(help="MLflow run id to promote.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show the promotion history.")] = False,
    gates: Annotated[Path | None, typer.Option("--gates", help="YAML of gate thresholds "
                                               "(keys of GateThresholds); recorded with the "
                                               "version and re-checked by `qlab live`.")
                     ] = None,
) -> None:
    """Promote a validated run's config to `@live` if every gate passes: prints the evidence
    table (gate, value, threshold, pass or fail) and where the evidence is kept."""
    from live.promotion import (
        GateFailure,
        PromotionError,
        check_run,
        evidence_artifacts,
        promotion_history,
    )
    from live.promotion import promote as do_promote
    from research.config import load_settings
    from research.promotion import GateThresholdsError, load_thresholds

    settings = load_settings()
    if list_:
        rows = promotion_history(settings)
        if not rows:
            typer.echo("no promoted versions")
        for r in rows:
            typer.echo(f"v{r['version']:>3}  run {r['run_id']}  hash {r['config_hash'][:12]}  "
                       f"{r['promoted_at']}  {r['config_name']}  "
                       f"{','.join('@' + a for a in r['aliases'])}")
        return
    if not run_id:
        fail("qlab promote: give a RUN_ID (or --list)", 2)
    try:
        thresholds = load_thresholds(gates)
        results = check_run(run_id, settings, thresholds)
    except (PromotionError, GateThresholdsError) as exc:
        fail(f"promotion refused: {exc}", 1)
    typer.echo(f"evidence of run {run_id}:")
    typer.echo(f"  {'gate':<20} {'value':>12}  {'verdict':<7} threshold")
    for r in results:
        value = "missing" if r.measured is None else f"{r.measured:.6g}"
        typer.echo(f"  {r.gate:<20} {value:>12}  {'PASS' if r.passed else 'FAIL':<7} "
                   f"{r.threshold}")
    for path in evidence_artifacts(run_id, settings):
        typer.echo(f"  evidence: {path}")
    try:
        lc = do_promote(run_id, settings, thresholds)
    except GateFailure as exc:
        fail(f"promotion refused: {exc}", 1)
    except PromotionError as exc:
        fail(f"promotion refused: {exc}", 1)
    typer.echo(f"promoted run {run_id} as {settings.tracking.registered_model} version "
               f"{lc.version} @{settings.tracking.live_alias} (config hash {lc.config_hash[:12]})")


#: The simulated venue ``--replay`` trades against; set by the composition root (qlab/cli.py),
#: since live never imports the simulated world.
_replay_venue = None


def set_replay_venue(factory) -> None:
    """Give ``qlab live --replay`` its simulated venue (``factory(config, settings, dataset,
    since)``)."""
    global _replay_venue
    _replay_venue = factory


def live(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and log; send nothing to "
                                          "Tiger.")] = False,
    replay: Annotated[str | None, typer.Option(
        "--replay", help="With --dry-run: trade recorded minute bars (a dataset, e.g. "
        "sp500_synthetic_minute, or a file) through the simulated broker, offline, no Tiger "
        "credentials needed; --since picks the first session.")] = None,
    paper: Annotated[bool, typer.Option("--paper", help="Trade the Tiger paper account.")
                     ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Run config file (only with "
                                                "--dry-run; otherwise @live is used).")] = None,
    bars: Annotated[int | None, typer.Option("--bars", help="Stop after N bars.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First session of minute bars "
                                              "(default today).")] = None,
    idle_polls: Annotated[int, typer.Option("--idle-polls", help="Stop after N polls without "
                                            "a new bar (0: never).")] = 0,
    poll_s: Annotated[float, typer.Option("--poll-s", help="Seconds between bar polls.")] = 5.0,
    kill_file: Annotated[Path | None, typer.Option("--kill-file", help="Halt when this file "
                                                   "exists.")] = None,
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", help="Prometheus port on "
                                                     "127.0.0.1 (0: any).")] = None,
    status_port: Annotated[int | None, typer.Option("--status-port", help="JSON status port on "
                                                    "127.0.0.1 (0: any).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Journal / order-id prefix.")
                      ] = None,
    tiger_public_key: Annotated[Path | None, typer.Option(
        "--tiger-public-key-file", help="Gateway response key (sandbox/test gateways).",
        hidden=True)] = None,
) -> None:
    """Trade the promoted config through Tiger (or --dry-run any config)."""
    from live.main import LiveStartError, run_live

    try:
        n = run_live(dry_run=dry_run, paper=paper, config_path=config, max_bars=bars,
                     since=since, idle_polls=idle_polls, poll_s=poll_s, kill_file=kill_file,
                     metrics_port=metrics_port, status_port=status_port, run_id=run_id,
                     tiger_public_key_file=tiger_public_key, replay=replay,
                     replay_venue=_replay_venue)
    except LiveStartError as exc:
        fail(f"qlab live: {exc}", 1)
    typer.echo(f"qlab live: {n} bar(s) processed")


#: Bar sources ``qlab data fetch --source`` knows.
FETCH_SOURCES = ("tiger",)
#: Times one k-line page is re-asked after Tiger throttles it (waits double each time).
FETCH_RATE_LIMIT_RETRIES = 5
_TIGER_CREDENTIALS_HELP = (
    "QLAB_TIGER__TIGER_ID, QLAB_TIGER__ACCOUNT and QLAB_TIGER__PRIVATE_KEY_PATH (a key file) "
    "or QLAB_TIGER__PRIVATE_KEY, in the environment or .env"
)


def _parse_symbols(text: str) -> list[str]:
    symbols: list[str] = []
    for part in text.split(","):
        sym = part.strip().upper()
        if sym and sym not in symbols:
            symbols.append(sym)
    if not symbols:
        fail("qlab data fetch: --symbols is empty (e.g. --symbols AAPL,MSFT)", 2)
    return symbols


def _parse_day(option: str, text: str):
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"qlab data fetch: {option} must be a date YYYY-MM-DD, got {text!r}", 2)


def _missing_tiger_credentials(tiger) -> list[str]:
    """Environment variables of the Tiger credentials that are not set (names only)."""
    missing = []
    if not tiger.tiger_id:
        missing.append("QLAB_TIGER__TIGER_ID")
    if not tiger.account.get_secret_value():
        missing.append("QLAB_TIGER__ACCOUNT")
    if not tiger.private_key.get_secret_value() and tiger.private_key_path is None:
        missing.append("QLAB_TIGER__PRIVATE_KEY_PATH (or QLAB_TIGER__PRIVATE_KEY)")
    return missing


def data_fetch(
    source: Annotated[str, typer.Option("--source", help=f"Where the bars come from: "
                                        f"{', '.join(FETCH_SOURCES)}.")],
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated symbols, e.g. "
                                         "AAPL,MSFT.")],
    start: Annotated[str, typer.Option("--start", help="First session, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last session, YYYY-MM-DD (inclusive).")],
    frequency: Annotated[str, typer.Option("--frequency", help="1d (daily) or 1min (minute).")
                         ] = "1d",
    adjust: Annotated[str | None, typer.Option(
        "--adjust", help="Prices: nr = raw, as traded (default for 1min); br = forward-adjusted "
        "for splits and dividends as of the fetch day (default for 1d).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (default: "
                                             "SOURCE_daily / SOURCE_minute).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing dataset.")
                       ] = False,
    tiger_public_key: Annotated[Path | None, typer.Option(
        "--tiger-public-key-file", help="Gateway response key (sandbox/test gateways).",
        hidden=True)] = None,
) -> None:
    """Download bars from a broker's quote API, validate them and add them to the store.

    Tiger: k-lines through tigeropen with the credentials of qlab's settings, paced by
    Tiger's k-line limit (60 requests a minute). Minute bars are raw by default: per-share
    fees and minimums, the $1 tick-size threshold and %ADV need the prices that traded.
    Daily bars are forward-adjusted by default: they feed returns (risk model, strategy
    weights, volatility), where a split in raw closes reads as a crash. Forward-adjusted
    history changes with every later split or dividend, so the dataset's source records which
    was fetched, and for br the fetch day.
    On any error the store is left untouched.
    """
    import sys
    from datetime import date

    from pydantic import ValidationError

    from research.config import load_settings
    from research.data.schema import Frequency

    if source.strip().lower() not in FETCH_SOURCES:
        fail(f"qlab data fetch: unknown source {source!r}; known sources: "
              f"{', '.join(FETCH_SOURCES)} (files: `qlab data import FILE`)", 2)
    wanted = _parse_symbols(symbols)
    first, last = _parse_day("--start", start), _parse_day("--end", end)
    if first > last:
        fail(f"qlab data fetch: --start {first} is after --end {last}", 2)
    try:
        freq = Frequency.parse(frequency)
    except ValueError:
        fail(f"qlab data fetch: --frequency must be 1d or 1min, got {frequency!r}", 2)
    adjust = (adjust or ("br" if freq is Frequency.DAILY else "nr")).strip().lower()
    if adjust not in ("nr", "br"):  # Tiger's k-line `right` (tigeropen QuoteRight)
        fail(f"qlab data fetch: --adjust must be nr (raw) or br (forward-adjusted), got "
              f"{adjust!r}", 2)
    name = name or f"tiger_{freq.value}"
    try:
        settings = load_settings()
    except ValidationError as exc:
        lines = "\n".join(f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(f"invalid settings (environment / .env):\n{lines}", 2)
    missing = _missing_tiger_credentials(settings.tiger)
    if missing:
        fail(f"qlab data fetch: Tiger credentials missing: set {', '.join(missing)} "
              f"(all of: {_TIGER_CREDENTIALS_HELP})", 2)

    from research.data import BarStore

    store = BarStore(settings.data.store_path)
    if store.exists(name) and not replace:  # before spending any of the k-line budget
        fail(f"qlab data fetch: dataset {name!r} exists in {store.root}; pass --replace or "
              "--name", 1)
    bars = _fetch_tiger_bars(settings, wanted, first, last, freq, adjust, tiger_public_key,
                             progress=sys.stderr.isatty())
    # forward-adjusted prices are only defined relative to the day they were fetched
    prices = "raw (right=nr)" if adjust == "nr" else (
        f"forward-adjusted (right=br) as of {date.today().isoformat()}")
    try:
        info = store.write(name, bars, source=f"tiger kline {freq.value} {prices} "
                           f"{first}..{last}", synthetic=False, frequency=freq,
                           replace=replace)
    except (ValueError, FileExistsError) as exc:  # BarValidationError is a ValueError
        fail(f"qlab data fetch: {exc}\nnothing written", 1)
    typer.echo(f"fetched {info.rows} rows, {len(info.symbols)} symbol(s) from Tiger as dataset "
               f"{info.name!r} ({info.frequency}, {info.start} .. {info.end}) in {store.root}")


def _fetch_tiger_bars(settings, symbols: list[str], first, last, freq, adjust: str,
                      public_key_file: Path | None, progress: bool):
    """Validated bars of every symbol (one k-line download per symbol), or exit with a clear
    message; messages from Tiger go through the session's redactor (key, account)."""
    import sys

    import pandas as pd

    from live.tiger import (
        TIGER_PRODUCTION_PUBLIC_KEY,
        QuotePermissionDenied,
        TigerAuthError,
        TigerBarSource,
        TigerConfigError,
        TigerSession,
    )
    from live.tiger.bars import NoBarsError
    from research.execution.errors import BrokerUnavailable, RateLimited, Rejected

    tiger = settings.tiger
    public = (public_key_file.read_text().strip() if public_key_file
              else TIGER_PRODUCTION_PUBLIC_KEY)
    try:
        session = TigerSession(tiger, tiger_public_key=public)
    except TigerConfigError as exc:
        fail(f"qlab data fetch: Tiger settings: {exc}", 2)
    source = TigerBarSource(session, freq, adjust=adjust,
                            rate_limit_retries=FETCH_RATE_LIMIT_RETRIES)
    iterator = symbols
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(symbols, desc="tiger kline", unit="symbol", file=sys.stderr)
    frames, empty = [], []
    for sym in iterator:
        if progress:
            iterator.set_postfix_str(sym)
        try:
            frames.append(source.load([sym], first, last))
        except NoBarsError:
            empty.append(sym)  # keep going: name every unknown symbol at once
        except TigerAuthError as exc:
            fail(session.redact(
                f"qlab data fetch: Tiger refused the credentials (code {exc.code}): {exc}\n"
                f"check QLAB_TIGER__TIGER_ID and that the private key is the one registered "
                f"with Tiger for it (QLAB_TIGER__PRIVATE_KEY_PATH / QLAB_TIGER__PRIVATE_KEY)"), 1)
        except QuotePermissionDenied as exc:
            fail(session.redact(f"qlab data fetch: Tiger denied market data (code {exc.code}):"
                                 f" {exc}; the account needs a US quote subscription"), 1)
        except RateLimited as exc:
            fail(session.redact(
                f"qlab data fetch: Tiger kept rate-limiting k-line requests after "
                f"{FETCH_RATE_LIMIT_RETRIES} back-offs ({exc}); wait a minute and retry"), 1)
        except Rejected as exc:
            fail(session.redact(f"qlab data fetch: Tiger rejected the k-line request for {sym} "
                                 f"(code {exc.code}): {exc.reason}\nnothing written"), 1)
        except BrokerUnavailable as exc:
            fail(session.redact(f"qlab data fetch: cannot reach Tiger's quote server "
                                 f"{tiger.quote_server_url}: {exc}\nnothing written"), 1)
        except ValueError as exc:  # bars that fail validation, too many pages
            fail(session.redact(f"qlab data fetch: {sym}: {exc}\nnothing written"), 1)
    if empty:
        fail(f"qlab data fetch: Tiger returned no {freq.value} bars for {', '.join(empty)} "
              f"between {first} and {last}: unknown symbol(s), or no trading session in the "
              "range\nnothing written", 1)
    return pd.concat(frames, ignore_index=True)


live_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
live_app.command()(live)
