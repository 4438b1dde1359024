"""Raw values -> ids: the app-side rules in vocabularies.json reproduce the ids the model was trained on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from edgeship.export.bundle import vocabularies_text
from edgeship.models import encoding, logs
from edgeship.models.schema import load_schema
from studies.synthetic_log import write_log

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _fnv(text: str) -> int:  # written again from the file's own description, not imported
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) % 2**32
    return h


def _app_lookup(field: dict, value: str) -> int:
    """What an app does with vocabularies.json, following each field's `rule` text."""
    if field["kind"] == "vocabulary":
        first, oov = (2, 1) if field["input"] != "context" else (1, 0)
        return first + field["values"].index(value) if value in field["values"] else oov
    if field["kind"] == "hash":
        return 1 + _fnv(value) % (field["size"] - 1) if field["input"] != "context" else _fnv(value) % field["size"]
    raise AssertionError(field["kind"])


@pytest.mark.parametrize("items, device", [("auto", "auto"), ("hash", "hash:16")])
def test_app_side_lookup_reproduces_the_training_ids(tmp_path, items, device):
    folder = write_log(tmp_path / "log", 2_000, seed=2)
    files, kind = logs.log_files(folder)
    schema = logs.resolve(load_schema(folder / "schema.toml"), files, kind)
    from dataclasses import replace

    schema = replace(schema, items=items, fields=(("device", device),))
    enc, _ = logs.encoders(files, kind, schema, progress=lambda _: None)
    shipped = json.loads(vocabularies_text(enc))
    by_name = {f["name"]: f for f in shipped["fields"]}
    _, row0, df = next(logs.chunks(files, kind, schema.columns()))
    e = logs.encode(files[0], row0, df, schema, enc)
    for j, col in enumerate(schema.context, start=2):  # after hour and weekday
        assert e.context[:, j].tolist() == [_app_lookup(by_name[col], str(v)) for v in df[col]]
        assert by_name[col]["column"] == j
    assert e.item.tolist() == [_app_lookup(by_name["item_id"], v) for v in df["item_id"]]
    first_history = [h.split("|") for h in df["recent_items"]]
    assert e.history[:, :2].tolist() == [[_app_lookup(by_name["item_id"], v) for v in h] for h in first_history]
    assert by_name["device"]["kind"] == ("vocabulary" if device == "auto" else "hash")
    assert by_name["device"]["size"] == (4 if device == "auto" else 16)


def test_collisions_count_values_that_share_an_id():
    counts = pd.Series({"a": 5, "b": 3, "c": 2})
    table = encoding.hashed("x", 2, item=True)  # one id besides padding: every value shares it
    c = encoding.collisions(table, counts)
    assert (c.distinct, c.colliding, c.impression_share) == (3, 3, 1.0)
    vocab = encoding.vocabulary("x", counts, item=True, min_count=3)  # "c" is too rare: the OOV id
    assert vocab.values == ("a", "b") and vocab.size == 4
    assert vocab.encode(["a", "b", "c", "zzz"]).tolist() == [2, 3, 1, 1]
    c = encoding.collisions(vocab, counts)
    assert (c.colliding, c.impression_share) == (0, 0.0)  # c alone in OOV shares nothing here
    assert encoding.collisions(encoding.vocabulary("x", counts, item=True, min_count=6), counts).colliding == 3


def test_vocabulary_order_is_by_frequency_then_value():
    enc = encoding.vocabulary("f", pd.Series({"b": 2, "a": 2, "z": 9}))
    assert enc.values == ("z", "a", "b") and enc.encode(np.array(["a", "q"], dtype=object)).tolist() == [2, 0]
