"""The one interval type and the one place bootstrap percentiles are taken.

Every estimate with an interval that edgeship computes (ranking quality, off-policy click rates, personalization
gains, the gate's latency percentiles and ratios) is an `Interval`, so a reader of manifest.json, ope.json or
quality.json finds the same five fields everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LEVEL = 0.95
PERCENTILE_BOOTSTRAP = "percentile bootstrap"


@dataclass(frozen=True)
class Interval:
    estimate: float = field(metadata={"doc": "the point estimate, from all the data"})
    low: float
    high: float
    level: float = field(default=LEVEL, metadata={"doc": "coverage the interval is built for"})
    method: str = field(default=PERCENTILE_BOOTSTRAP, metadata={
        "doc": "how low and high were found, and what was resampled"})

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def text(self, signed: bool = False) -> str:
        """"0.1234 [0.1200, 0.1270]", or with signs for a difference: "+0.0013 [-0.0078, +0.0100]"."""
        f = "+.4f" if signed else ".4f"
        return f"{self.estimate:{f}} [{self.low:{f}}, {self.high:{f}}]"


def percentiles(replicates: np.ndarray, level: float = LEVEL, axis: int | None = None) -> tuple:
    """The central `level` range of bootstrap replicates (NaN replicates, from a resample with no usable rows,
    left out): (low, high), arrays when axis is given."""
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(np.asarray(replicates, dtype=np.float64), [tail, 100 - tail], axis=axis)
    return low, high


def bootstrap(estimate: float, replicates: np.ndarray, level: float = LEVEL, method: str = PERCENTILE_BOOTSTRAP,
              digits: int | None = None) -> Interval:
    """estimate with the percentile interval of its replicates; digits: rounded for a report."""
    low, high = percentiles(replicates, level)
    values = [float(v) for v in (estimate, low, high)]
    if digits is not None:
        values = [round(v, digits) for v in values]
    return Interval(*values, level=level, method=method)
