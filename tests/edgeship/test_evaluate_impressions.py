"""`edgeship evaluate` on the app's impression log (JSON Lines) with no schema: the raw requests the app ranked
are ranked again by the bundle, and the estimates cover the truth of a log whose taps are known: every item is
tapped with probability 0.1 wherever it is shown, so every policy's click rate is 0.1 (nine intervals are
read, so each is held to about four standard errors rather than to its own 95 %)."""

from __future__ import annotations

import json

import numpy as np

from edgeship.ondevice.exploration import draws_needed, explore


def _log(path, bundle, requests=3000, rate=0.1, seed=4):
    cases = json.loads((bundle / "testvectors_raw.json").read_text())["cases"]
    rng = np.random.default_rng(seed)
    lines = []
    for r in range(requests):
        raw = cases[r % len(cases)]["request"]
        n = len(raw["items"])
        slate = explore(list(range(n)), 3, 1.0, list(rng.random(draws_needed(n))))  # the uniform logging policy
        lines.append({"event": "request", "request_id": f"r{r}", "user": f"u{r % 700}", "arm": "control",
                      "policy": "model", "timestamp": 1_764_720_000.0 + r, "request": raw})
        for k, (i, p) in enumerate(zip(slate.shown, slate.propensities)):
            item = str(raw["items"][i])
            lines.append({"event": "impression", "request_id": f"r{r}", "position": k, "item": item,
                          "propensity": p, "explored": True})
            if rng.random() < rate:
                lines.append({"event": "tap", "request_id": f"r{r}", "item": item})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_an_impression_log_is_evaluated_without_a_schema_and_covers_the_truth(tmp_path, reference_bundle,
                                                                              edgeship_cli):
    log = _log(tmp_path / "log.jsonl", reference_bundle)
    out = tmp_path / "ope"
    done = edgeship_cli("evaluate", str(reference_bundle), "--data", str(log), "--out", str(out), "--resamples", "200")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "ope.json").read_text())
    assert report["rows"] == 9000 and report["positions"] == 3
    assert "resample whole users (700 of them)" in report["notes"][0]
    assert len(report["policies"]) >= 3  # model, hybrid (rules), fallback
    for policy in report["policies"]:
        for name in ("ips", "snips", "dr"):  # nine 95 % intervals: each within ~4 standard errors of the truth
            e = policy[name]
            half = (e["high"] - e["low"]) / 2
            assert 0 < half < 0.04 and abs(e["estimate"] - 0.1) <= 2.2 * half, (policy["policy"], name, e)


def test_an_impression_log_without_raw_requests_or_with_a_schema_is_refused(tmp_path, reference_bundle,
                                                                            edgeship_cli):
    log = _log(tmp_path / "log.jsonl", reference_bundle, requests=5)
    stripped = tmp_path / "stripped.jsonl"
    stripped.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "request"}) + "\n"
                                for line in log.read_text().splitlines()))
    done = edgeship_cli("evaluate", str(reference_bundle), "--data", str(stripped), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "request 'r0' has no `request`" in done.stderr, done.stderr
    done = edgeship_cli("evaluate", str(reference_bundle), "--data", str(log), "--schema", str(log),
                        "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "--schema" in done.stderr and "needs no schema" in done.stderr
    assert not (tmp_path / "o").exists()
