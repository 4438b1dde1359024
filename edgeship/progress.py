"""Progress lines for long work: elapsed seconds, then what is happening."""

from __future__ import annotations

import sys
import time


def to(stream):
    """Where progress goes: the given stream, else the process's stderr at the time of writing (a default bound
    when a module is imported would outlive a caller's redirection of stderr)."""
    return sys.stderr if stream is None else stream


class Steps:
    def __init__(self, stream=None):
        self.stream, self.started = stream, time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {message}", file=to(self.stream), flush=True)
