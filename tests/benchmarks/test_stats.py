import numpy as np
import pytest

from edgeship.benchmarks.stats import percentile_interval, ratio_interval, summarize

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_summary_of_known_samples():
    s = summarize(np.arange(1, 101, dtype=float))
    assert (s.n, s.min, s.mean) == (100, 1.0, 50.5)
    assert s.p50 == pytest.approx(50.5) and s.p90 == pytest.approx(90.1) and s.p99 == pytest.approx(99.01)
    assert s.std == pytest.approx(np.std(np.arange(1, 101), ddof=1))


def _rounds(rng, base, slow_rounds, n_rounds=30, n=50):
    # a machine that spends some rounds in a state 1.6x slower, as this runner does
    state = np.where(np.isin(np.arange(n_rounds), slow_rounds), 1.6, 1.0)[:, None]
    return base * state * (1 + 0.05 * rng.standard_normal((n_rounds, n)))


def test_percentile_interval_brackets_the_estimate():
    rng = np.random.default_rng(0)
    iv = percentile_interval(_rounds(rng, 1.0, []), 50)
    assert iv.low <= iv.estimate <= iv.high
    assert iv.estimate == pytest.approx(1.0, abs=0.01) and iv.high - iv.low < 0.02


def test_paired_ratio_cancels_shared_machine_states():
    rng = np.random.default_rng(1)
    slow = list(range(0, 30, 3))
    old = _rounds(rng, 1.0, slow)
    same = _rounds(rng, 1.0, slow)
    slower = _rounds(rng, 1.3, slow)
    unchanged = ratio_interval(same, old, 50, paired=True)
    assert unchanged.low < 1.0 < unchanged.high and unchanged.high < 1.05
    regressed = ratio_interval(slower, old, 50, paired=True)
    assert regressed.estimate == pytest.approx(1.3, abs=0.02) and regressed.low > 1.1


def test_unpaired_ratio_is_wider_when_runs_saw_different_states():
    rng = np.random.default_rng(2)
    old = _rounds(rng, 1.0, list(range(0, 30, 2)))  # half the rounds slow
    new = _rounds(rng, 1.0, [])  # a quiet machine
    iv = ratio_interval(new, old, 50, paired=False)
    assert iv.high - iv.low > 0.1  # the interval carries the state difference instead of hiding it
