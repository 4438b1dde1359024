"""The readout of an online experiment: per arm the click rate per impression and per user, each arm's relative
lift over control with a 95 % interval that respects users (the delta method on per-user sums: a user's
impressions are not independent), and the sample-ratio-mismatch test of the users per arm against the planned
split (chi-square). TensorFlow-free; edgeship/abtest.py reads the log and writes the report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmStats:
    users: int
    requests: int
    impressions: int
    taps: int
    ctr: float  # taps / impressions, over the arm
    ctr_per_user: float  # the mean over users of each user's taps / impressions
    ctr_se: float  # standard error of ctr, users as the unit (delta method)


@dataclass(frozen=True)
class Lift:
    arm: str
    relative: float  # ctr(arm) / ctr(control) - 1
    low: float  # 95 % interval of the relative lift
    high: float


@dataclass(frozen=True)
class SampleRatio:
    planned: dict[str, float]
    observed: dict[str, int]  # users per arm
    chi2: float
    p_value: float


def per_user(users: np.ndarray, impressions: np.ndarray, taps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(taps, impressions) summed per user (users: one id per impression)."""
    _, index = np.unique(users, return_inverse=True)
    return (np.bincount(index, weights=taps.astype(np.float64)),
            np.bincount(index, weights=impressions.astype(np.float64)))


def ratio_se(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(sum x / sum y, its standard error) over n independent users, by the delta method:
    var(R) ~= var(x - R y) / (n * mean(y)^2)."""
    n = len(x)
    r = float(x.sum() / y.sum())
    if n < 2:
        return r, float("nan")
    residual = x - r * y
    return r, float(np.sqrt(residual.var(ddof=1) / n) / y.mean())


def arm_stats(users: np.ndarray, requests: int, tapped: np.ndarray) -> ArmStats:
    """users and tapped: one per impression of the arm."""
    taps, imps = per_user(users, np.ones(len(users)), tapped)
    ctr, se = ratio_se(taps, imps) if len(imps) else (float("nan"), float("nan"))
    return ArmStats(len(imps), requests, int(imps.sum()), int(taps.sum()), ctr,
                    float(np.mean(taps / imps)) if len(imps) else float("nan"), se)


def lift(arm: str, treated: ArmStats, control: ArmStats) -> Lift:
    """On the log scale: log(r_t / r_c) +- z * sqrt(se_t^2 / r_t^2 + se_c^2 / r_c^2), arms independent."""
    if not (treated.ctr > 0 and control.ctr > 0):
        return Lift(arm, float("nan"), float("nan"), float("nan"))
    log_ratio = np.log(treated.ctr / control.ctr)
    se = np.sqrt((treated.ctr_se / treated.ctr) ** 2 + (control.ctr_se / control.ctr) ** 2)
    return Lift(arm, float(np.expm1(log_ratio)), float(np.expm1(log_ratio - Z95 * se)),
                float(np.expm1(log_ratio + Z95 * se)))


def sample_ratio(observed: dict[str, int], planned: dict[str, float]) -> SampleRatio:
    from scipy.stats import chi2

    total = sum(observed.values())
    share = sum(planned.values())
    expected = {arm: total * planned[arm] / share for arm in planned}
    statistic = float(sum((observed.get(arm, 0) - e) ** 2 / e for arm, e in expected.items()))
    return SampleRatio(planned, observed, statistic, float(chi2.sf(statistic, df=len(planned) - 1)))
