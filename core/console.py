"""Where progress lines go."""

from __future__ import annotations

import sys


def progress_stream(stream=None):
    """The given stream, else the process's stderr at the time of writing: a default bound when a module is
    imported (`stream=sys.stderr`) would outlive a caller's later redirection of stderr (an app, pytest)."""
    return sys.stderr if stream is None else stream
