import numpy as np
import pytest

from edgeship.models.features import fnv1a_32, hash_item_id, hash_item_ids

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_fnv1a_reference_values():
    # published FNV-1a 32-bit test vectors
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert fnv1a_32("foobar") == 0xBF9CF968


def test_buckets_skip_padding_and_stay_in_range():
    buckets = hash_item_ids(np.arange(10_000), 512)
    assert buckets.min() >= 1 and buckets.max() <= 511
    assert len(np.unique(buckets)) == 511  # every non-padding bucket is used
    assert hash_item_id("sku-123", 512) == hash_item_ids(np.array(["sku-123"]), 512)[0]
