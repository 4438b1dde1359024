"""How much of the gap to the oracle learning on the phone can close at all: the Bayes ranker of the
personalization study's users, given what the phone has seen after n requests.
`python -m studies.phone_ceiling [--bundle artifacts/bundle] [--users 100] [--samples 1000] [--out DIR]`

The personalization study (ondevice/personalization.py) trains the shipped file's head on a new user's first n
requests and scores their last 20. Issue 21 asks the head to close a third of the gap between the shipped ranker
and the oracle at n = 50. The oracle knows the user's category taste and latent vector; the phone knows the n
requests' inputs and taps and the scored request's own history. On the built-in data the generator's laws are
known, so the best ranker of that knowledge is computable: the posterior of the user's taste and latent vector
given the n requests' histories (drawn without replacement by taste and latent match, models/data.py) and their
taps (Bernoulli with the generator's click logit), times the scored request's history; each candidate ranked by
its posterior expected click probability.

The posterior is a Laplace approximation refined by importance sampling: the maximum of the log posterior (taste
in softmax coordinates, where the Dirichlet(0.3) prior is a product of p_k^0.3, plus the latent vector's
standard normal prior) found by L-BFGS, a multivariate t (4 degrees of freedom) proposal with the inverse
Hessian as its scale, and each sample weighted by the exact posterior over the proposal, then by the scored
request's history likelihood. The same users' curves of the bundle's trainable file are measured beside it, so
the table is paired. Writes DIR/phone_ceiling.json and .md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from scipy.optimize import minimize

from edgeship.config import bundle_config
from edgeship.core.files import write_json, write_text
from edgeship.export import formats
from edgeship.export.manifest import read_manifest_file
from edgeship.models.data import (LATENT_WEIGHT, TASTE_CONCENTRATION, TASTE_FLOOR, TASTE_WEIGHT, _world,
                                  timelines)
from edgeship.ondevice import personalization
from edgeship.progress import Steps

from .bayes_ceiling import _item_index

DF = 4.0  # the proposal's degrees of freedom: heavier tails than the Laplace Gaussian


class Posterior:
    """log p(taste, latent | what the phone saw) of one user, for a batch of parameter vectors [S, C + D]; the
    data are arguments, so one traced graph serves every user."""

    def __init__(self, world, latent: bool = True):
        cfg = world.cfg
        # without the latent vector (pinned at 0 by a prior of precision 1e4): what the categories alone allow
        self.latent_precision = 1.0 if latent else 1e4
        self.n_c, self.dim = cfg.categories, cfg.latent_dim
        self.c = LATENT_WEIGHT / np.sqrt(self.dim)
        self.bias = world.bias
        self.items = tf.constant(world.item_latent, tf.float64)
        self.log_pop = tf.constant(world.log_popularity, tf.float64)
        self.category = tf.constant(world.category)
        spec = [tf.TensorSpec([None, None], tf.float64), tf.TensorSpec([None, None], tf.int64),
                tf.TensorSpec([None, None], tf.float64), tf.TensorSpec([None, None], tf.int64),
                tf.TensorSpec([None, None], tf.float64), tf.TensorSpec([None, None], tf.float64)]
        self.log_post = tf.function(self._log_post, input_signature=spec)
        self.value_grad = tf.function(self._value_grad, input_signature=[tf.TensorSpec([None], tf.float64)] + spec[1:])
        self.hessian = tf.function(self._hessian, input_signature=[tf.TensorSpec([None], tf.float64)] + spec[1:])
        self.probabilities = tf.function(self._probabilities, input_signature=[
            tf.TensorSpec([None, None], tf.float64), tf.TensorSpec([None, None], tf.int64),
            tf.TensorSpec([None, None], tf.float64)])

    def _taste(self, theta):
        a, z = theta[:, :self.n_c], theta[:, self.n_c:]
        log_p = tf.nn.log_softmax(a)
        return a, log_p, tf.math.log(self.n_c * tf.exp(log_p) + TASTE_FLOOR), z

    def _histories(self, taste, z, items, mask):
        """[S] log likelihood of R histories (item indices [R, L], mask [R, L]), each drawn without replacement
        with weights exp(taste[category] + c latent . item) x popularity."""
        match = self.c * tf.matmul(z, self.items, transpose_b=True)  # [S, I]
        log_total = tf.reduce_logsumexp(tf.gather(taste, self.category, axis=1) + match + self.log_pop, 1)
        log_share = (tf.gather(taste, tf.gather(self.category, items), axis=1) + tf.gather(match, items, axis=1)
                     + tf.gather(self.log_pop, items) - log_total[:, None, None])  # [S, R, L]
        before = tf.cumsum(tf.exp(log_share) * mask, axis=2, exclusive=True)
        return tf.reduce_sum(mask * (log_share - tf.math.log1p(-before)), [1, 2])

    def _logits(self, taste, z, items, request_terms):
        """[S, N, K] click logits of N requests' K candidates (item indices [N, K])."""
        return (self.bias + TASTE_WEIGHT * tf.gather(taste, tf.gather(self.category, items), axis=1)
                + self.c * tf.einsum("sd,nkd->snk", z, tf.gather(self.items, items)) + request_terms[None])

    def _log_post(self, theta, h_items, h_mask, t_items, t_terms, t_labels):
        """Prior, the histories h (any number of requests' rows), the taps of the requests t."""
        a, log_p, taste, z = self._taste(theta)
        # a standard normal on the mean of the softmax coordinates: they are defined up to a shift
        prior = (TASTE_CONCENTRATION * tf.reduce_sum(log_p, 1) - 0.5 * tf.reduce_mean(a, 1) ** 2
                 - 0.5 * self.latent_precision * tf.reduce_sum(z * z, 1))
        logit = self._logits(taste, z, t_items, t_terms)
        taps = tf.reduce_sum(t_labels[None] * logit - tf.nn.softplus(logit), [1, 2])
        return prior + self._histories(taste, z, h_items, h_mask) + taps

    def _value_grad(self, x, *data):
        with tf.GradientTape() as tape:
            tape.watch(x)
            v = -self._log_post(x[None], *data)[0]
        return v, tape.gradient(v, x)

    def _hessian(self, x, *data):
        with tf.GradientTape() as outer:
            outer.watch(x)
            g = self._value_grad(x, *data)[1]
        return outer.jacobian(g, x)

    def _probabilities(self, theta, items, request_terms):
        _, _, taste, z = self._taste(theta)
        return tf.sigmoid(self._logits(taste, z, items, request_terms))

    def sample(self, data, start, samples: int, rng):
        """Laplace at the posterior's maximum (L-BFGS from `start`), then importance samples: (draws [S, P],
        self-normalized weights [S], the maximum)."""
        def f(x):
            v, g = self.value_grad(tf.constant(x), *data)
            return float(v), g.numpy()

        best = minimize(f, start, jac=True, method="L-BFGS-B").x
        hess = self.hessian(tf.constant(best), *data).numpy()
        vals, vecs = np.linalg.eigh(0.5 * (hess + hess.T))
        cov = (vecs / np.maximum(vals, 1e-3)) @ vecs.T
        theta, log_q = _mvt(rng, best, cov, samples)
        log_w = self.log_post(tf.constant(theta), *data).numpy() - log_q
        w = np.exp(log_w - log_w.max())
        return theta, w / w.sum(), best


def _terms(world, requests, ids) -> np.ndarray:
    last = world.category[ids["history"][:, 0]]
    zero = np.zeros(ids["candidates"].shape)
    return world.add_request_terms(zero, requests.context, ids["candidates"], last)


def _mvt(rng, mean, cov, n):
    """n draws of a multivariate t and their log densities (up to a constant shared by all draws)."""
    chol = np.linalg.cholesky(cov)
    d = len(mean)
    x = rng.standard_normal((n, d)) @ chol.T / np.sqrt(rng.chisquare(DF, (n, 1)) / DF)
    maha = np.sum(np.square(np.linalg.solve(chol, x.T)), 0)
    return mean + x, -0.5 * (DF + d) * np.log1p(maha / DF)


KNOWS = ("taps", "taps+histories")  # what the phone's Bayes ranker conditions on besides the scored request


def user_ceiling(post: Posterior, world, tl_user, n_train: int, steps, samples: int, rng, knows: str
                 ) -> tuple[dict, dict]:
    """NDCG@10 of the user's later requests under the posterior after n = each of steps requests, and the median
    effective sample size. knows: the n requests' taps, or their histories as well."""
    ids = _item_index(world, tl_user)
    hist, hmask = np.maximum(ids["history"], 0), (ids["history"] >= 0).astype(np.float64)
    terms, labels = _terms(world, tl_user, ids), tl_user.labels.astype(np.float64)
    later = range(n_train, len(labels))
    ndcg, ess = {}, {}
    start = np.zeros(post.n_c + post.dim)
    for n in steps:
        pooled = n if knows == "taps+histories" else 0
        scores, sizes = [], []
        for e in later:
            rows = list(range(pooled)) + [e]  # the histories the ranker knows, the scored request's last
            data = (hist[rows], hmask[rows], ids["candidates"][:n], terms[:n], labels[:n])
            theta, w, start = post.sample(data, start, samples, rng)
            prob = post.probabilities(tf.constant(theta), ids["candidates"][e:e + 1], terms[e:e + 1]).numpy()
            scores.append(np.einsum("s,sk->k", w, prob[:, 0]))
            sizes.append(1.0 / np.square(w).sum())
        ndcg[n] = personalization.mean_ndcg(np.asarray(scores), tl_user.labels[n_train:])
        ess[n] = float(np.median(sizes))
    return ndcg, ess


def summarize(rows: dict, steps, seed: int) -> list[dict]:
    """Per n: the file's and the Bayes ranker's NDCG@10 over users (mean and 95 % bootstrap interval), their
    paired difference, the share of the gap from the shipped ranker (the file at n = 0) to the oracle each
    closes, and the median effective sample size. rows: per user, "file" / "ceiling" / "ess" [users, steps]
    and "oracle" [users]."""
    ceiling, file, oracle = (np.asarray(rows[k], np.float64) for k in ("ceiling", "file", "oracle"))
    rng = np.random.default_rng(seed)

    def interval(v):
        e = personalization.over_users(v, rng)
        return [e.estimate, e.low, e.high]

    def share(v):
        return float(np.nanmean(v - file[:, 0]) / np.nanmean(oracle - file[:, 0]))

    return [{"n": n, "file": interval(file[:, j]), "ceiling": interval(ceiling[:, j]),
             "ceiling_minus_file": interval(ceiling[:, j] - file[:, j]), "oracle": interval(oracle),
             "file_gap_closed": share(file[:, j]), "ceiling_gap_closed": share(ceiling[:, j]),
             "median_effective_samples": float(np.median(np.asarray(rows["ess"])[:, j]))}
            for j, n in enumerate(steps)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    parser.add_argument("--users", type=int, default=100, help="the first users of the study's report users")
    parser.add_argument("--samples", type=int, default=1000, help="importance samples per scored request and n")
    parser.add_argument("--knows", choices=KNOWS, default=KNOWS[0], help="besides the scored request: the n "
                        "requests' taps, or their histories as well (the generator redraws each request's history, "
                        "so they pool into far more evidence than an app's overlapping histories would)")
    parser.add_argument("--no-latent", action="store_true", help="a Bayes ranker that knows the category taste "
                        "only (the user's latent vector pinned at its prior mean): what the categories alone allow")
    parser.add_argument("--out", type=Path, default=Path("artifacts/phone_ceiling"))
    args = parser.parse_args(argv)
    if args.users < 1 or args.samples < 10:
        parser.error(f"--users: at least 1, --samples: at least 10; got {args.users} and {args.samples}")
    manifest = read_manifest_file(args.bundle / "manifest.json")
    if not manifest.personalization:
        parser.error(f"--bundle: {args.bundle} has no personalization study (built-in data only)")
    cfg = bundle_config(manifest)
    if cfg.data.item_encoding != "vocabulary":
        parser.error(f"--bundle: the laws read exact item ids; {args.bundle} hashes them ([data] item_encoding)")
    study = cfg.personalization
    step = Steps()
    started = time.perf_counter()
    world, _ = _world(cfg.data, cfg.seed)
    report = timelines(cfg.data, manifest.model.candidates, cfg.seed, study.users, study.length, 1)
    users = min(args.users, report.users)
    record = manifest.personalization[0]
    trainer = formats.for_path(args.bundle / record.file).trainer(args.bundle / record.file)
    n_train, steps = max(study.steps), study.steps
    post = Posterior(world, latent=not args.no_latent)
    rng = np.random.default_rng(cfg.seed)
    rows = {"ceiling": [], "file": [], "oracle": [], "ess": []}
    for u in range(users):
        tl_user = report.of(u)
        ndcg, ess = user_ceiling(post, world, tl_user, n_train, steps, args.samples, rng, args.knows)
        curve = personalization.user_curve(trainer, tl_user, study, record.learning_rate)
        rows["ceiling"].append([ndcg[n] for n in steps])
        rows["file"].append([curve[n] for n in steps])
        rows["ess"].append([ess[n] for n in steps])
        rows["oracle"].append(personalization.mean_ndcg(tl_user.true_prob[n_train:], tl_user.labels[n_train:]))
        if (u + 1) % 10 == 0:
            c, fl = np.nanmean(rows["ceiling"], 0), np.nanmean(rows["file"], 0)
            step(f"{u + 1}/{users} users: ceiling at n = {steps[-1]} {c[-1]:.4f}, the file {fl[-1]:.4f}, global "
                 f"{fl[0]:.4f}, oracle {np.nanmean(rows['oracle']):.4f}")
    table = summarize(rows, steps, cfg.seed)
    out = {"bundle": str(args.bundle), "knows": args.knows, "latent": not args.no_latent, "file": record.file,
           "learning_rate": record.learning_rate, "users": users, "samples": args.samples,
           "oracle": table[0]["oracle"], "steps": table, "seconds": round(time.perf_counter() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "phone_ceiling.json", out)
    lines = ["# What learning on the phone can reach (studies/phone_ceiling.py)", "",
             f"The first {users} report users of the personalization study, {study.eval_requests} later requests each; "
             f"{record.file} at learning rate {record.learning_rate:g} against the Bayes ranker of the scored "
             f"request and the n requests' {args.knows}{' (its category taste only)' if args.no_latent else ''} "
             f"({args.samples:,} importance samples per request). Gap: the shipped ranker (n = 0) to the oracle "
             f"({table[0]['oracle'][0]:.4f}). 95 % bootstrap intervals over users.", "",
             "| n | the file | its gap closed | Bayes ranker | its gap closed | Bayes − file | effective samples |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        f, c, d = r["file"], r["ceiling"], r["ceiling_minus_file"]
        lines.append(f"| {r['n']} | {f[0]:.4f} | {r['file_gap_closed']:.1%} | {c[0]:.4f} | "
                     f"{r['ceiling_gap_closed']:.1%} | {d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}] | "
                     f"{r['median_effective_samples']:.0f} |")
    write_text(args.out / "phone_ceiling.md", "\n".join(lines + [""]))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
