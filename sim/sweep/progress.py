"""Progress of a sweep: points done of the total and the time left, as a tqdm bar on a
terminal and as plain lines otherwise (logs, CI, a cluster job's output)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """``done`` counts every finished point (skipped ones included); the time left is the mean
    time of the points run *now* times the points still to run."""

    def __init__(self, name: str, total: int, skipped: int, stream: TextIO | None = None,
                 bar: bool | None = None):
        self.name, self.total, self.skipped = name, total, skipped
        self.done = skipped
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        use_bar = self.stream.isatty() if bar is None else bar
        self.bar = None
        if use_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=skipped, desc=f"sweep {name}", unit="point",
                            file=self.stream)

    def left(self) -> float:
        ran = self.done - self.skipped
        if ran == 0:
            return float("nan")
        return (time.perf_counter() - self.started) / ran * (self.total - self.done)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        left = self.left()
        eta = "?" if left != left else _clock(left)
        print(f"sweep {self.name}: {self.done}/{self.total} points done "
              f"({self.skipped} recorded before), "
              f"{_clock(time.perf_counter() - self.started)} elapsed, ~{eta} left",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["Progress"]
