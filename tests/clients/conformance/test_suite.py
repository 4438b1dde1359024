"""The conformance suite (clients/conformance): the committed files are what the Python reference writes, the
reference agrees with numbers computed by hand, and the cases cover every field kind, error code and rule kind."""

from __future__ import annotations

import json

import pytest

import clients.conformance as suite
from edgeship.models.features import canonical, fnv1a_32
from edgeship.ondevice.contract import ERRORS

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


@pytest.fixture(scope="module")
def cases() -> dict[str, dict]:
    return {c["id"]: c for c in suite.read()["cases"]}


def test_committed_suite_is_what_the_reference_writes(tmp_path):
    for path in suite.write(tmp_path):
        committed = suite.HERE / path.relative_to(tmp_path)
        assert committed.read_text() == path.read_text(), f"{committed} is stale: run python -m clients.conformance"


def test_fnv1a_matches_the_published_test_vectors():
    assert (fnv1a_32(""), fnv1a_32("a"), fnv1a_32("foobar")) == (0x811C9DC5, 0xE40C292C, 0xBF9CF968)


def test_canonical_string_forms():
    assert [canonical(v) for v in ("04", 12, 12.0, -3.0, True, False, 0.5)] == [
        "04", "12", "12", "-3", "true", "false", "0.5"]


def test_cases_agree_with_hand_computed_numbers(cases):
    def call(case_id):
        return cases[case_id]["expect"]["calls"][0]

    # hashed items: 1 + fnv1a_32(id) mod 63 (buckets 64, offset 1); campaign: fnv1a_32 mod 16 (offset 0)
    assert call("full-list")["candidates"][0] == 1 + 0xE40C292C % 63
    assert call("full-list")["context"][3] == fnv1a_32("spring") % 16
    # hour and weekday in UTC: 1970-01-01 was a Thursday (3), 2024-01-01 a Monday (0); floor before the epoch
    assert call("time-86399")["context"][:2] == [23, 3]
    assert call("time-86400")["context"][:2] == [0, 4]
    assert call("time--1")["context"][:2] == [23, 2]
    assert call("time-1704067200")["context"][:2] == [0, 0]
    # 12, 12.0 and "12" are one value; "04" is the index 4; true hashes as "true"
    assert call("non-string-values")["context"][2] == call("integral-float-vocabulary")["context"][2] == 1 + 2
    assert call("integral-float-vocabulary")["context"][4] == 4
    assert call("non-string-values")["context"][3] == fnv1a_32("true") % 16
    # (x - mean) * scale clipped: price (100 - 10) * 0.5 = 45 -> 3; rating unclipped; age (1.5 + 2.5) * 0.25 = 1
    assert call("clip-and-standardize")["candidate_features"][0][:2] == [3.0, 1e6]
    assert call("clip-and-standardize")["candidate_features"][3] == [3.0, 2.25, 0.0, 1.0]
    # vocabulary: context OOV 0, item OOV 1, items from 2
    assert call("unseen-values")["candidates"] == [2, 1, 4, 4]
    # rules: 0.1 + 0.2 > 0.3 in float64; a second pin without a free slot above it is not pinned
    assert cases["boost-float64"]["expect"]["order"][:2] == ["b", "a"]
    assert cases["two-pins-no-free-slot"]["expect"]["order"] == ["f", "a", "b", "c", "d", "e"]
    # merge: ties across calls keep the given order
    assert cases["two-and-a-bit-calls"]["expect"]["order"] == ["i6", "i1", "i4", "i8", "i0", "i2", "i5", "i7", "i3"]


def test_the_suite_covers_the_contract(cases):
    kinds = {c["kind"] for name in suite.contracts() for c in json.loads(
        (suite.HERE / "contracts" / name / "features.json").read_text())["context"]}
    assert kinds == {"time", "vocabulary", "hash", "index", "constant"}
    items = {json.loads((suite.HERE / "contracts" / name / "features.json").read_text())["items"]["kind"]
             for name in suite.contracts()}
    assert items == {"hash", "vocabulary", "index"}
    assert {c["expect"]["error"] for c in cases.values() if "error" in c["expect"]} == set(ERRORS)
    rules = [c["rules"] for c in cases.values() if c["rules"]]
    assert all(any(r[kind] for r in rules) for kind in ("filter", "boost", "pin", "cap", "run"))
    assert {c["group"] for c in cases.values()} == {"encode", "errors", "merge", "rules", "fallback"}


def test_training_reads_raw_values_as_the_clients_do():
    """A log's 12.0 (a float column with gaps), 12 and "12" are one value at training time too."""
    import pandas as pd

    from edgeship.models.encoding import hashed, vocabulary

    vocab = vocabulary("city", pd.Series({12.0: 5, "berlin": 3}))
    assert vocab.values == ("12", "berlin")
    assert vocab.encode([12.0, 12, "12", True]).tolist() == [1, 1, 1, 0]
    assert hashed("campaign", 16).encode([True, "true", 3.0]).tolist() == [fnv1a_32("true") % 16] * 2 + [
        fnv1a_32("3") % 16]


def test_every_client_is_released_with_edgeship_s_version():
    import re
    import tomllib

    from edgeship.ondevice.contract import CLIENTS

    root = suite.HERE.parents[1]
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    web = json.loads((root / "clients" / "web" / "package.json").read_text())
    pom = (root / "clients" / "android" / "pom.xml").read_text()
    maven = re.search(r"<artifactId>edgeship-client</artifactId>\s*<version>([^<]+)</version>", pom).group(1)
    assert CLIENTS == {web["name"]: web["version"], "dev.edgeship:edgeship-client": maven}
    assert set(CLIENTS.values()) == {version}
    index = (root / "clients" / "web" / "src" / "index.ts").read_text()
    assert re.search(r'VERSION = "([^"]+)"', index).group(1) == version
