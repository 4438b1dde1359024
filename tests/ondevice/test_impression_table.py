"""The app's impression log as a training table (`edgeship train --data app.jsonl`, no schema): one row per
impression with the raw context and features under their own names, the implied schema, and the data source the
pipeline reads it with (K from the requests' candidates, not the slates' length)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeship.config import LogConfig, RunConfig
from edgeship.core.errors import InputError
from edgeship.ondevice import impression_table as it
from edgeship.ondevice.exploration import explore
from edgeship.ondevice.impressions import events, tap

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _request(rng, n: int = 6, with_request: bool = True) -> dict:
    items = [f"sku-{i}" for i in rng.choice(40, n, replace=False)]
    return {"items": items, "features": [{"price": float(rng.random()), "rating": float(rng.integers(1, 6))}
                                         for _ in items],
            "context": {"device": ["ios", "android"][int(rng.integers(2))], "hour": int(rng.integers(24))},
            "history": [f"sku-{i}" for i in rng.choice(40, int(rng.integers(0, 4)), replace=False)]}


def _log(path, requests: int = 300, seed: int = 0, edit=None):
    rng = np.random.default_rng(seed)
    lines = []
    for r in range(requests):
        request = _request(rng)
        if edit is not None:
            request = edit(r, request)
        slate = explore(list(range(len(request["items"]))), 3, 0.2, list(rng.random(len(request["items"]))))
        lines += events(f"r{r}", f"u{r % 50}", "control", "model", 1764720000.0 + r, request["items"], slate,
                        request=request)
        if rng.random() < 0.4:
            lines.append(tap(f"r{r}", request["items"][slate.shown[0]]))
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


def test_one_row_per_impression_with_the_raw_values_under_their_names(tmp_path):
    path = _log(tmp_path / "app.jsonl")
    frame, schema = it.table(path)
    assert len(frame) == 900 and frame[it.REQUEST].nunique() == 300
    first = json.loads(path.read_text().splitlines()[0])["request"]
    shown = json.loads(path.read_text().splitlines()[1])
    row = frame.iloc[0]
    k = first["items"].index(shown["item"])
    assert row[it.ITEM] == shown["item"] and row[it.POSITION] == 0 and row[it.PROPENSITY] == shown["propensity"]
    assert row["price"] == first["features"][k]["price"] and row["device"] == first["context"]["device"]
    assert row["hour"] == str(first["context"]["hour"])  # canonical, as the contract reads raw values
    assert row[it.CANDIDATES].split("|") == first["items"] and row[it.HISTORY].split("|") == (first["history"] or [""])
    assert 0 < frame[it.TAP].sum() < 300 and set(frame[it.TAP]) == {0, 1}
    assert it.TIMESTAMP not in frame  # the raw requests carry none: the contract must not ask for one
    assert schema.context == ("device", "hour") and schema.numeric == schema.item_features == ("price", "rating")
    assert (schema.group_by, schema.first_position, schema.history_separator) == ((it.REQUEST,), 0, "|")


def test_refusals_name_the_request(tmp_path):
    path = tmp_path / "bare.jsonl"
    path.write_text(json.dumps({"event": "request", "request_id": "r0", "user": "u", "arm": "a", "policy": "model",
                                "timestamp": 0}) + "\n")
    with pytest.raises(InputError, match="request 'r0' has no `request`"):
        it.table(path)
    reserved = _log(tmp_path / "reserved.jsonl", 5, edit=lambda r, q: {**q, "context": {"_item": "x"}})
    with pytest.raises(InputError, match="named '_item'"):
        it.table(reserved)

    twice = _log(tmp_path / "twice.jsonl", 5, edit=lambda r, q: {**q, "context": {"price": "high"}})
    with pytest.raises(InputError, match="'price' is both a context key and a feature name"):
        it.table(twice)

    stray = tmp_path / "stray.jsonl"  # an impression of an item its request did not hold: one line, as evaluate says
    stray.write_text(_log(tmp_path / "ok.jsonl", 3).read_text().replace('"item": "sku-', '"item": "gone-', 1))
    with pytest.raises(InputError, match="request 'r0': the shown item 'gone-"):
        it.table(stray)

    def odd_features(r, request):
        if r == 3:
            request["features"] = [{"price": 1.0} for _ in request["items"]]
        return request

    with pytest.raises(InputError, match="request 'r3'"):
        it.table(_log(tmp_path / "odd.jsonl", 10, edit=odd_features))


def test_pipes_in_item_ids_switch_the_separator(tmp_path):
    def piped(r, request):
        request["items"] = [f"{i}|x" for i in request["items"]]
        request["history"] = []
        return request

    frame, schema = it.table(_log(tmp_path / "piped.jsonl", 20, edit=piped))
    assert schema.history_separator == "\x1f" and frame[it.CANDIDATES].iloc[0].count("\x1f") == 5
    assert schema.history is None  # no request has any history


def test_the_data_source_reads_it_with_k_from_the_requests(tmp_path):
    from edgeship.sources import prepare

    path = _log(tmp_path / "app.jsonl", 400)
    cfg = RunConfig(log=LogConfig(str(path), ""))
    data = prepare(cfg, lambda line: None)
    assert data.candidates == 6  # the requests' 6 candidates, not the 3 shown (and labelled) of each
    assert data.evaluation.candidates.shape[1] == 6 and data.evaluation.mask.sum(axis=1).max() == 3
    assert data.source["kind"] == "log" and data.source["data"] == str(path)
    assert sum(data.source["rows"].values()) == 1200 and data.source["rows"]["train"] == data.train_rows
    assert [f.name for f in data.spec.context_fields] == ["device", "hour"]
