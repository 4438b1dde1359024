"""The off-policy estimators checked against the truth with a real bundle's policies: the built-in generator
knows every click probability, so the true click rate of the bundle's model, hybrid (model + rules.json) and
fallback (fallback.json + rules) on fresh traffic is exact; a simulated epsilon-greedy logging policy (by item
popularity: the ranking an app had before a model) logs that traffic with its propensities, and IPS, SNIPS and
DR estimate each policy from the log. Over several seeds (the logging and the clicks drawn anew): each
estimator's error and whether its 95 % interval covers the truth; the estimator that ignores propensities beside
them. `python -m studies.ope_check [--bundle artifacts/bundle] [--out artifacts/ope_check] [--seeds 10]`
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from edgeship.config import bundle_config
from edgeship.core.files import read_json, write_json, write_text
from edgeship.core.intervals import percentiles
from edgeship.export.manifest import read_fallback, read_rules
from edgeship.export.parity import score_file
from edgeship.export.reader import read_contract, read_manifest
from edgeship.models import ope
from edgeship.models.data import Requests, fresh_requests
from edgeship.models.features import PAD_ID
from edgeship.models.logging_policy import POSITION_BIAS, greedy_order, simulate, target_items, true_value
from edgeship.ondevice.fallback import scores as fallback_scores
from edgeship.ondevice.rules import apply, from_requests, rate_logits
from edgeship.sources import category_attribute

POPULARITY = 3  # the built-in candidate feature the logging policy ranks by


def padded(requests: Requests, k: int) -> Requests:
    """Lists of n < K candidates as the exported files take them: padding slots and a mask."""
    n_req, n = requests.candidates.shape
    cand = np.full((n_req, k), PAD_ID, np.int32)
    cand[:, :n] = requests.candidates
    feats = np.zeros((n_req, k, requests.candidate_features.shape[-1]), np.float32)
    feats[:, :n] = requests.candidate_features
    mask = np.zeros((n_req, k), bool)
    mask[:, :n] = True
    labels = np.zeros((n_req, k), np.float32)
    labels[:, :n] = requests.labels
    return dataclasses.replace(requests, candidates=cand, candidate_features=feats, labels=labels, mask=mask,
                               true_prob=None)


def policies(bundle: Path, requests: Requests, step) -> dict[str, np.ndarray]:
    """[N, n] each policy's order of each request's n candidates (hybrid and fallback: filtered ones last)."""
    manifest = read_manifest(bundle)
    contract = read_contract(bundle, manifest)
    vocab = read_json(bundle / "vocabularies.json", "vocabularies.json")
    rules = read_rules(bundle / "rules.json").rules
    table = read_fallback(bundle / "fallback.json")
    file = next(a for a in manifest.artifacts if a.path == "ranker_int8.tflite")
    k, n = contract.candidates.k, requests.candidates.shape[1]
    full = padded(requests, k)
    step(f"scoring {len(requests):,} requests with {file.path}")
    model = score_file(file.format, bundle / file.path, full)[:, :n]
    rates = fallback_scores(table, full)[:, :n]
    views = from_requests(contract, vocab, full, category_attribute)

    def complete(order: list[int]) -> list[int]:  # filtered candidates are never shown: placed after the rest
        return order + [i for i in range(n) if i not in order]

    return {"model": greedy_order(model),
            "hybrid": np.array([complete(apply(rules, model[r], v)) for r, v in enumerate(views)]),
            "fallback": np.array([complete(apply(rules, rate_logits(rates[r]), v))
                                  for r, v in enumerate(views)]),
            "popularity (logging, greedy)": greedy_order(requests.candidate_features[..., POPULARITY])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/ope_check"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=20, help="candidates per logged request (< K)")
    parser.add_argument("--epsilon", type=float, default=0.3)
    parser.add_argument("--resamples", type=int, default=500)
    args = parser.parse_args(argv)

    def step(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    cfg = bundle_config(read_manifest(args.bundle))
    requests = fresh_requests(cfg.data, args.candidates, cfg.seed, args.requests, stream=41)
    orders = policies(args.bundle, requests, step)
    # a filtered candidate is not shown: a filtering policy earns nothing from it, here and in the estimates
    truth = {name: true_value(requests, order) for name, order in orders.items()}
    rows = {name: {e: {"errors": [], "covered": 0, "widths": []} for e in (*ope.ESTIMATORS, "naive")}
            for name in orders}
    true_diff = truth["hybrid"] - truth["fallback"]
    diffs = {"covered": 0, "rollout": 0, "estimates": []}
    items = int(requests.candidates.max()) + 1
    for seed in range(args.seeds):
        log = simulate(requests, requests.candidate_features[..., POPULARITY], args.epsilon, seed)
        # candidate indices -> the items' ids, so that the reward model learns per item (and position)
        imp = dataclasses.replace(log.impressions, item=requests.candidates[log.request, log.impressions.item])
        folds = np.random.default_rng([seed, 37]).integers(0, 2, len(imp))
        q, folds = ope.reward_model(imp, items, len(POSITION_BIAS), folds)
        draws = ope.bootstrap_rows(len(imp), args.resamples, seed)
        targets = {name: requests.candidates[log.request, target_items(log, order)] for name, order in orders.items()}
        d = ope.difference(imp, targets["hybrid"], targets["fallback"], q, folds, draws, "dr")
        diffs["covered"] += int(d.covers(true_diff))
        diffs["rollout"] += int(d.low > 0)
        diffs["estimates"].append(d.estimate)
        for name, e in ope.estimate(imp, targets, q, folds, draws).items():
            for est in ope.ESTIMATORS:
                iv = getattr(e, est)
                r = rows[name][est]
                r["errors"].append(iv.estimate - truth[name])
                r["covered"] += int(iv.covers(truth[name]))
                r["widths"].append(iv.high - iv.low)
            boot = [ope.naive(ope.LoggedImpressions(imp.item[d], imp.slot[d], imp.reward[d], imp.propensity[d]),
                              targets[name][d]) for d in draws[:200]]
            low, high = percentiles(boot)
            r = rows[name]["naive"]
            r["errors"].append(ope.naive(imp, targets[name]) - truth[name])
            r["covered"] += int(low <= truth[name] <= high)
            r["widths"].append(high - low)
        step(f"seed {seed}: " + ", ".join(f"{n} DR {rows[n]['dr']['errors'][-1]:+.5f}" for n in orders))
    summary = {name: {"truth": truth[name], **{est: {"bias": float(np.mean(r["errors"])),
                                                     "error_sd": float(np.std(r["errors"])),
                                                     "covered": r["covered"], "seeds": args.seeds,
                                                     "mean_width": float(np.mean(r["widths"]))}
                                               for est, r in by.items()}}
               for name, by in rows.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    difference = {"true": true_diff, "mean_estimate": float(np.mean(diffs["estimates"])),
                  "covered": diffs["covered"], "lower_end_above_zero": diffs["rollout"], "seeds": args.seeds}
    write_json(args.out / "ope_check.json", {"bundle": str(args.bundle), "requests": args.requests,
                                             "candidates": args.candidates, "epsilon": args.epsilon,
                                             "position_bias": list(POSITION_BIAS), "summary": summary,
                                             "hybrid_minus_fallback": difference})
    lines = [f"# Off-policy estimators against the truth ({args.bundle})", "",
             f"{args.requests:,} fresh requests of {args.candidates} candidates; logging: epsilon-greedy by item "
             f"popularity (epsilon {args.epsilon}), 3 positions with examination {list(POSITION_BIAS)}; "
             f"{args.seeds} seeds (logging and clicks drawn anew), {args.resamples} bootstrap resamples.", "",
             "| policy | true click rate | estimator | bias (mean error) | error sd | 95 % interval covers the truth "
             "| mean interval width |", "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        for est in (*ope.ESTIMATORS, "naive"):
            e = s[est]
            lines.append(f"| {name} | {s['truth']:.5f} | {est.upper() if est != 'naive' else 'no propensities'} | "
                         f"{e['bias']:+.5f} | {e['error_sd']:.5f} | {e['covered']}/{e['seeds']} | "
                         f"{e['mean_width']:.5f} |")
    lines += ["", f"The rollout question, hybrid − fallback (DR, paired bootstrap): true {true_diff:+.5f}, mean estimate "
                  f"{difference['mean_estimate']:+.5f}; the interval covers the truth in {diffs['covered']}/{args.seeds} "
                  f"seeds, and its lower end is above zero (\"a candidate for a staged rollout\") in "
                  f"{diffs['rollout']}/{args.seeds}."]
    write_text(args.out / "ope_check.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({n: round(s["truth"], 5) for n, s in summary.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
