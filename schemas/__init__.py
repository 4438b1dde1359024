"""JSON Schemas (draft 2020-12) of the files edgeship writes: manifest.json, testvectors.json, features.json,
testvectors_raw.json, rules.json (all five copied into every bundle), fallback.json (into bundles that have one),
bench.json, ope.json (`edgeship evaluate`), ab.json (`edgeship abtest`), release.json (in every release archive)
and impressions (one line of the impression log an app writes). Generated from the typed records (`python -m tools.schemas`); a test keeps the
files here in step with the code, and validates every file the project writes against them."""

from __future__ import annotations

from pathlib import Path

NAMES = ("manifest.schema.json", "testvectors.schema.json", "features.schema.json", "testvectors_raw.schema.json",
         "rules.schema.json", "fallback.schema.json", "bench.schema.json", "ope.schema.json", "ab.schema.json",
         "release.schema.json", "impressions.schema.json")


def schema_path(name: str) -> Path:
    return Path(__file__).parent / name
