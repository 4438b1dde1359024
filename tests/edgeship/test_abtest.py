"""`edgeship abtest` on impression logs written the way a client writes them (request, impression and tap events),
with arms whose true click rates are known: the readout, the verdict, the sample-ratio check, guardrails, and bad
logs refused with one line naming the line and field."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def write_log(path, arms: dict[str, tuple[int, float]], seed=3, fallback: dict[str, float] | None = None):
    """arms: name -> (users, click rate per impression); each user makes 1-4 requests of 3 shown items."""
    rng = np.random.default_rng(seed)
    lines, rid = [], 0
    for arm, (users, rate) in arms.items():
        for u in range(users):
            for _ in range(rng.integers(1, 5)):
                rid += 1
                policy = "fallback" if rng.random() < (fallback or {}).get(arm, 0.0) else "model"
                lines.append({"event": "request", "request_id": f"r{rid}", "user": f"{arm}-{u}", "arm": arm,
                              "model_version": "1.4.0", "policy": policy, "epsilon": 0.1, "slots": 3,
                              "timestamp": 1_764_720_000.0 + rid, "latency_ms": float(rng.gamma(4, 0.5)),
                              "error": None if policy == "model" else "bad_signature"})
                for k in range(3):
                    item = f"sku-{rng.integers(0, 50)}-{k}"
                    lines.append({"event": "impression", "request_id": f"r{rid}", "position": k, "item": item,
                                  "propensity": 0.9 if k == 0 else 0.05, "explored": False})
                    if rng.random() < rate:
                        lines.append({"event": "tap", "request_id": f"r{rid}", "item": item})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_clear_win_ships_and_the_report_says_why(tmp_path, edgeship_cli):
    log = write_log(tmp_path / "log.jsonl", {"control": (3000, 0.05), "treatment": (3000, 0.07)})
    out = tmp_path / "ab"
    done = edgeship_cli("abtest", str(log), "--split", "control=0.5,treatment=0.5", "--guardrail",
                        "fallback_rate<=0.05", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "ab.json").read_text())
    control, treatment = report["arms"]["control"], report["arms"]["treatment"]
    assert control["users"] == treatment["users"] == 3000 and control["impressions"] == 3 * control["requests"]
    assert abs(control["ctr"] - 0.05) < 0.006 and abs(treatment["ctr"] - 0.07) < 0.006
    (lf,) = report["lifts"]
    assert lf["low"] < 0.4 < lf["high"] and lf["low"] > 0  # truth +40 %
    assert report["verdicts"]["treatment"].startswith("ship: click rate +")
    assert report["sample_ratio"]["p_value"] == 1.0 and report["guardrails"][0]["passed"]
    assert "| treatment |" in (out / "ab.md").read_text()
    assert (out / "ab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = edgeship_cli("abtest", str(log), "--out", str(out))
    assert again.returncode == 2 and "already holds an ab.json" in again.stderr


def test_a_45_55_split_reported_as_50_50_is_caught(tmp_path, edgeship_cli):
    log = write_log(tmp_path / "log.jsonl", {"control": (4500, 0.05), "treatment": (5500, 0.05)})
    done = edgeship_cli("abtest", str(log), "--split", "control=0.5,treatment=0.5", "--out", str(tmp_path / "ab"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert report["sample_ratio"]["p_value"] < 1e-10
    assert report["verdicts"]["treatment"].startswith("sample ratio mismatch")


def test_a_broken_guardrail_stops_a_winner(tmp_path, edgeship_cli):
    log = write_log(tmp_path / "log.jsonl", {"control": (2000, 0.05), "treatment": (2000, 0.08)},
                    fallback={"treatment": 0.2})
    done = edgeship_cli("abtest", str(log), "--guardrail", "fallback_rate<=0.05", "--guardrail",
                        "latency_p95_ms<=100", "--out", str(tmp_path / "ab"))
    report = json.loads((tmp_path / "ab" / "ab.json").read_text())
    assert done.returncode == 0 and report["verdicts"]["treatment"] == "stop: guardrail fallback_rate broken"
    fallback = next(g for g in report["guardrails"] if g["name"] == "fallback_rate")
    assert abs(fallback["value"] - 0.2) < 0.03 and fallback["control"] == 0.0


@pytest.mark.parametrize("line,expect", [
    ('{"event": "request", "request_id": "r1", "user": "u", "arm": "a", "policy": "magic", "timestamp": 1}',
     "line 1: policy: expected one of model, fallback, given, got 'magic'"),
    ('{"event": "impression", "request_id": "r9", "position": 0, "item": "x", "propensity": 0.5}',
     "line 1: request_id 'r9': an impression of a request the log does not hold"),
    ('{"event": "impression", "request_id": "r1", "position": 0, "item": "x", "propensity": 0}',
     "line 1: propensity: expected a probability in (0, 1], got 0"),
    ('{"event": "request", "request_id": "r1", "user": "u", "arm": "a", "bucket": 1.0, "policy": "model", '
     '"timestamp": 1}', "line 1: bucket: expected a number in [0, 1), got 1.0"),
    ("not json", "line 1: not JSON"),
    ('{"event": "click"}', "line 1: event: expected one of request, impression, tap"),
])
def test_a_bad_log_line_is_named(line, expect, tmp_path, edgeship_cli):
    log = tmp_path / "log.jsonl"
    log.write_text(line + "\n")
    done = edgeship_cli("abtest", str(log), "--out", str(tmp_path / "ab"))
    assert done.returncode == 2 and expect in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "ab").exists()


def test_bad_arguments(tmp_path, edgeship_cli):
    log = write_log(tmp_path / "log.jsonl", {"control": (20, 0.1), "treatment": (20, 0.1)})
    for args, expect in ((("--split", "control=1"), "--split: expected a positive share for each arm"),
                         (("--guardrail", "speed<=3"), "--guardrail: expected NAME<=VALUE"),
                         (("--control", "base"), "--control: no arm 'base' in the log")):
        done = edgeship_cli("abtest", str(log), *args, "--out", str(tmp_path / "ab"))
        assert done.returncode == 2 and expect in done.stderr, done.stderr


def test_log_lines_and_the_report_follow_their_schemas(tmp_path, edgeship_cli):
    import jsonschema

    from edgeship.schemas import schema_path

    log = write_log(tmp_path / "log.jsonl", {"control": (30, 0.1), "treatment": (30, 0.1)})
    events = json.loads(schema_path("impressions.schema.json").read_text())
    for line in log.read_text().splitlines():
        jsonschema.validate(json.loads(line), events)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"event": "impression", "request_id": "r1", "position": "first"}, events)
    done = edgeship_cli("abtest", str(log), "--out", str(tmp_path / "ab"))
    assert done.returncode == 0
    jsonschema.validate(json.loads((tmp_path / "ab" / "ab.json").read_text()),
                        json.loads(schema_path("ab.schema.json").read_text()))
