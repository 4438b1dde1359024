import numpy as np
import pytest

from edgeship.models.features import feature_sums, fnv1a_32, hash_item_id, hash_item_ids, item_feature_table

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


def test_item_table_is_each_items_mean_features_and_zero_where_never_shown():
    items = np.array([[2, 3], [2, 5]])
    features = np.array([[[1.0, 0.0], [0.5, 1.0]], [[3.0, 0.0], [-1.0, 1.0]]], np.float32)
    shows, sums = feature_sums(items, features, buckets=6)
    np.testing.assert_array_equal(shows, [0, 0, 2, 1, 0, 1])
    table = item_feature_table(shows, sums)
    assert table.dtype == np.float32 and table.shape == (6, 2)
    np.testing.assert_allclose(table, [[0, 0], [0, 0], [2.0, 0.0], [0.5, 1.0], [0, 0], [-1.0, 1.0]])
    # parts summed (a log read file by file) give the table of the whole
    a, b = feature_sums(items[:1], features[:1], 6), feature_sums(items[1:], features[1:], 6)
    np.testing.assert_allclose(item_feature_table(a[0] + b[0], a[1] + b[1]), table)
