"""Latency statistics: percentiles and bootstrap confidence intervals over interleaved rounds.

Samples are kept per round. Rounds, not single invokes, are what the bootstrap resamples: invokes inside one
round share the machine's state at that moment (another process, a frequency step), so they are not independent
draws; rounds are closer to it. Resampling rounds keeps that drift inside the interval instead of hiding it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.intervals import LEVEL as CONFIDENCE
from ..core.intervals import Interval, bootstrap

BOOTSTRAP_RESAMPLES = 2000
ROUNDS = "percentile bootstrap over rounds"
PAIRED = "percentile bootstrap over rounds of the median per-round ratio (paired)"
UNPAIRED = "percentile bootstrap over each side's rounds (unpaired)"


@dataclass(frozen=True)
class Summary:
    """Latency of one configuration over all its rounds, in ms (rounded to 0.1 µs)."""

    n: int
    mean: float
    std: float
    min: float
    p50: float
    p90: float
    p99: float


def summarize(samples_ms: np.ndarray) -> Summary:
    s = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(s, [50, 90, 99])
    std = float(s.std(ddof=1)) if s.size > 1 else 0.0
    return Summary(int(s.size), *(round(float(v), 4) for v in (s.mean(), std, s.min(), p50, p90, p99)))


def _resampled_percentile(rounds: np.ndarray, picks: np.ndarray, q: float) -> np.ndarray:
    """rounds: (R, n) samples; picks: (B, R) round indices → the q-th percentile of each resample, shape (B,)."""
    b = picks.shape[0]
    return np.percentile(rounds[picks].reshape(b, -1), q, axis=1)


def percentile_interval(rounds: np.ndarray, q: float, seed: int = 0) -> Interval:
    """The q-th percentile of all samples with a bootstrap CI from resampling whole rounds."""
    rounds = np.asarray(rounds, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, rounds.shape[0], size=(BOOTSTRAP_RESAMPLES, rounds.shape[0]))
    return bootstrap(float(np.percentile(rounds, q)), _resampled_percentile(rounds, picks, q), CONFIDENCE, ROUNDS)


def ratio_interval(new_rounds: np.ndarray, old_rounds: np.ndarray, q: float, paired: bool, seed: int = 0
                   ) -> Interval:
    """new/old of the q-th percentile with a bootstrap CI.

    paired (both measured in the same interleaved rounds): the statistic is the median over rounds of the
    per-round ratio. Round i of each side saw the same machine state, and this shared runner switches between
    speed states about 1.6x apart for seconds at a time (measured: docs/benchmarks.md); a ratio of pooled
    percentiles would move with how many slow rounds each side happened to get, the per-round ratio does not.
    Unpaired (a previous bench.json): the ratio of pooled percentiles, each side resampled on its own, so
    the interval also carries the difference between the two runs' machine states.
    """
    new_rounds = np.asarray(new_rounds, dtype=np.float64)
    old_rounds = np.asarray(old_rounds, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if paired:
        if new_rounds.shape[0] != old_rounds.shape[0]:  # callers pair only runs of equal length
            raise ValueError("paired comparison needs the same number of rounds")
        ratios = np.percentile(new_rounds, q, axis=1) / np.percentile(old_rounds, q, axis=1)
        picks = rng.integers(0, ratios.size, size=(BOOTSTRAP_RESAMPLES, ratios.size))
        return bootstrap(float(np.median(ratios)), np.median(ratios[picks], axis=1), CONFIDENCE, PAIRED)
    new_picks = rng.integers(0, new_rounds.shape[0], size=(BOOTSTRAP_RESAMPLES, new_rounds.shape[0]))
    old_picks = rng.integers(0, old_rounds.shape[0], size=(BOOTSTRAP_RESAMPLES, old_rounds.shape[0]))
    boot = _resampled_percentile(new_rounds, new_picks, q) / _resampled_percentile(old_rounds, old_picks, q)
    return bootstrap(float(np.percentile(new_rounds, q) / np.percentile(old_rounds, q)), boot, CONFIDENCE, UNPAIRED)
