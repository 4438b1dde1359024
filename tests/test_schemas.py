"""The JSON Schemas in schemas/ match the typed records, ship in every bundle, and every file the project writes
validates against them with a standard JSON Schema validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from edgeship.schemas import NAMES, schema_path
from tools.schemas import generated

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _validate(document: Path, schema_name: str) -> None:
    schema = json.loads(schema_path(schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(document.read_text()))


def test_committed_schemas_are_what_the_records_generate():
    fresh = generated()
    assert sorted(fresh) == sorted(NAMES)
    for name, text in fresh.items():
        assert schema_path(name).read_text() == text, f"schemas/{name} is stale: run python -m tools.schemas"


def test_bundle_files_validate_and_carry_their_schemas(reference_bundle):
    for doc in ("manifest.json", "testvectors.json", "features.json", "testvectors_raw.json", "rules.json",
                "fallback.json"):
        schema = doc.replace(".json", ".schema.json")
        _validate(reference_bundle / doc, schema)
        assert (reference_bundle / schema).read_text() == schema_path(schema).read_text()


def test_the_schema_catches_what_an_app_would_trip_over(reference_bundle, tmp_path):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    manifest["artifacts"][0]["sha256"] = 123
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(manifest))
    with pytest.raises(jsonschema.ValidationError, match="123 is not of type 'string'"):
        _validate(bad, "manifest.schema.json")
    manifest["artifacts"][0]["sha256"] = "ab"
    manifest["artifacts"][0]["tflite_signature"] = "serving_default"  # format facts live under the format's key
    bad.write_text(json.dumps(manifest))
    with pytest.raises(jsonschema.ValidationError, match="Additional properties are not allowed"):
        _validate(bad, "manifest.schema.json")


def test_bench_json_validates(reference_bundle, tmp_path):
    from edgeship.benchmarks import report
    from edgeship.benchmarks.harness import collect_targets, run_bench
    from edgeship.benchmarks.records import BenchConfig

    targets, source = collect_targets([reference_bundle])
    result = run_bench(targets, BenchConfig(threads=(1,), rounds=2, invokes=5, warmup=1), source, lambda _: None)
    report.write(result, tmp_path, force=False)
    _validate(tmp_path / "bench.json", "bench.schema.json")
