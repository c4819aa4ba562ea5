"""A sweep's points: the grid's combinations times the seeded random draws, each applied to the
base run config and settings, validated, and named by a hash of everything that sets its
result.

A point carries its whole run config and its effective settings as JSON (not the varied values
alone): a worker on another machine rebuilds exactly the driver's inputs and never reads its
own environment for them, so results do not depend on where a point runs. The Tiger group
(credentials) and the tracking group (where results go) are neither hashed nor sent.

The config hash is the resume key: a point whose hash is already recorded as finished in the
sweep is not run again. It covers the task, the bars (their name and their content's hash),
the dates, the run config, the settings and the task options; the varied values are part of
those. The content matters because a file edited, or a dataset imported again with
``--replace``, keeps its name: keyed on the name alone, a re-run would report the old data's
results as current.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from research.config import RunConfig, Settings
from sim.sweep.spec import (
    VECTORBT_BARS,
    Distribution,
    SweepSpec,
    SweepSpecError,
    VectorbtOptions,
)

#: Settings groups that never reach a worker nor the hash (credentials, result locations).
PRIVATE_SETTINGS = {"tiger", "tracking"}


@dataclass(frozen=True)
class Point:
    """One configuration of the sweep. ``values``: the varied fields as validated (the model's
    canonical form, e.g. ``"twap"``); ``config``/``settings``/``options``: JSON of the run
    config, the effective settings (without credentials and tracking) and the task options."""

    index: int
    values: dict[str, Any]
    config: dict[str, Any]
    settings: dict[str, Any]
    options: dict[str, Any]
    config_hash: str
    data_hash: str = ""


def draw(distribution: Distribution, rng: np.random.Generator) -> Any:
    """One seeded draw; plain Python types so that the value is JSON and hashes stably."""
    kind = distribution.kind
    if kind == "choice":
        return distribution.choice[int(rng.integers(len(distribution.choice)))]
    lo, hi = getattr(distribution, kind)
    if kind == "randint":
        return int(rng.integers(lo, hi + 1))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(rng.uniform(lo, hi))


def combinations(spec: SweepSpec) -> list[dict[str, Any]]:
    """The raw values of every point: each grid combination (file order, last field fastest)
    with each random draw (``random.n`` draws from ``random.seed``, fields in file order)."""
    grid = [dict(zip(spec.grid, combo, strict=True))
            for combo in itertools.product(*spec.grid.values())] or [{}]
    draws: list[dict[str, Any]] = [{}]
    if spec.random is not None:
        rng = np.random.default_rng(spec.random.seed)
        draws = [{name: draw(dist, rng) for name, dist in spec.random.fields.items()}
                 for _ in range(spec.random.n)]
    return [{**g, **d} for g in grid for d in draws]


def _set(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree[key]
    tree[leaf] = value


def _get(tree: dict, dotted: str) -> Any:
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def _errors(exc: ValidationError, prefix: str = "") -> str:
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in exc.errors(include_input=False, include_url=False))


def _public_settings(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude=PRIVATE_SETTINGS)


def data_hash(bars: str, settings: Settings) -> str:
    """A short hash of the content of ``bars`` (a file, a dataset of the store or the embedded
    daily closes), as a point would read them. A file is hashed byte for byte (no parse: the
    point validates it); a stored dataset by its manifest's content hash, which every import
    recomputes. A name that reads nothing (a missing file, an unknown dataset) gets a marker:
    :func:`sim.sweep.runner.check_data` refuses it before anything runs."""
    import pandas as pd

    from research.data import (
        EMBEDDED_DAILY_DATASET,
        SYNTH_MINUTE_DATASET,
        BarStore,
        DatasetNotFound,
        ensure_synthetic_datasets,
        load_sp500_closes,
        looks_like_file,
    )

    if bars == EMBEDDED_DAILY_DATASET:
        closes = load_sp500_closes()
        digest = hashlib.sha256(",".join(map(str, closes.columns)).encode())
        digest.update(pd.util.hash_pandas_object(closes, index=True).to_numpy().tobytes())
        return digest.hexdigest()[:16]
    if looks_like_file(bars):
        digest = hashlib.sha256()
        try:
            with open(bars, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return "unreadable"
        return digest.hexdigest()[:16]
    store = BarStore(settings.data.store_path)
    if bars == SYNTH_MINUTE_DATASET and not store.exists(bars):
        # built on first use by the points (research.data.resolve_bars); built here instead,
        # so that a first sweep that crashes resumes on the same hashes
        ensure_synthetic_datasets(store)
    try:
        return store.info(bars).content_hash
    except (DatasetNotFound, ValueError):
        return "absent"


def config_hash(task: str, spec: SweepSpec, config: dict, settings: dict,
                options: dict, data: str = "") -> str:
    """16 hex digits of the SHA-256 of everything that sets a point's result (canonical JSON);
    ``data``: the bars' content hash (:func:`data_hash`)."""
    payload = {"task": task, "bars": spec.bars, "data_hash": data, "frequency": spec.frequency,
               "start": spec.start, "end": spec.end, "config": config, "settings": settings,
               "options": options}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _apply(values: dict[str, Any], base: RunConfig, settings: Settings,
           spec: SweepSpec) -> tuple[dict, dict, dict]:
    """The point's run config, settings and task options as validated JSON (raises
    ValueError naming the field on a value the models refuse)."""
    config = base.model_dump(mode="json")
    groups: dict[str, dict] = {}
    # only the vectorbt task reads options, and how points are batched is not one of them
    options = (spec.vectorbt.model_dump(mode="json", exclude={"chunk_size"})
               if spec.task == "vectorbt" else {})
    for name, value in values.items():
        head, _, rest = name.partition(".")
        if head == "settings":
            group, _, field = rest.partition(".")
            groups.setdefault(group, getattr(settings, group).model_dump(mode="json"))
            groups[group][field] = value
        elif head == "vectorbt":
            options[rest] = value
        else:
            _set(config, name, value)
    try:
        validated = RunConfig.model_validate(config)
    except ValidationError as exc:
        raise ValueError(_errors(exc)) from None
    updates = {}
    for group, raw in groups.items():
        model = type(getattr(settings, group))
        try:
            updates[group] = model.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(_errors(exc, f"settings.{group}.")) from None
    try:
        if options:
            options = VectorbtOptions.model_validate(options).model_dump(
                mode="json", exclude={"chunk_size"})
    except ValidationError as exc:
        raise ValueError(_errors(exc, "vectorbt.")) from None
    effective = settings.model_copy(update=updates)
    return validated.model_dump(mode="json"), _public_settings(effective), options


def expand(spec: SweepSpec, base: RunConfig, settings: Settings) -> tuple[list[Point], int]:
    """Every point, validated; returns (points, duplicates dropped). Every invalid point is
    listed in one :class:`SweepSpecError` before anything runs. A random draw identical to an
    earlier point (e.g. a small ``randint`` range) is dropped: it is the same configuration,
    not another trial; the count is returned so that the caller reports it."""
    points: list[Point] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    data_hashes: dict[str, str] = {}  # bars -> content hash: each read once
    duplicates = 0
    for values in combinations(spec):
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        try:
            config, effective, options = _apply(values, base, settings, spec)
        except ValueError as exc:
            problems.append(f"point ({shown}): {exc}")
            continue
        # the data the point runs on: the vectorbt task reads the embedded daily closes only
        bars = spec.bars or (VECTORBT_BARS if spec.task == "vectorbt"
                             else config["universe"]["dataset"])
        if bars not in data_hashes:
            data_hashes[bars] = data_hash(bars, settings)
        digest = config_hash(spec.task, spec, config, effective, options, data_hashes[bars])
        if digest in seen:
            if not spec.random:
                problems.append(f"point ({shown}) is the same configuration as point "
                                f"{seen[digest]}")
            duplicates += 1
            continue
        seen[digest] = len(points)
        canonical = {}
        for name in values:
            head, _, rest = name.partition(".")
            if head == "settings":
                canonical[name] = _get(effective, rest)
            elif head == "vectorbt":
                canonical[name] = options[rest]
            else:
                canonical[name] = _get(config, name)
        points.append(Point(len(points), canonical, config, effective, options, digest,
                            data_hashes[bars]))
    if problems:
        raise SweepSpecError(spec.name, problems)
    return points, duplicates


def settings_from_json(values: dict[str, Any]) -> Settings:
    """The settings a point was hashed with. Every sent group is given in full, so nothing of
    the worker's environment enters them (credentials and tracking, not sent, may)."""
    return Settings.model_validate(values)


def sweep_id(spec: SweepSpec, points: list[Point]) -> str:
    """The sweep's identity: its name and the set of its points' hashes. The same file over the
    same inputs is the same sweep (and resumes); any change to a point is a new sweep."""
    text = json.dumps([spec.name, sorted(p.config_hash for p in points)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


__all__ = ["PRIVATE_SETTINGS", "Point", "combinations", "config_hash", "data_hash", "draw",
           "expand",
           "settings_from_json", "sweep_id"]
