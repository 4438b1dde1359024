"""Reading users' logs: real files written to disk (CSV, Parquet, shards), every row validated."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from edgeship.models import logs
from edgeship.models.features import fnv1a_32, hash_item_id
from edgeship.models.item_vectors import cooccurrence
from edgeship.models.schema import load_schema
from studies.synthetic_log import write_log

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return write_log(tmp_path_factory.mktemp("log") / "csv", 3000, shards=3, kind="csv", seed=1)


def _profile(folder, pairs=False, **encoding):
    files, kind = logs.log_files(folder)
    schema = replace(logs.resolve(load_schema(folder / "schema.toml"), files, kind), **encoding)
    enc, _ = logs.encoders(files, kind, schema, progress=lambda _: None)
    return files, kind, schema, enc, logs.profile(files, kind, schema, enc, progress=lambda _: None, pairs=pairs)


def test_item_pairs_are_counted_only_when_asked_over_the_training_histories(log_dir):
    files, kind, schema, enc, prof = _profile(log_dir, pairs=True)
    assert _profile(log_dir)[4].item_pairs is None  # the head without a user vector: no counting
    train = [e for f, row0, df in logs.chunks(files, kind, schema.columns())
             for e in [logs.encode(f, row0, df, schema, enc)]]
    history = np.concatenate([e.history[e.split == 0] for e in train])
    expected = cooccurrence(history, enc.item.size)
    assert prof.item_pairs.nnz > 0 and (prof.item_pairs != expected).nnz == 0


def test_encoding_of_one_known_row_hashed(log_dir):
    files, kind, schema, enc, _ = _profile(log_dir, items="hash", fields=(("device", "hash"),))
    _, row0, df = next(logs.chunks(files, kind, schema.columns()))
    e = logs.encode(files[0], row0, df, schema, enc)
    first = df.iloc[0]
    t = pd.Timestamp(first["ts"])
    assert e.context[0, 0] == t.hour and e.context[0, 1] == t.weekday()  # Monday = 0, as Python counts
    assert e.context[0, 2] == fnv1a_32(first["device"]) % 64  # hashed into context_buckets
    assert e.item[0] == hash_item_id(first["item_id"], schema.item_buckets)
    a, b = first["recent_items"].split("|")
    assert list(e.history[0]) == [hash_item_id(a, 4096), hash_item_id(b, 4096), 0, 0, 0]
    np.testing.assert_allclose(e.features[0], [first["price"], first["quality"]], rtol=1e-6)


def test_vocabularies_by_default_for_small_fields_with_oov_ids(log_dir):
    files, kind, schema, enc, prof = _profile(log_dir)
    device, region = enc.context[2:]
    assert [e.kind for e in enc.all] == ["time", "time", "vocabulary", "vocabulary", "vocabulary"]
    assert sorted(device.values) == ["high", "low", "tablet"] and device.size == 4  # 0 = out of vocabulary
    assert len(region.values) == 8 and region.encode(["r3", "nowhere"]).tolist() == [1 + region.values.index("r3"), 0]
    # items seen at least item_min_count (2) times in training have their own id; the rest share id 1
    _, row0, df = next(logs.chunks(files, kind, schema.columns()))
    e = logs.encode(files[0], row0, df, schema, enc)
    table = enc.item.lookup()
    expected = [table.get(i, 1) for i in df["item_id"]]
    assert e.item.tolist() == expected and 1 in expected and min(table.values()) == 2
    assert enc.item.size == len(enc.item.values) + 2 and e.item.max() < enc.item.size


def test_shards_parquet_and_one_file_give_the_same_profile(log_dir, tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    whole = pd.concat(pd.read_csv(f) for f in sorted(log_dir.glob("*.csv")))
    whole.to_csv(one / "log.csv", index=False)
    parquet = tmp_path / "pq"
    parquet.mkdir()
    whole.iloc[:1700].to_parquet(parquet / "a.parquet", index=False)  # other cut points than the CSV shards
    whole.iloc[1700:].to_parquet(parquet / "b.parquet", index=False)
    for d in (one, parquet):
        shutil.copy(log_dir / "schema.toml", d / "schema.toml")
    profiles = [_profile(d, pairs=True)[4] for d in (log_dir, one, parquet)]
    for p in profiles[1:]:
        assert p.rows == profiles[0].rows and p.positives == profiles[0].positives
        assert (p.item_pairs != profiles[0].item_pairs).nnz == 0
        np.testing.assert_allclose(p.feature_sum, profiles[0].feature_sum, rtol=1e-9)
    rows = profiles[0].rows
    assert sum(rows.values()) == 3000 and rows["test"] > 0 and rows["valid"] > 0


def test_lists_keep_requests_whole_and_pad_to_k(log_dir):
    _, _, schema, _, prof = _profile(log_dir)
    test = logs.Encoded.concat(prof.test)
    groups = logs.group_lists(test, None)
    lengths = groups.lengths
    assert set(lengths.tolist()) == {10}  # ten impressions per request, none split across train/test
    lists = logs.as_lists(groups, 12, limit=1000)
    assert lists.candidates.shape == (len(lengths), 12)
    assert (lists.mask.sum(axis=1) == 10).all() and (lists.candidates[~lists.mask] == 0).all()
    assert lists.labels.sum() == test.label.sum()
    # lists longer than K become consecutive pieces of K: every row is scored once, none is dropped
    pieces = logs.as_lists(groups, 4)
    assert len(pieces) == 3 * len(lengths) and pieces.mask.sum(axis=1).tolist()[:3] == [4, 4, 2]
    assert pieces.mask.sum() == len(test.label) and pieces.labels.sum() == test.label.sum()
    ordered = groups.rows.item
    np.testing.assert_array_equal(pieces.candidates[pieces.mask], ordered)  # in list order, row by row
    assert len(logs.as_lists(groups, 4, limit=5)) == 5


@pytest.mark.heavy  # a tf.data pipeline
def test_train_stream_yields_only_train_rows(log_dir):
    files, kind, schema, enc, prof = _profile(log_dir)
    ds = logs.train_dataset(files, kind, schema, enc, logs.feature_spec(schema, prof, enc), batch_size=64, seed=0)
    n, ctx = 0, None
    for inputs, labels in ds:
        n += int(labels.shape[0])
        ctx = inputs["context"].shape[1]
        assert inputs["candidate_features"].shape[1:] == (1, 2)
    assert n == prof.rows["train"] and ctx == 4  # hour, weekday, device, region


def test_features_are_standardized_with_train_statistics_and_clipped(log_dir):
    _, _, schema, enc, prof = _profile(log_dir)
    spec = logs.feature_spec(schema, prof, enc)
    assert [f.name for f in spec.context_fields] == ["hour", "weekday", "device", "region"]
    price_mean = prof.feature_sum[0] / prof.rows["train"]
    assert spec.feature_mean[0] == pytest.approx(price_mean) and spec.feature_scale[0] > 0
    z = spec.standardize(np.array([[price_mean, 0.5], [1e6, 0.5]], np.float32))
    assert z[0, 0] == pytest.approx(0, abs=1e-5) and z[1, 0] == 5.0  # clipped
    # the ranker's item table: each item's training features, averaged and standardized like the inputs
    table = logs.item_features(prof, spec)
    assert table.shape == (enc.item.size, len(spec.item_features))
    shown = np.flatnonzero(prof.item_shows)[0]
    mean = prof.item_feature_sum[shown] / prof.item_shows[shown]
    np.testing.assert_allclose(table[shown], spec.standardize(mean[None].astype(np.float32))[0], rtol=1e-5)
    assert not table[prof.item_shows == 0].any() and table.dtype == np.float32
