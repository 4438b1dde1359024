"""Progress lines for long work: elapsed seconds, then what is happening."""

from __future__ import annotations

import time

from .core.console import progress_stream


class Steps:
    def __init__(self, stream=None):
        self.stream, self.started = stream, time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", file=progress_stream(self.stream), flush=True)
