"""The rules engine on small hand-made lists: each kind with its exact expected order, the fixed order of the
kinds, ties, what a ranking breaks, and the config-time checks."""

import pytest

from edgeship.core.errors import ConfigError
from edgeship.ondevice.rules import (Boost, Candidates, Cap, Filter, Match, Pin, RuleSet, Run, apply, check,
                                     check_names, fallback_score, violations)

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

# six items; scores rank them a > b > c > d > e > f; categories x x x y y z; freshness 0.1 .. 0.6
ITEMS = ["a", "b", "c", "d", "e", "f"]
SCORES = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
CATS = ["x", "x", "x", "y", "y", "z"]
LIST = Candidates(items=list(ITEMS), features=[{"freshness": 0.1 * (i + 1)} for i in range(6)],
                  attributes=[{"category": c} for c in CATS], context={"region": "3", "hour": "21"})


def ranked(rules: RuleSet, scores=SCORES, c=LIST) -> list[str]:
    return [c.items[i] for i in apply(rules, scores, c)]


def test_no_rules_is_the_model_order_with_stable_ties():
    assert ranked(RuleSet()) == ITEMS
    assert ranked(RuleSet(), [1.0, 2.0, 2.0, 0.0, 2.0, 1.0]) == ["b", "c", "e", "a", "f", "d"]


def test_filter_by_id_attribute_and_feature_and_by_context():
    assert ranked(RuleSet(filter=[Filter(Match(items=["b", "e"]))])) == ["a", "c", "d", "f"]
    assert ranked(RuleSet(filter=[Filter(Match(attribute="category", values=["x"]))])) == ["d", "e", "f"]
    assert ranked(RuleSet(filter=[Filter(Match(feature="freshness", max=0.35))])) == ["d", "e", "f"]
    # both parts of one match must hold: category x and freshness >= 0.2 -> b, c
    assert ranked(RuleSet(filter=[Filter(Match(attribute="category", values=["x"], feature="freshness",
                                               min=0.2))])) == ["a", "d", "e", "f"]
    assert ranked(RuleSet(filter=[Filter(Match(items=["a"]), when={"region": ["3", "4"]})])) == ITEMS[1:]
    assert ranked(RuleSet(filter=[Filter(Match(items=["a"]), when={"region": ["5"]})])) == ITEMS
    # every listed context column must hold
    assert ranked(RuleSet(filter=[Filter(Match(items=["a"]), when={"region": ["3"], "hour": ["9"]})])) == ITEMS


def test_boost_and_demotion_add_to_the_score():
    assert ranked(RuleSet(boost=[Boost(Match(attribute="category", values=["z"]), by=4.5)])) == \
        ["a", "f", "b", "c", "d", "e"]
    assert ranked(RuleSet(boost=[Boost(Match(items=["a"]), by=-2.5)])) == ["b", "c", "a", "d", "e", "f"]
    # a boost that makes a tie keeps the given order: f (1 + 2 = 3) ties d (3) and d comes first
    assert ranked(RuleSet(boost=[Boost(Match(items=["f"]), by=2.0)])) == ["a", "b", "c", "d", "f", "e"]
    assert ranked(RuleSet(boost=[Boost(Match(items=["f"]), by=9.0, when={"hour": ["8"]})])) == ITEMS


def test_pin_moves_the_best_match_into_the_window_only_if_needed():
    fresh = Match(feature="freshness", min=0.55)  # only f
    assert ranked(RuleSet(pin=[Pin(fresh, within=3)])) == ["a", "b", "f", "c", "d", "e"]
    assert ranked(RuleSet(pin=[Pin(Match(items=["b"]), within=3)])) == ITEMS  # already in the top 3
    assert ranked(RuleSet(pin=[Pin(Match(items=["zz"]), within=1)])) == ITEMS  # nothing to pin
    # two pins for the same slot: the second takes the nearest free slot above
    two = RuleSet(pin=[Pin(Match(items=["f"]), within=2), Pin(Match(items=["e"]), within=2)])
    assert ranked(two) == ["e", "f", "a", "b", "c", "d"]


def test_cap_and_run_rerank_greedily_and_give_way_only_when_nothing_fits():
    cap = RuleSet(cap=[Cap("category", max=2, within=3)])
    assert ranked(cap) == ["a", "b", "d", "c", "e", "f"]
    run = RuleSet(run=[Run("category", max=1, within=6)])
    assert ranked(run) == ["a", "d", "b", "e", "c", "f"]
    # only x items left: the run gives way rather than drop a candidate
    only_x = Candidates(["a", "b", "c"], [{}] * 3, [{"category": "x"}] * 3, {})
    assert ranked(run, [3.0, 2.0, 1.0], only_x) == ["a", "b", "c"]
    assert violations(run, [0, 1, 2], only_x) == {"run"}


def test_the_kinds_apply_in_the_documented_order():
    rules = RuleSet(filter=[Filter(Match(items=["a"]))], boost=[Boost(Match(items=["e"]), by=10.0)],
                    pin=[Pin(Match(items=["f"]), within=2)], cap=[Cap("category", max=1, within=4)])
    # filter a; boost e to the top (e b c d f); pin f at slot 1; fill: e, (f), b; at slot 3 both c (x) and d (y)
    # would be a second of their category in the top 4, so the best remaining, c, takes it and breaks the cap
    assert ranked(rules) == ["e", "f", "b", "c", "d"]
    assert violations(rules, apply(rules, SCORES, LIST), LIST) == {"cap"}


def test_violations_of_the_plain_model_order():
    rules = RuleSet(filter=[Filter(Match(items=["c"]))], pin=[Pin(Match(items=["f"]), within=3)],
                    cap=[Cap("category", max=2, within=3)], run=[Run("category", max=2, within=6)])
    assert violations(rules, list(range(6)), LIST) == {"filter", "pin", "cap", "run"}
    assert violations(rules, apply(rules, SCORES, LIST), LIST) == set()


def test_a_pin_a_filter_always_removes_is_refused_at_config_time():
    with pytest.raises(ConfigError, match=r"\[\[rules.pin\]\] #1 pins items that \[\[rules.filter\]\] #2 always"):
        check(RuleSet(filter=[Filter(Match(items=["q"])), Filter(Match(attribute="category", values=["x", "y"]))],
                      pin=[Pin(Match(attribute="category", values=["x"]), within=3)]), "cfg.toml")
    with pytest.raises(ConfigError, match="pins items that"):
        check(RuleSet(filter=[Filter(Match(feature="freshness", min=0.5))],
                      pin=[Pin(Match(feature="freshness", min=0.8, max=0.9), within=1)]), "cfg.toml")
    # a filter that only sometimes applies, or covers only part of the pin, is fine
    check(RuleSet(filter=[Filter(Match(items=["a"]), when={"region": ["1"]})], pin=[Pin(Match(items=["a"]), 1)]),
          "cfg.toml")
    check(RuleSet(filter=[Filter(Match(items=["a"]))], pin=[Pin(Match(items=["a", "b"]), within=1)]), "cfg.toml")


@pytest.mark.parametrize("match, message", [
    (Match(), "expected at least one of items, attribute, feature"),
    (Match(attribute="category"), "attribute and values go together"),
    (Match(items=["a"], min=1.0), "min and max need a feature"),
    (Match(feature="price"), "feature 'price' needs min and/or max"),
    (Match(feature="price", min=2.0, max=1.0), "min 2.0 is above max 1.0"),
])
def test_malformed_matches_are_named(match, message):
    with pytest.raises(ConfigError, match=r"cfg.toml: \[\[rules.boost\]\] #1 match: " + message):
        check(RuleSet(boost=[Boost(match, by=1.0)]), "cfg.toml")


def test_names_are_checked_against_the_data():
    rules = RuleSet(cap=[Cap("colour", max=1, within=3)])
    with pytest.raises(ConfigError, match=r"\[\[rules.cap\]\] #1 attribute 'colour': expected one of category"):
        check_names(rules, "cfg.toml", ["price"], ["category"], ["region"])
    with pytest.raises(ConfigError, match=r"when 'city': expected one of region"):
        check_names(RuleSet(filter=[Filter(Match(items=["a"]), when={"city": ["x"]})]), "cfg.toml", [], [],
                    ["region"])


def test_fallback_rates_rank_as_logits():
    assert fallback_score(0.5) == 0.0
    assert fallback_score(0.1) < fallback_score(0.2)
    assert fallback_score(0.0) == pytest.approx(-13.8155, abs=1e-3)


def test_ruled_ndcg_matches_the_metrics_module_without_rules_and_loses_filtered_clicks():
    import numpy as np

    from edgeship.models.metrics import ndcg_at_k
    from edgeship.ondevice.rules import ruled

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 6))
    labels = (rng.random((40, 6)) < 0.3).astype(float)
    views = [LIST] * 40
    plain = ruled(RuleSet(), views, scores, labels, with_rules=True)
    assert plain.ndcg_at_10 == pytest.approx(ndcg_at_k(scores, labels, 10), abs=1e-12)
    assert plain.lists_breaking == {"filter": 0, "pin": 0, "cap": 0, "run": 0}
    # filtering item a: a click on a is lost (DCG without it, the ideal still counts it)
    only_a = np.zeros((1, 6))
    only_a[0, 0] = 1.0
    gone = ruled(RuleSet(filter=[Filter(Match(items=["a"]))]), [LIST], np.array([SCORES]), only_a, True)
    assert gone.ndcg_at_10 == 0.0
    assert ruled(RuleSet(filter=[Filter(Match(items=["a"]))]), [LIST], np.array([SCORES]), only_a,
                 False).lists_breaking["filter"] == 1


def test_fill_counts_the_pinned_candidates_below_the_slot():
    four = Candidates(["a", "b", "c", "d"], [{}] * 4, [{"category": v} for v in "xxyx"], {})
    rules = RuleSet(pin=[Pin(Match(items=["d"]), within=2)], run=[Run("category", max=1, within=6)])
    # d (x) is pinned at slot 1: slot 0 must not be x, so c; below d nothing but x is left, so the run gives way
    assert ranked(rules, [4.0, 3.0, 2.0, 1.0], four) == ["c", "d", "a", "b"]
    capped = RuleSet(pin=[Pin(Match(items=["d"]), within=3)], cap=[Cap("category", max=2, within=3)])
    # d (x) pinned at slot 2: the top 3 may hold one more x only
    assert ranked(capped, [4.0, 3.0, 2.0, 1.0], four) == ["a", "c", "d", "b"]


# --- in the bundle ---------------------------------------------------------------------------------------------

def test_the_bundle_carries_its_rules_and_measures_them(reference_bundle, tiny_config):
    from edgeship.core import typed
    from edgeship.export.manifest import read_manifest_file, read_rules

    rules = read_rules(reference_bundle / "rules.json")
    assert typed.dump(rules.rules) == typed.dump(tiny_config.rules) and "1 filter" in rules.order
    record = read_manifest_file(reference_bundle / "manifest.json").rules
    assert record.rules == 7 and record.lists == 80
    # the model alone breaks the rules on many lists; the model with the rules breaks none of them
    assert sum(record.model.lists_breaking.values()) > 20
    assert record.hybrid.lists_breaking == {"filter": 0, "pin": 0, "cap": 0, "run": 0}
    assert record.fallback.lists_breaking == {"filter": 0, "pin": 0, "cap": 0, "run": 0}
    for ranking in (record.model, record.hybrid, record.rule_baseline, record.fallback):
        assert 0.2 < ranking.ndcg_at_10 < 1.0
    assert record.notes and "items are hashed" in record.notes[0]  # the tiny bundle hashes items
    assert "## Business rules: `rules.json` (7 rules)" in (reference_bundle / "README.md").read_text()


def test_verify_replays_the_rules_on_every_raw_request(reference_bundle, tmp_path, rewrite):
    import json
    import shutil

    from edgeship.core.errors import BundleError
    from edgeship.export.reader import check_bundle

    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    rules = json.loads((copy / "rules.json").read_text())
    rules["rules"]["boost"][0]["by"] = -5.0  # same number of rules, another order
    rewrite(copy, "rules.json", rules)
    with pytest.raises(BundleError, match=r"with_rules\[.*\] is not the order rules.json gives"):
        check_bundle(copy)
    rules["rules"]["run"].append({"attribute": "category", "max": 2, "within": 4})
    rewrite(copy, "rules.json", rules)
    with pytest.raises(BundleError, match="rules.json: 8 rules, the manifest says 7"):
        check_bundle(copy)
