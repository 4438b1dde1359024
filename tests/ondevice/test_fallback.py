"""fallback.json: the rule baseline as a table an app ranks with, without a model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgeship.core.errors import BundleError
from edgeship.core.files import sha256
from edgeship.export.manifest import read_fallback
from edgeship.export.reader import check_bundle
from edgeship.models.baseline import ItemPopularity, SegmentPopularity
from edgeship.models.data import Requests
from edgeship.ondevice import fallback
from edgeship.ondevice.fallback import Fallback, SegmentColumn

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _requests(context, candidates) -> Requests:
    candidates = np.asarray(candidates, np.int32)
    return Requests(np.asarray(context, np.int32), np.zeros((len(candidates), 2), np.int32), candidates,
                    np.zeros(candidates.shape + (1,), np.float32), np.zeros(candidates.shape, np.float32))


def test_a_segment_rate_then_the_item_rate_then_the_global_rate():
    table = Fallback(1, fallback.RULE, [SegmentColumn(0, "hour", 4), SegmentColumn(1, "network", 1)], 0.01,
                     {"5": 0.2, "6": 0.3}, {"2,1": {"5": 0.5}}, top=1)
    # hour 9 // 4 = 2, network 1: segment "2,1" lists item 5; item 6 has only its overall rate; 7 nothing
    got = fallback.scores(table, _requests([[9, 1], [3, 1]], [[5, 6, 7], [5, 6, 7]]))
    np.testing.assert_array_equal(got, [[0.5, 0.3, 0.01], [0.2, 0.3, 0.01]])


def test_the_table_keeps_the_top_items_per_segment_by_rate_ties_by_id():
    table = fallback.table([SegmentColumn(0, "region", 1)], 0.1, {1: 0.1, 2: 0.2, 3: 0.3},
                           {(0,): {1: 0.9, 2: 0.5, 3: 0.5}, (1,): {3: 0.123456789}}, top=2)
    assert table.segment_rates == {"0": {"1": 0.9, "2": 0.5}, "1": {"3": 0.123457}}
    assert table.item_rates == {"1": 0.1, "2": 0.2, "3": 0.3} and table.top == 2


def test_a_full_table_scores_exactly_like_the_baseline(tiny_data):
    baseline = SegmentPopularity(tiny_data.spec.item_buckets).fit(tiny_data.train)
    columns = [SegmentColumn(f, "x", d) for f, d in zip(baseline.segment_fields, baseline.divisors())]
    table = fallback.table(columns, *baseline.rates(), top=10**9)
    np.testing.assert_allclose(fallback.scores(table, tiny_data.test), baseline.score(tiny_data.test), rtol=1e-5)
    popularity = ItemPopularity(np.array([0.0, 10, 4]), np.array([0.0, 5, 0]))
    flat = fallback.table([], *popularity.rates(), top=1)
    requests = _requests([[0], [0]], [[0, 1, 2], [2, 1, 0]])
    np.testing.assert_allclose(fallback.scores(flat, requests), popularity.score(requests), rtol=1e-5)


def test_tiny_bundle_ships_the_fallback_and_the_cold_start_choice(reference_bundle):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    record = manifest["fallback"]
    assert record["file"] == "fallback.json" and record["kind"] == "segment_popularity"
    assert record["bytes"] == (reference_bundle / "fallback.json").stat().st_size
    assert manifest["files"]["fallback.json"] == sha256(reference_bundle / "fallback.json")
    assert record["model_ndcg_at_10"] == manifest["metrics"]["model"]["ndcg_at_10"]
    assert 0 < record["ndcg_at_10"] < 1 and record["cold_start"]["fallback_ndcg_at_10"] == record["ndcg_at_10"]
    cold = record["cold_start"]
    assert cold["choice"] == ("model" if cold["model_ndcg_at_10"] >= cold["fallback_ndcg_at_10"] else "fallback")
    table = json.loads((reference_bundle / "fallback.json").read_text())
    assert [s["name"] for s in table["segments"]] == ["hour", "network"] and table["top"] == 500
    assert "## Without a model: `fallback.json`" in (reference_bundle / "README.md").read_text()


def test_a_fallback_file_that_breaks_its_schema_fails_verify(reference_bundle, tmp_path, rewrite):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    table = json.loads((copy / "fallback.json").read_text())
    table["global_rate"] = "high"
    rewrite(copy, "fallback.json", table)
    with pytest.raises(BundleError, match="fallback.json: global_rate"):
        check_bundle(copy)


def test_raw_vectors_carry_the_fallback_order_and_verify_checks_it(reference_bundle, tmp_path, rewrite):
    from edgeship.core import typed
    from edgeship.export.manifest import read_contract_file, read_rules
    from edgeship.ondevice.contract import RawRequest
    from edgeship.ondevice.rules import apply, fallback_score, from_raw

    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    table = read_fallback(reference_bundle / "fallback.json")
    rules = read_rules(reference_bundle / "rules.json").rules
    contract = read_contract_file(reference_bundle / "features.json")
    reordered = 0
    for case in raw["cases"]:
        items = case["request"]["items"]
        rates = fallback.rates(table, np.asarray(case["tensors"]["context"][0]),
                               np.asarray(case["tensors"]["candidates"][0]))[: len(items)]
        by_rate = [items[i] for i in np.argsort(-rates, kind="stable")]
        # the table's order, then the bundle's rules (the tiny config has one of each kind)
        view = from_raw(contract, typed.load(RawRequest, case["request"], "case", toml=False))
        assert case["fallback"] == [items[i] for i in apply(rules, [fallback_score(r) for r in rates], view)]
        reordered += case["fallback"] != by_rate
    assert reordered > 0
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    raw["cases"][0]["fallback"] = raw["cases"][0]["fallback"][::-1]
    rewrite(copy, "testvectors_raw.json", raw)
    with pytest.raises(BundleError, match=r"cases\[0\].fallback is not the order fallback.json gives"):
        check_bundle(copy)
