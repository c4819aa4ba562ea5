"""Tiny timing helpers shared by the benchmark scripts (figures are printed, never asserted)."""

from __future__ import annotations

import os
import platform
import statistics
import time


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def repeat(fn, n: int, warmup: int = 3) -> list[float]:
    """Wall times in seconds of ``n`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


_SCALE = {"ms": 1e3, "us": 1e6}


def describe(times: list[float], unit: str = "ms") -> str:
    s = sorted(times)
    p99 = s[min(len(s) - 1, int(0.99 * len(s)))]
    k = _SCALE[unit]
    return (f"median {statistics.median(s) * k:10.3f} {unit}   p99 {p99 * k:10.3f} {unit}   "
            f"(n={len(s)})")


def row(name: str, times: list[float], target: str) -> None:
    print(f"{name:58s} {describe(times)}   target {target}")
