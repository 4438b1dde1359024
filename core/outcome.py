"""The one pass / fail / skip of everything edgeship checks or measures (a budget, a measurement, a file)."""

from __future__ import annotations

import enum


class Outcome(str, enum.Enum):
    PASS = "pass"  # held (a budget), ran (a measurement)
    FAIL = "fail"  # broke a budget, or could not run
    SKIP = "skip"  # not applicable here (the reason says why)
