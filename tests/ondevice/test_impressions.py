"""The impression log as a client writes it (the suite's logging cases, made by edgeship.ondevice.impressions):
every line follows schemas/impressions.schema.json and reads back as the requests, impressions and taps it holds."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from clients.conformance import exploration as suite
from edgeship.ondevice.impressions import read
from edgeship.schemas import schema_path

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_the_written_events_follow_the_schema_and_read_back(tmp_path):
    schema = json.loads(schema_path("impressions.schema.json").read_text())
    lines = []
    for n, case in enumerate(suite.read()["logging"]):
        for event in case["expected"]:
            jsonschema.validate(event, schema)
            lines.append(json.dumps({**event, "request_id": f"{event['request_id']}-{n}"}))
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    log = read(path)
    assert log.request_ids == ["r-1-0", "r-1-1"] and list(log.arms) == ["treatment", "treatment"]
    assert list(log.position) == [0, 1, 2, 0, 1, 2] and log.item[3:] == ["13", "x", "12"]
    assert list(log.tapped) == [True, False, False, True, False, False]
    assert np.allclose(log.propensity[3:], 1 / 6)
    # a request event with the raw request and a shadow ranking follows the schema too
    jsonschema.validate({**suite.read()["logging"][1]["expected"][0], "request": {
        "items": ["12", "x"], "features": [{"price": 1.0}, {"price": 2.0}], "context": {"device": "1"},
        "timestamp": 1764720000.5, "history": [], "attributes": []}}, schema)
