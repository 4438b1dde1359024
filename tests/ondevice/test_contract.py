"""features.json: an app that follows only the contract (and vocabularies.json) produces exactly the tensors the
model was trained on; a bundle whose contract or raw vectors are wrong fails verification."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from edgeship.core import typed
from edgeship.core.errors import BundleError
from edgeship.export.reader import check_bundle
from edgeship.models import logs
from edgeship.models.features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, HISTORY
from edgeship.models.schema import load_schema
from edgeship.ondevice.contract import Contract, RawEncoder, RawRequest, ranked
from studies.synthetic_log import write_log

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _as_app_reads_it(contract: Contract, encoders) -> RawEncoder:
    """Through JSON text and back, as the files in the bundle are."""
    text = json.loads(json.dumps(typed.dump(contract)))
    return RawEncoder(typed.load(Contract, text, "features.json", toml=False),
                      json.loads(json.dumps(encoders.to_json())))


@pytest.mark.parametrize("rules", [{}, {"items": "hash", "fields": (("device", "hash"), ("region", "hash:16"))}])
def test_contract_reproduces_the_training_tensors_of_a_log(tmp_path, rules):
    folder = write_log(tmp_path / "log", 2000, kind="csv", seed=2)
    files, kind = logs.log_files(folder)
    schema = replace(logs.resolve(load_schema(folder / "schema.toml"), files, kind), **rules)
    enc, _ = logs.encoders(files, kind, schema, progress=lambda _: None)
    prof = logs.profile(files, kind, schema, enc, progress=lambda _: None)
    spec = logs.feature_spec(schema, prof, enc)
    k = 10
    contract = Contract.of(spec, enc, k, "vocabularies.json", spec.inputs(k))
    assert [c.kind for c in contract.context] == ["time", "time"] + (
        ["vocabulary", "vocabulary"] if not rules else ["hash", "hash"])
    app = _as_app_reads_it(contract, enc)
    _, row0, df = next(logs.chunks(files, kind, schema.columns()))
    df["price"] = df["price"].astype(float)
    df.loc[3, "price"] = 1e6  # beyond the clip
    df.loc[4, "device"] = "a-phone-nobody-had"  # out of vocabulary (or just another hash)
    df.loc[5, "item_id"] = "sku-unseen"
    trained = logs.standardized(logs.encode(files[0], row0, df, schema, enc), spec)
    for r in range(8):  # each row as a one-candidate request, from the raw strings the log held
        row = df.iloc[r]
        request = RawRequest(items=[str(row["item_id"])], features=[{"price": row["price"], "quality": row["quality"]}],
                             context={"device": str(row["device"]), "region": str(row["region"])},
                             timestamp=float(np.datetime64(row["ts"].rstrip("Z"), "s").astype(np.int64)),
                             history=str(row["recent_items"]).split("|"))
        got = app.encode(request)
        assert got[CONTEXT][0].tolist() == trained.context[r].tolist()
        assert got[HISTORY][0].tolist() == trained.history[r].tolist()
        assert got[CANDIDATES][0, 0] == trained.item[r] and (got[CANDIDATES][0, 1:] == 0).all()
        np.testing.assert_allclose(got[CANDIDATE_FEATURES][0, 0], trained.features[r], atol=1e-6)
        assert not got[CANDIDATE_FEATURES][0, 1:].any()  # padding slots
    assert trained.features[3, 0] == 5.0  # the clip, in both
    if not rules:
        assert trained.context[4, 2] == 0 and trained.item[5] == 1  # out-of-vocabulary ids


def test_ranked_keeps_the_given_order_on_ties_and_drops_padding():
    assert ranked([[0.5, 2.0, 0.5, 9.0]], ["a", "b", "c"]) == ["b", "a", "c"]


def test_tiny_bundle_raw_vectors_cover_the_edge_cases(reference_bundle):
    raw = json.loads((reference_bundle / "testvectors_raw.json").read_text())
    k = json.loads((reference_bundle / "manifest.json").read_text())["model"]["candidates"]
    cases = raw["cases"]
    assert len(cases[1]["request"]["items"]) < k and cases[1]["tensors"]["candidates"][0][-1] == 0
    assert cases[3]["request"]["history"] == [] and not any(cases[3]["tensors"]["history"][0])
    for case in cases:
        for path, scores in case["expected"].items():
            assert np.asarray(scores).shape == (1, k)  # the declared output shape
            assert sorted(case["ranked"][path]) == sorted(case["request"]["items"])


def _broken(reference_bundle, tmp_path, rewrite, edit) -> BundleError:
    """A bundle written with a wrong contract: its checksum in the manifest matches, what it says does not."""
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    data = json.loads((copy / "features.json").read_text())
    edit(data)
    rewrite(copy, "features.json", data)
    with pytest.raises(BundleError) as e:
        check_bundle(copy)
    return e.value


def test_a_planted_encoding_mistake_fails_verification(reference_bundle, tmp_path, rewrite):
    def wrong_seed(c):
        c["hash"]["offset_basis"] += 1

    assert "testvectors_raw.json: cases[0].tensors.history: features.json encodes the request to" in str(
        _broken(reference_bundle, tmp_path / "a", rewrite, wrong_seed))

    def swapped_columns(c):
        c["context"][0]["source"], c["context"][1]["source"] = c["context"][1]["source"], c["context"][0]["source"]

    # hour 0..23 read as the weekday column: the range check of contract 2 catches it before the model runs
    assert "cases[0].request: features.json cannot encode it: out_of_range: " in str(
        _broken(reference_bundle, tmp_path / "b", rewrite, swapped_columns))

    def other_k(c):
        c["inputs"][2]["shape"] = [1, 7]

    assert "disagree with ranker_fp32.tflite" in str(_broken(reference_bundle, tmp_path / "c", rewrite, other_k))


def test_a_changed_contract_file_fails_its_checksum(reference_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    assert set(json.loads((copy / "manifest.json").read_text())["files"]) == {
        "features.json", "vocabularies.json", "testvectors.json", "testvectors_raw.json", "rules.json", "fallback.json"}
    with open(copy / "vocabularies.json", "a") as f:
        f.write(" ")
    with pytest.raises(BundleError, match="vocabularies.json: missing or not the file the manifest describes"):
        check_bundle(copy)
