import numpy as np
import pytest

from edgeship.models.baseline import SegmentPopularity
from edgeship.models.data import Requests

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _requests(context, candidates, labels):
    n, k = candidates.shape
    return Requests(context=context, history=np.zeros((n, 2), np.int32), candidates=candidates,
                    candidate_features=np.zeros((n, k, 1), np.float32), labels=labels)


def test_prefers_items_clicked_in_the_same_segment():
    # item 1 is clicked at night on wifi, item 2 in the morning; both shown equally often
    night = np.array([[22, 0, 0, 0, 0]] * 50)
    morning = np.array([[8, 0, 0, 0, 0]] * 50)
    cands = np.array([[1, 2]] * 50)
    train = _requests(np.concatenate([night, morning]), np.concatenate([cands, cands]),
                      np.concatenate([np.tile([1.0, 0.0], (50, 1)), np.tile([0.0, 1.0], (50, 1))]))
    model = SegmentPopularity(item_buckets=4).fit(train)
    at_night = model.score(_requests(night[:1], cands[:1], np.zeros((1, 2))))
    in_morning = model.score(_requests(morning[:1], cands[:1], np.zeros((1, 2))))
    assert at_night[0, 0] > at_night[0, 1]
    assert in_morning[0, 1] > in_morning[0, 0]
    # an unseen item falls back to the global click rate
    unseen = model.score(_requests(night[:1], np.array([[3, 3]]), np.zeros((1, 2))))
    assert np.allclose(unseen, 0.5)
