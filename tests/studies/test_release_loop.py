"""studies/release_loop's own arithmetic and fault plants: the truth of a policy from known click probabilities,
the online truth under exploration, the tampered archives (each refused with its code by the Python reference of
the clients' checks), and the summary's counts. The study's app runs in tests/clients/web/test_package.py."""

from __future__ import annotations

import numpy as np
import pytest

from studies.release_loop import EXAMINATION, Truth, summarize, tampered, values

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_values_are_the_expected_clicks_per_impression():
    prob = np.array([[0.1, 0.4, 0.2, 0.3], [0.5, 0.0, 0.0, 0.1]])
    orders = np.array([[1, 3, 2], [0, 3, -1]])  # the second request shows nothing at position 2
    greedy, uniform = values(orders, prob)
    seen = np.array(EXAMINATION)
    assert greedy == pytest.approx(((np.array([0.4, 0.3, 0.2]) * seen).sum() + (np.array([0.5, 0.1, 0]) * seen).sum())
                                   / 6)
    assert uniform == pytest.approx((0.25 * seen.sum() + 0.15 * seen.sum()) / 6)
    truth = Truth({"a": greedy}, uniform)
    assert truth.online("a", 0.0) == greedy and truth.online("a", 1.0) == uniform
    assert truth.online("a", 0.2) == pytest.approx(0.8 * greedy + 0.2 * uniform)


def test_the_tampered_copies_are_refused_with_their_codes(reference_bundle, tmp_path):
    from edgeship.release.keys import keygen, load_public
    from edgeship.release.make import ReleaseError, make_release, open_release

    key, public = keygen(tmp_path / "keys")
    make_release(reference_bundle, key, "1.0.0", tmp_path / "r.tar")
    keys = [load_public(public)]
    assert open_release((tmp_path / "r.tar").read_bytes(), keys).record.version == "1.0.0"
    flipped, edited = tampered(tmp_path / "r.tar", tmp_path, seed=0)
    for path, code in ((flipped, "checksum_mismatch"), (edited, "bad_signature")):
        with pytest.raises(ReleaseError) as e:
            open_release(path.read_bytes(), keys)
        assert e.value.code == code
    first = flipped.read_bytes()
    (tmp_path / "again").mkdir()
    assert tampered(tmp_path / "r.tar", tmp_path / "again", seed=0)[0].read_bytes() == first  # seeded
    (tmp_path / "other").mkdir()
    assert tampered(tmp_path / "r.tar", tmp_path / "other", seed=1)[0].read_bytes() != first


def test_the_summary_counts_each_criterion():
    def row(seed, right, covered, alarm):
        return {"seed": seed, "candidate_is": "better" if seed % 2 == 0 else "weaker",
                "shadow": {"difference": {"covered": covered}, "candidate_value": {"covered": True},
                           "offline_says_roll_out": seed == 0},
                "rollout": {"right": right, "lift": {"covered": covered}, "srm_false_alarm": alarm},
                "srm_fault": {"caught": True}, "tampered": {"never_loaded": True}}

    s = summarize([row(0, True, True, False), row(1, False, True, True), row(2, True, False, False)])
    assert (s["seeds"], s["decision_right"], s["online_lift_covered"], s["offline_difference_covered"]) == (3, 2, 2, 2)
    assert (s["srm_false_alarms"], s["srm_fault_caught"], s["tampered_never_loaded"]) == (1, 3, 3)
    assert (s["offline_says_roll_out_when_better"], s["offline_says_roll_out_when_weaker"]) == (1, 0)
