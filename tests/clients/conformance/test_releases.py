"""The release part of the suite (clients/conformance/releases): the committed archives, keys and cases are what
the Python reference writes; every error code a client can report has a case; buckets agree with coreutils."""

from __future__ import annotations

import subprocess

import pytest

from clients.conformance import releases
from edgeship.release.make import CODES

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_committed_release_suite_is_what_the_reference_writes(tmp_path):
    for path in releases.write(tmp_path):
        committed = releases.HERE / path.name
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run python -m clients.conformance"
    assert sorted(p.name for p in releases.HERE.iterdir()) == sorted(p.name for p in tmp_path.iterdir())


def test_every_error_code_and_the_accepting_paths_have_a_case():
    doc = releases.read()
    outcomes = {c["expected"].get("error", "ok") for c in doc["cases"]}
    assert outcomes == set(CODES) | {"ok"}
    ok = next(c for c in doc["cases"] if c["name"] == "ok")["expected"]
    assert ok["version"] == "1.2.0" and ok["rollout"] == 0.25 and ok["previous"] == "1.1.0"
    assert ok["files"] == ["features.json", "manifest.json", "ranker_int8.mlpackage/Manifest.json",
                           "ranker_int8.onnx"]
    assert next(c for c in doc["cases"] if c["name"] == "kill-switch")["expected"]["kill_switch"] is True


def test_buckets_are_sha256_of_salt_colon_user_by_coreutils():
    for b in releases.read()["buckets"]:
        digest = subprocess.run(["sha256sum"], input=f"{b['salt']}:{b['user']}".encode("utf-8"),
                                capture_output=True, check=True).stdout[:8]
        assert b["bucket_u32"] == int(digest, 16) and b["bucket"] == int(digest, 16) / 2 ** 32
        assert b["in_rollout"] == {k: b["bucket"] < float(k) for k in b["in_rollout"]}


def test_store_scenarios_stage_by_bucket_and_kill_back_to_the_release_before():
    from edgeship.release.rollout import bucket, default_salt

    scenarios = {s["name"]: s["steps"] for s in releases.read()["scenarios"]}
    staged = scenarios["install, stage, refuse a downgrade, roll back"][3]["users"]
    # B (1.1.0) goes to the users whose bucket is below its rollout of 0.5; the others keep A (1.0.0)
    assert staged == {u: "1.1.0" if bucket(u, default_salt("1.1.0")) < 0.5 else "1.0.0" for u in staged}
    assert 0 < list(staged.values()).count("1.1.0") < len(staged)
    killed = scenarios["a kill switch sends everyone back to the release before the killed one"]
    assert set(killed[3]["users"].values()) == {"1.0.0"} and killed[4] == {"install": "store-b.tar",
                                                                            "expect": "downgrade"}
    assert set(scenarios["nothing installed: fallback for everyone"][0]["users"].values()) == {None}
    restarted = scenarios["an app restart keeps the floor, so a release rolled back from stays refused"]
    assert restarted[3] == {"restart": {"floor": "1.1.0", "installed": "store-a.tar", "previous": None},
                            "expect": "ok"}
    assert set(restarted[4]["users"].values()) == {"1.0.0"} and restarted[5]["expect"] == "downgrade"
    damaged = scenarios["a restart with a damaged archive keeps nothing"]
    assert damaged[1]["expect"] == "bad_signature" and set(damaged[2]["users"].values()) == {None}
