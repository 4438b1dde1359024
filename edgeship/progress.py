"""Progress lines for long work: elapsed seconds, then what is happening."""

from __future__ import annotations

import time


class Steps:
    def __init__(self, stream):
        self.stream, self.started = stream, time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", file=self.stream, flush=True)
