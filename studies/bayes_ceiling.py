"""How much of the rules -> oracle gap a ranker can close at all from what it is given.
`python -m studies.bayes_ceiling [--config run.toml] [--samples 20000] [--out DIR]`

The oracle ranks by the true click probabilities: it knows each user's category taste and latent vector, which
no model sees. A ranker sees the request: its context, the history item ids and the candidates. On the built-in
data the generator's laws are known, so the best any ranker can do with those inputs is computable: the
posterior of the user's taste and latent vector given the history (drawn, without replacement, with weights
exp(taste[category] + latent match) x popularity), and each candidate's expected click probability under it.
That ranker is the ceiling of the gap a model of these inputs can close; the distance from the shipped model to
it is what modelling can still buy, the rest only more information (e.g. the taps the phone learns from).

The posterior is importance-sampled: latent vectors from their prior (shared by all requests, with the
popularity-weighted sum of exp(latent match) per category computed once), category tastes from the Dirichlet
posterior of the history's category counts (the prior Dirichlet(0.3) updated by the counts, the likelihood's
shape without the latent part), each sample weighted by the exact likelihood of the history over that proposal.
Writes DIR/bayes_ceiling.json and .md: NDCG@10 of the rules, the Bayes ranker and the oracle on the run's test
lists (the same lists as the run's report), with the effective sample size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from edgeship.config import load_config
from edgeship.core.files import write_json, write_text
from edgeship.models.baseline import SegmentPopularity
from edgeship.models.data import LATENT_WEIGHT, TASTE_CONCENTRATION, TASTE_FLOOR, TASTE_WEIGHT, _world, generate
from edgeship.models.metrics import ndcg_at_k
from edgeship.progress import Steps



def ceiling_scores(world, requests, samples: int, seed: int, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's posterior expected click probability given its request's inputs, and the effective
    sample size per request."""
    cfg = world.cfg
    n_c, dim = cfg.categories, cfg.latent_dim
    c = LATENT_WEIGHT / np.sqrt(dim)  # the latent match's weight, in the history's law and in the click logit alike
    items = world.item_latent.astype(np.float64)
    pop = np.exp(world.log_popularity)
    rng = np.random.default_rng(seed)
    latent = rng.normal(0.0, 1.0, (samples, dim))
    per_category = np.zeros((samples, n_c))  # sum over a category's items of exp(c u.v) x popularity
    for s in range(0, samples, 2000):
        g = np.exp(c * latent[s:s + 2000] @ items.T) * pop
        per_category[s:s + 2000] = np.stack([g[:, world.category == k].sum(1) for k in range(n_c)], axis=1)
    out, ess = np.zeros(requests.candidates.shape), np.zeros(len(requests.candidates))
    ids = _item_index(world, requests)
    for i in range(len(requests.candidates)):
        hist = ids["history"][i][ids["history"][i] >= 0]
        cats = world.category[hist]
        p = rng.dirichlet(TASTE_CONCENTRATION + np.bincount(cats, minlength=n_c), samples)
        weight = n_c * p + TASTE_FLOOR
        drawn = weight[:, cats] * np.exp(c * latent @ items[hist].T) * pop[hist]  # [S, n]: each draw's weight
        total = (weight * per_category).sum(1, keepdims=True)
        before = np.concatenate([np.zeros((samples, 1)), np.cumsum(drawn, 1)[:, :-1]], 1)  # without replacement
        # likelihood over proposal: the Dirichlet prior / posterior ratio is 1 / prod p[cats] (times a constant)
        logw = (np.log(drawn) - np.log(total - before)).sum(1) - np.log(p[:, cats]).sum(1)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        ess[i] = 1.0 / np.square(w).sum()
        keep = w > 1e-7 * w.max()
        cand = ids["candidates"][i]
        logit = user_logits(world, requests.context[i], cand, cats[0], np.log(weight[keep]), latent[keep])
        out[i] = w[keep] @ (1.0 / (1.0 + np.exp(-logit)))
        if progress and (i + 1) % 200 == 0:
            progress(f"{i + 1}/{len(requests.candidates)} requests (median effective samples "
                     f"{np.median(ess[:i + 1]):.0f})")
    return out, ess


def _item_index(world, requests) -> dict[str, np.ndarray]:
    """Model ids back to the generator's item index (-1 for padding); the built-in exact vocabulary only."""
    lookup = np.full(int(world.item_bucket.max()) + 1, -1)
    lookup[world.item_bucket] = np.arange(len(world.item_bucket))
    return {"history": lookup[requests.history], "candidates": lookup[requests.candidates]}


def user_logits(world, context, items, last_category, taste, latent) -> np.ndarray:
    """[S, K] click logits of one request's K candidates for S users of taste [S, categories] (log scale) and latent
    vector [S, dim]: the generator's law (models.data._World.logits) with the user as a variable."""
    user = (world.bias + TASTE_WEIGHT * taste[:, world.category[items]]
            + LATENT_WEIGHT / np.sqrt(world.cfg.latent_dim) * latent @ world.item_latent[items].T)
    return world.add_request_terms(user, context[None], items[None], np.array([last_category]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="run config (default: built-in)")
    parser.add_argument("--samples", type=int, default=20_000, help="posterior samples per request")
    parser.add_argument("--out", type=Path, default=Path("artifacts/bayes_ceiling"))
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if cfg.log.enabled:
        parser.error("--config: the ceiling needs the generator's laws; a log's are unknown")
    if cfg.data.item_encoding != "vocabulary":
        parser.error("--config: the ceiling reads exact item ids ([data] item_encoding = \"vocabulary\")")
    if args.samples < 100:
        parser.error(f"--samples: at least 100, got {args.samples}")
    step = Steps()
    started = time.perf_counter()
    data = generate(cfg.data, cfg.export.candidates, cfg.seed)
    world, _ = _world(cfg.data, cfg.seed)
    step(f"posterior of each of {len(data.test.candidates):,} test requests from {args.samples:,} samples")
    scores, ess = ceiling_scores(world, data.test, args.samples, cfg.seed, progress=lambda s: step("  " + s))
    rules = SegmentPopularity(data.spec.item_buckets).fit(data.train).score(data.test)
    ndcg = {"rule_baseline": ndcg_at_k(rules, data.test.labels), "bayes_ceiling": ndcg_at_k(scores, data.test.labels),
            "oracle": ndcg_at_k(data.test.true_prob, data.test.labels)}
    gap = ndcg["oracle"] - ndcg["rule_baseline"]
    closed = (ndcg["bayes_ceiling"] - ndcg["rule_baseline"]) / gap
    record = {"config": str(args.config or "built-in"), "seed": cfg.seed, "samples": args.samples,
              "requests": len(data.test.candidates), "ndcg_at_10": ndcg, "gap_closed": closed,
              "effective_samples": {"median": float(np.median(ess)), "p10": float(np.percentile(ess, 10)),
                                    "min": float(ess.min())},
              "seconds": round(time.perf_counter() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "bayes_ceiling.json", record)
    write_text(args.out / "bayes_ceiling.md", "\n".join([
        "# The ceiling of the inputs (studies/bayes_ceiling.py)", "",
        f"{record['requests']:,} test requests of the run (seed {cfg.seed}); {args.samples:,} posterior samples per "
        f"request (effective: median {record['effective_samples']['median']:.0f}, 10th percentile "
        f"{record['effective_samples']['p10']:.0f}).", "",
        "| ranker | NDCG@10 | gap closed |", "|---|---:|---:|",
        *(f"| {name} | {v:.4f} | {(v - ndcg['rule_baseline']) / gap:.1%} |" for name, v in ndcg.items()), ""]))
    step(f"Bayes ranker NDCG@10 {ndcg['bayes_ceiling']:.4f}: {closed:.1%} of the rules -> oracle gap "
         f"({ndcg['rule_baseline']:.4f} -> {ndcg['oracle']:.4f}); written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
