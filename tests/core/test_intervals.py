"""The one interval type: what every report's estimate with an interval is built from."""

import numpy as np
import pytest

from edgeship.core.intervals import LEVEL, Interval, bootstrap, percentiles
from edgeship.core.outcome import Outcome

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_the_central_range_of_the_replicates_at_the_level():
    replicates = np.arange(1, 1001, dtype=float)  # 1 .. 1000
    iv = bootstrap(500.5, replicates)
    assert (iv.low, iv.high) == pytest.approx((np.percentile(replicates, 2.5), np.percentile(replicates, 97.5)))
    assert iv.level == LEVEL == 0.95 and iv.method == "percentile bootstrap" and iv.covers(500.5)
    wider = bootstrap(500.5, replicates, level=0.99, method="over rounds")
    assert wider.low < iv.low and wider.high > iv.high and wider.method == "over rounds"


def test_resamples_without_usable_rows_are_left_out_and_rounding_is_for_reports():
    replicates = np.array([np.nan, 0.1, 0.2, 0.3, np.nan])
    iv = bootstrap(0.2, replicates, level=0.5)
    assert (iv.estimate, iv.low, iv.high, iv.level) == pytest.approx((0.2, 0.15, 0.25, 0.5))
    assert bootstrap(1 / 3, np.array([0.1234567, 0.7654321]), digits=3) == Interval(0.333, 0.14, 0.749)


def test_per_row_percentiles_along_an_axis():
    boot = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    low, high = percentiles(boot, level=0.5, axis=1)
    np.testing.assert_allclose(low, [1.75, 17.5])
    np.testing.assert_allclose(high, [3.25, 32.5])


def test_one_pass_fail_skip_whose_values_the_files_carry():
    assert [o.value for o in Outcome] == ["pass", "fail", "skip"] and Outcome("skip") is Outcome.SKIP


def test_an_interval_reads_as_estimate_and_bounds():
    assert Interval(0.12345, 0.1, 0.2).text() == "0.1235 [0.1000, 0.2000]"
    assert Interval(0.0013, -0.0078, 0.01).text(signed=True) == "+0.0013 [-0.0078, +0.0100]"
