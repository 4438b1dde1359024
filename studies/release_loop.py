"""The loop after shipping, end to end, with the truth known (issue 24). Two bundles of the built-in world (seed 7):
the default run's (`make run`, artifacts/bundle) and a weaker one (studies/loop_current.toml: the same shape on a
fifth of the requests), released and signed once each way round. Per seed, users of the world (ids new to each
seed, so buckets are drawn anew) visit an app on @edgeship/client under Node (clients/web/test/app_simulator.ts):

1. shadow: every user on the current release, exploring (epsilon-greedy, exact propensities), the candidate
   release scored in shadow; the app's impression log -> `edgeship evaluate CANDIDATE --baseline CURRENT`
   (offline: the candidate's click rate and its difference from the current one, 95 % intervals over users);
2. rollout: the candidate released to 10 % of users (bucket(user, salt) < 0.1), a tampered copy of it offered
   first (and refused); the log -> `edgeship abtest` (online: the lift, 95 % interval over users, the
   sample-ratio check against the planned 90/10);
3. a planted fault: a 45/55 assignment read against a planned 50/50 (the sample-ratio check must flag it).

The truth: the generator knows every candidate's click probability, and a user looks at position k with the
examination probability EXAMINATION[k]; each policy's expected click rate per impression is computed exactly on
a large independent population of requests, ranked by the same .onnx files in ONNX Runtime (Python).
Even seeds release the better model as the candidate (the right decision: ship), odd seeds the weaker one
(right: do not ship). `python -m studies.release_loop [--seeds 20] [--out artifacts/release_loop]`
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeship.config import bundle_config
from edgeship.core.files import read_json, write_figure, write_json, write_text
from edgeship.export.reader import read_contract, read_manifest
from edgeship.models.data import Requests, fresh_requests
from edgeship.models.features import PAD_ID
from edgeship.ondevice.contract import INDEX, VOCABULARY, RawRequest
from edgeship.ondevice.rules import from_requests

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "clients" / "web"
EXAMINATION = (1.0, 0.8, 0.65)  # P(a user looks at position k), the position-based click model's
MODEL_FILE = "ranker_int8.onnx"  # what the web client scores with
CANDIDATES = 10  # per request


@dataclass(frozen=True)
class Traffic:
    requests: Requests  # encoded, with true_prob
    raw: list[RawRequest]
    users: list[str]  # per request


def traffic(bundle: Path, users: np.ndarray, per_user: int, stream: int, prefix: str) -> Traffic:
    """per_user requests by each of `users` (world user indices), as raw requests an app holds (the bundle's
    contract read backwards: vocabulary values and index values exactly)."""
    cfg = bundle_config(read_manifest(bundle))
    who = np.repeat(users, per_user)
    requests = fresh_requests(cfg.data, CANDIDATES, cfg.seed, len(who), stream, users=who)
    return Traffic(requests, raw_requests(bundle, requests), [f"{prefix}{u}" for u in who])


def raw_requests(bundle: Path, requests: Requests) -> list[RawRequest]:
    contract = read_contract(bundle, read_manifest(bundle))
    vocabularies = read_json(bundle / "vocabularies.json", "vocabularies.json")
    values = {f["name"]: f.get("values", []) for f in vocabularies["fields"]}
    item = contract.items.vocabulary
    if contract.items.kind != VOCABULARY or any(c.kind not in (INDEX, VOCABULARY) for c in contract.context):
        raise SystemExit(f"{bundle}: the study reads the built-in contract (item vocabulary, index or vocabulary "
                         "context)")
    names = {c.name: c.source for c in contract.context}
    out = []
    for r, c in enumerate(from_requests(contract, vocabularies, requests, None)):
        history = [values[item.field][i - item.first] for i in requests.history[r] if i != PAD_ID
                   and 0 <= i - item.first < item.count]
        context = {names[k]: int(v) if v is not None and v.isdigit() else v for k, v in c.context.items()}
        out.append(RawRequest(items=c.items, features=[{k: round(v, 5) for k, v in f.items()} for f in c.features],
                              context=context, history=history))
    return out


def greedy_orders(bundle: Path, raw: list[RawRequest], slots: int) -> np.ndarray:
    """[N, slots] the candidate each position shows under the bundle's hybrid policy (model, then rules.json)."""
    from edgeship.offpolicy import open_bundle, policy_orders

    return policy_orders(open_bundle(bundle, MODEL_FILE), raw, slots, lambda line: None)["hybrid"]


def values(orders: np.ndarray, prob: np.ndarray, examination=EXAMINATION) -> tuple[float, float]:
    """(greedy, uniform): the expected click rate per impression of showing orders[:, :slots], and of showing a
    uniformly random slate of the same candidates (what exploration shows)."""
    seen = np.asarray(examination)[None, :]
    picked = np.where(orders >= 0, np.take_along_axis(prob, np.maximum(orders, 0), axis=1), 0.0)
    return float((picked * seen).mean()), float((prob.mean(axis=1, keepdims=True) * seen).mean())


# --- releases ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Releases:
    """The signed archives of one direction: the current release, the candidate at 10 %, and (for the planted
    fault) the candidate at 45 % where the plan says 50 %."""

    current: Path
    candidate: Path
    candidate_45: Path | None


def make_releases(out: Path, better: Path, weaker: Path, step) -> tuple[Path, dict[str, Releases]]:
    """Keys and archives, made once: "better" (the candidate is the better model) and "weaker" (it is not)."""
    from edgeship.release.keys import keygen
    from edgeship.release.make import make_release

    keys = out / "keys"
    if not (keys / "release.key").exists():
        keygen(keys)
    made = {}

    def release(bundle: Path, version: str, name: str, **kw) -> Path:  # made anew: the bundles may have changed
        path = out / "releases" / f"{name}.tar"
        step(f"releasing {bundle} as {version} ({name})")
        make_release(bundle, keys / "release.key", version, path, force=True, **kw)
        return path

    for direction, (cur, cand) in {"better": (weaker, better), "weaker": (better, weaker)}.items():
        current = release(cur, "1.0.0", f"{direction}-current-1.0.0")
        made[direction] = Releases(
            current, release(cand, "1.1.0", f"{direction}-candidate-1.1.0", rollout=0.1, previous=current),
            release(cand, "1.1.0", f"{direction}-candidate-1.1.0-at-45", rollout=0.45, previous=current)
            if direction == "better" else None)
    return keys / "release.pub", made


def tampered(archive: Path, out: Path, seed: int) -> tuple[Path, Path]:
    """Two copies an attacker or a broken CDN could serve: one byte of the model file flipped (at a seeded
    offset), and release.json edited to roll out to everyone (the signature kept)."""
    from edgeship.release import archive as tar

    entries = tar.read(archive.read_bytes(), str(archive))
    rng = np.random.default_rng([seed, 59])
    model = bytearray(entries["bundle/" + MODEL_FILE])
    at = int(rng.integers(len(model)))
    model[at] ^= 1 << int(rng.integers(8))
    record = json.loads(entries["release.json"])
    flipped = out / "tampered-model.tar"
    flipped.write_bytes(tar.write({**entries, "bundle/" + MODEL_FILE: bytes(model)}))
    everyone = out / "tampered-record.tar"
    everyone.write_bytes(tar.write({**entries, "release.json": json.dumps({**record, "rollout": 1.0}).encode()}))
    return flipped, everyone


# --- the app ---------------------------------------------------------------------------------------------------

def write_visits(path: Path, t: Traffic, prefix: str, start: float) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, (raw, user) in enumerate(zip(t.raw, t.users)):
            request = {"items": raw.items, "features": raw.features, "context": raw.context, "history": raw.history}
            f.write(json.dumps({"request_id": f"{prefix}{i}", "user": user, "timestamp": start + 10 * i,
                                "request": request, "p": [round(float(p), 7) for p in t.requests.true_prob[i]]},
                               separators=(",", ":")) + "\n")


def build_app() -> Path:
    """clients/web compiled with the simulator (tsc; the Node packages come from `make test`'s npm ci)."""
    if not (WEB / "node_modules" / ".bin" / "tsc").exists():
        raise SystemExit("clients/web has no node_modules: run `make test` (or npm ci in clients/web) first")
    subprocess.run(["npx", "tsc", "-p", "tsconfig.test.json"], cwd=WEB, check=True)
    return WEB / "build" / "test" / "app_simulator.js"


def run_app(app: Path, plan: dict, path: Path) -> dict:
    write_json(path, plan)
    done = subprocess.run(["node", str(app), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"app_simulator {path}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one seed ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    shadow_users: int = 5_000
    shadow_requests: int = 2  # per user
    shadow_epsilon: float = 0.2
    # per user, every user of the world (ids new to the seed); 3 gave a 95 % interval of +-5.4 % around a true lift
    # of 10 %: too little power
    rollout_requests: int = 6
    rollout_epsilon: float = 0.05  # exploration goes on during the rollout, so its log serves the next model
    srm_users: int = 4_000
    truth_requests: int = 40_000
    resamples: int = 500


@dataclass(frozen=True)
class Truth:
    greedy: dict[str, float]  # bundle -> expected click rate per impression of its ranking
    uniform: float  # ... of a uniformly random slate (what exploration shows)

    def online(self, bundle: str, epsilon: float) -> float:
        return (1 - epsilon) * self.greedy[bundle] + epsilon * self.uniform


def measure_truth(bundles: list[Path], s: Settings, step) -> Truth:
    cfg = bundle_config(read_manifest(bundles[0]))
    who = np.random.default_rng([cfg.seed, 67]).integers(0, cfg.data.users, s.truth_requests)
    t = traffic(bundles[0], who, 1, 7_000, "truth-")
    greedy = {}
    for b in bundles:
        step(f"truth: ranking {len(t.raw):,} population requests with {b / MODEL_FILE}")
        greedy[str(b)], uniform = values(greedy_orders(b, t.raw, len(EXAMINATION)), t.requests.true_prob)
    return Truth(greedy, uniform)


def one_seed(seed: int, better: Path, weaker: Path, public: Path, made: dict[str, Releases], truth: Truth,
             s: Settings, app: Path, out: Path, keep_logs: bool) -> dict:
    from edgeship.abtest import readout
    from edgeship.abtest import write as write_ab
    from edgeship.offpolicy import evaluate

    out.mkdir(parents=True, exist_ok=True)
    direction = "better" if seed % 2 == 0 else "weaker"
    rel = made[direction]
    cand, cur = (better, weaker) if direction == "better" else (weaker, better)
    users = bundle_config(read_manifest(better)).data.users
    rng = np.random.default_rng([seed, 61])
    prefix = f"s{seed}-u"
    common = {"keys": [str(public)], "client_version": "0.1.0", "model_file": MODEL_FILE,
              "examination": list(EXAMINATION), "seed": seed}
    start = 1_767_225_600.0 + seed * 86_400

    def say(line: str) -> None:
        print(f"  seed {seed}: {line}", file=sys.stderr, flush=True)

    # 1. shadow: everyone on the current release, exploring; the candidate scored beside it
    say(f"shadow phase, {s.shadow_users * s.shadow_requests:,} requests")
    t = traffic(better, rng.choice(users, s.shadow_users, replace=False), s.shadow_requests, 10_000 + seed, prefix)
    write_visits(out / "visits.jsonl", t, f"s{seed}-shadow-", start)
    shadow = run_app(app, {**common, "installs": [str(rel.current)], "shadow": str(rel.candidate),
                           "epsilon": s.shadow_epsilon, "log_requests": True, "visits": str(out / "visits.jsonl"),
                           "log": str(out / "shadow.jsonl")}, out / "shadow-plan.json")
    ope = evaluate(cand, out / "shadow.jsonl", None, out / "ope", baseline=cur, file=MODEL_FILE,
                   resamples=s.resamples, seed=seed, force=True, step=lambda line: None)
    estimate = next(p for p in ope.policies if p.policy == "hybrid").dr
    diff = ope.comparison.difference
    true_value, true_diff = truth.greedy[str(cand)], truth.greedy[str(cand)] - truth.greedy[str(cur)]

    # 2. rollout to 10 %: a tampered copy of the candidate offered first, then the real one
    say(f"evaluate: candidate − current {diff.estimate:+.5f} (true {true_diff:+.5f}); rollout phase, "
        f"{users * s.rollout_requests:,} requests")
    flipped, everyone = tampered(rel.candidate, out, seed)
    t = traffic(better, rng.permutation(users), s.rollout_requests, 20_000 + seed, prefix)
    write_visits(out / "visits.jsonl", t, f"s{seed}-rollout-", start + 3_600)
    rollout = run_app(app, {**common, "installs": [str(rel.current), str(flipped), str(everyone), str(rel.candidate)],
                            "shadow": None, "epsilon": s.rollout_epsilon, "log_requests": False,
                            "visits": str(out / "visits.jsonl"), "log": str(out / "rollout.jsonl")},
                      out / "rollout-plan.json")
    ab = readout(out / "rollout.jsonl", "1.0.0", "1.0.0=0.9,1.1.0=0.1", ["fallback_rate<=0.01", "error_rate<=0.01"])
    write_ab(ab, out / "ab", force=True)
    lift = ab.lifts[0]
    true_lift = truth.online(str(cand), s.rollout_epsilon) / truth.online(str(cur), s.rollout_epsilon) - 1

    # 3. the planted fault: 45 % of users get the candidate, the plan says 50 %
    say(f"abtest: lift {lift.relative:+.2%} (true {true_lift:+.2%}); the planted 45/55 fault")
    t = traffic(better, rng.choice(users, s.srm_users, replace=False), 1, 30_000 + seed, prefix)
    write_visits(out / "visits.jsonl", t, f"s{seed}-srm-", start + 7_200)
    srm_run = run_app(app, {**common, "installs": [str(made["better"].current), str(made["better"].candidate_45)],
                            "shadow": None, "epsilon": s.rollout_epsilon, "log_requests": False,
                            "visits": str(out / "visits.jsonl"), "log": str(out / "srm.jsonl")}, out / "srm-plan.json")
    srm = readout(out / "srm.jsonl", "1.0.0", "1.0.0=0.5,1.1.0=0.5", [])
    write_ab(srm, out / "ab-45-55", force=True)
    (out / "visits.jsonl").unlink()
    if not keep_logs:  # ~0.2 GB a seed; seed 0's stay as the example
        for name in ("shadow.jsonl", "rollout.jsonl", "srm.jsonl", flipped.name, everyone.name):
            (out / name).unlink()

    refused = rollout["installs"][1:3]
    return {
        "seed": seed, "candidate_is": direction,
        "shadow": {"requests": shadow["requests"], "taps": shadow["taps"], "impressions": ope.rows,
                   "candidate_value": {"true": true_value, "dr": estimate.estimate, "low": estimate.low,
                                       "high": estimate.high,
                                       "covered": bool(estimate.low <= true_value <= estimate.high)},
                   "difference": {"true": true_diff, "dr": diff.estimate, "low": diff.low, "high": diff.high,
                                  "covered": bool(diff.low <= true_diff <= diff.high)},
                   "offline_says_roll_out": bool(diff.low > 0), "recommendation": ope.comparison.recommendation},
        "rollout": {"requests": rollout["requests"], "counts": rollout["counts"],
                    "users": {a: st.users for a, st in ab.arms.items()},
                    "lift": {"true": true_lift, "estimate": lift.relative, "low": lift.low, "high": lift.high,
                             "covered": bool(lift.low <= true_lift <= lift.high)},
                    "srm_p": ab.sample_ratio.p_value, "srm_false_alarm": bool(ab.sample_ratio.p_value < ab.srm_alpha),
                    "verdict": ab.verdicts[lift.arm], "ship": ab.verdicts[lift.arm].startswith("ship"),
                    "right": ab.verdicts[lift.arm].startswith("ship") == (true_lift > 0),
                    "mean_rank_ms": rollout["mean_rank_ms"]},
        "tampered": {"results": [i["result"] for i in refused],
                     "never_loaded": all(i["result"] != "ok" and i["before"] == i["after"] for i in refused)
                     and set(rollout["counts"]) <= {"1.0.0 model", "1.1.0 model"}},
        "srm_fault": {"users": {a: st.users for a, st in srm.arms.items()}, "p": srm.sample_ratio.p_value,
                      "caught": bool(srm.sample_ratio.p_value < srm.srm_alpha
                                     and srm.verdicts["1.1.0"].startswith("sample ratio mismatch")),
                      "requests": srm_run["requests"]},
    }


# --- the study ---------------------------------------------------------------------------------------------------

def summarize(rows: list[dict]) -> dict:
    n = len(rows)

    def count(path: str) -> int:
        total = 0
        for r in rows:
            value = r
            for part in path.split("."):
                value = value[part]
            total += bool(value)
        return total

    return {"seeds": n, "decision_right": count("rollout.right"),
            "offline_difference_covered": count("shadow.difference.covered"),
            "offline_value_covered": count("shadow.candidate_value.covered"),
            "online_lift_covered": count("rollout.lift.covered"), "srm_false_alarms": count("rollout.srm_false_alarm"),
            "srm_fault_caught": count("srm_fault.caught"), "tampered_never_loaded": count("tampered.never_loaded"),
            "offline_says_roll_out_when_better": sum(r["shadow"]["offline_says_roll_out"] for r in rows
                                                     if r["candidate_is"] == "better"),
            "offline_says_roll_out_when_weaker": sum(r["shadow"]["offline_says_roll_out"] for r in rows
                                                     if r["candidate_is"] == "weaker")}


def markdown(result: dict) -> str:
    s, cfg, sm = result["settings"], result, result["summary"]
    n = sm["seeds"]
    rollout_users = sum(result["seeds"][0]["rollout"]["users"].values())  # every user of the world visits
    lines = [
        "# The release loop end to end, with the truth known", "",
        f"Bundles: better `{cfg['better']}`, weaker `{cfg['weaker']}` (the same world, seed 7); the app: "
        f"@edgeship/client under Node scoring `{MODEL_FILE}` with onnxruntime-node. Truth on "
        f"{s['truth_requests']:,} population requests: click rate per impression of the better ranking "
        f"{cfg['truth']['greedy'][cfg['better']]:.5f}, the weaker {cfg['truth']['greedy'][cfg['weaker']]:.5f}, a "
        f"random slate {cfg['truth']['uniform']:.5f} (examination {list(EXAMINATION)}).", "",
        f"Per seed: shadow phase {s['shadow_users']:,} users x {s['shadow_requests']} requests, epsilon "
        f"{s['shadow_epsilon']}; rollout {rollout_users:,} users x {s['rollout_requests']} requests, 10 % "
        f"to the candidate, epsilon {s['rollout_epsilon']}; planted 45/55 fault {s['srm_users']:,} users. Even "
        "seeds: the candidate is the better model (right decision: ship); odd seeds: the weaker (right: do not).",
        "", "| | result | target |", "|---|---:|---:|",
        f"| rollout decision right (`abtest` says ship exactly when the true lift > 0) | {sm['decision_right']}/{n} | "
        f">= 19/20 |",
        f"| offline interval (candidate − current, DR) covers the truth | {sm['offline_difference_covered']}/{n} | "
        ">= 18/20 |",
        f"| offline interval (candidate's click rate, DR) covers the truth | {sm['offline_value_covered']}/{n} | "
        ">= 18/20 |",
        f"| online interval (relative lift) covers the truth | {sm['online_lift_covered']}/{n} | >= 18/20 |",
        f"| sample-ratio false alarms (correct 90/10 assignment, alpha 0.001) | {sm['srm_false_alarms']}/{n} | <= 1 |",
        f"| planted 45/55 read as 50/50: caught | {sm['srm_fault_caught']}/{n} | all |",
        f"| tampered releases (model byte flipped; release.json edited) never loaded | "
        f"{sm['tampered_never_loaded']}/{n} | all |",
        f"| offline estimate alone says \"roll out\" (lower end > 0): better candidate | "
        f"{sm['offline_says_roll_out_when_better']}/{(n + 1) // 2} | |",
        f"| ... weaker candidate | {sm['offline_says_roll_out_when_weaker']}/{n // 2} | 0 |", "",
        "| seed | candidate | offline diff: true | DR (95 % CI) | lift: true | abtest (95 % CI) | verdict | right | "
        "SRM p (90/10) | 45/55 p | tampered |", "|---|---|---:|---|---:|---|---|---|---:|---:|---|"]
    for r in result["seeds"]:
        d, lf = r["shadow"]["difference"], r["rollout"]["lift"]
        lines.append(
            f"| {r['seed']} | {r['candidate_is']} | {d['true']:+.5f} | {d['dr']:+.5f} ({d['low']:+.5f} … "
            f"{d['high']:+.5f}){'' if d['covered'] else ' ✗'} | {lf['true']:+.2%} | {lf['estimate']:+.2%} "
            f"({lf['low']:+.2%} … {lf['high']:+.2%}){'' if lf['covered'] else ' ✗'} | "
            f"{r['rollout']['verdict'].split(':')[0]} | {'yes' if r['rollout']['right'] else 'NO'} | "
            f"{r['rollout']['srm_p']:.3f} | {r['srm_fault']['p']:.1e} | {', '.join(r['tampered']['results'])} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["seeds"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, part, scale, title in ((left, "shadow", "difference", 1.0, "offline: candidate − current (DR)"),
                                         (right, "rollout", "lift", 100.0, "online: relative lift, % (abtest)")):
        for i, r in enumerate(rows):
            v = r[key][part]
            est = v["dr"] if part == "difference" else v["estimate"]
            color = "#2a6" if r["candidate_is"] == "better" else "#c44"
            ax.errorbar([est * scale], [i], xerr=[[(est - v["low"]) * scale], [(v["high"] - est) * scale]], fmt="o",
                        color=color, capsize=3, ms=4)
            ax.plot([v["true"] * scale], [i], "k|", ms=12)
        ax.axvline(0, color="#999", lw=1)
        ax.set_title(title, fontsize=10)
    left.set_yticks(range(len(rows)), [f"seed {r['seed']} ({r['candidate_is']})" for r in rows], fontsize=7)
    fig.suptitle("95 % intervals per seed (green: better candidate, red: weaker); black tick: the truth",
                 fontsize=10)
    fig.tight_layout()
    write_figure(fig, path, dpi=100)


def ensure_weaker(path: Path, step) -> Path:
    if not (path / "manifest.json").exists():
        step(f"building the weaker bundle: edgeship run --config studies/loop_current.toml --out {path}")
        subprocess.run([str(Path(sys.executable).parent / "edgeship"), "run", "--config",
                        str(ROOT / "studies/loop_current.toml"), "--out", str(path), "--force"], check=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--better", type=Path, default=Path("artifacts/bundle"))
    parser.add_argument("--weaker", type=Path, default=Path("artifacts/loop/current"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/release_loop"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2, help="seeds run at once (each: Node, then Python)")
    args = parser.parse_args(argv)

    def step(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    s = Settings()
    better, weaker = args.better, ensure_weaker(args.weaker, step)
    args.out.mkdir(parents=True, exist_ok=True)
    public, made = make_releases(args.out, better, weaker, step)
    truth = measure_truth([better, weaker], s, step)
    app = build_app()
    from concurrent.futures import ProcessPoolExecutor

    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(one_seed, seed, better, weaker, public, made, truth, s, app, args.out / f"seed-{seed}",
                               seed == 0)
                   for seed in range(args.seeds)]
        for f in futures:
            r = f.result()
            rows.append(r)
            d, lf = r["shadow"]["difference"], r["rollout"]["lift"]
            step(f"seed {r['seed']} ({r['candidate_is']} candidate): offline diff {d['dr']:+.5f} "
                 f"[{d['low']:+.5f}, {d['high']:+.5f}] (true {d['true']:+.5f}); lift {lf['estimate']:+.2%} "
                 f"[{lf['low']:+.2%}, {lf['high']:+.2%}] (true {lf['true']:+.2%}): {r['rollout']['verdict']}")
    result = {"better": str(better), "weaker": str(weaker), "settings": dataclasses.asdict(s),
              "truth": dataclasses.asdict(truth), "summary": summarize(rows), "seeds": rows}
    write_json(args.out / "release_loop.json", result)
    write_text(args.out / "release_loop.md", markdown(result))
    plot(result, args.out / "release_loop.png")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
