"""The personalization study, run through the real trainable file: does learning on the phone help its user?

For users nobody trained on, each with a timeline of requests in time order (models.data.timelines): reset the
file, score the user's last `eval_requests` requests (the global model: n = 0), then call `train` once per
earlier request, in order, with that request's taps, and score the same later requests again after n of them.
Every call is the LiteRT interpreter executing the shipped .tflite, as the app would. NDCG@10 per user is the
mean over their scored requests; intervals are 95 % bootstrap intervals over users.

The learning rate the app should use is chosen on a separate set of users (tuning users) and the curve is
reported on the others: the one chosen is the best NDCG@10 at n = 20 among the rates whose first tap does not
make the average user worse (gain at n = 1 >= 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.intervals import Interval, bootstrap
from ..models.data import Requests, Timelines
from ..models.metrics import ndcg_per_request

BOOTSTRAP = 2000
OVER_USERS = "percentile bootstrap over users"

# The curvature each head weight starts with (the precision of its prior): a train call divides a weight's step by
# its curvature so far, so early taps move the head fast and later ones refine it. Per feature, by measurement on
# the study's users (docs/personalization.md): a two-valued column (a category's one-hot, a flag) carries the
# user's taste, so its weight starts loose; a continuous one (price, quality) is what the ranker already weighs
# for everyone, so one tap moves it less. Through the file, 500 users: one prior of 5 for all: n = 1 -0.0010 (50 %
# of users worse), n = 20 +0.0280, n = 50 +0.0410; 5 and 20: n = 1 +0.0023 (44 %), n = 20 +0.0313, n = 50 +0.0385.
INDICATOR_PRIOR = 5.0
CONTINUOUS_PRIOR = 20.0
# The starting curvature of each item id's bias (the features+items head). Measured on 200 report users, gain at
# n = 50 for priors 1 / 2 / 3 / 5 / 10: +0.048 / +0.052 / +0.049 / +0.049 / +0.044 (docs/personalization.md).
ITEM_PRIOR = 2.0
# The starting curvature of each coordinate of the user vector (the features+items+vectors head), in the units of
# models.item_vectors (mean squared item vector norm 1). Measured on 200 report users (app-side head), gain at
# n = 50 for priors 4 / 8 / 16 / 32 / 128: +0.0856 / +0.0843 / +0.0801 / +0.0732 / +0.0602, users worse at n = 1
# 36 % / 34 % / 34 % / 33 % / 34 % (docs/personalization.md)
VECTOR_PRIOR = 8.0
ITEM_HEAD = "features+items"  # the head that also learns a bias per item id
VECTOR_HEAD = "features+items+vectors"  # ... and a user vector against models.item_vectors' item vectors


def head_items(head: str, item_buckets: int) -> int:
    """How many item biases a head of this kind learns: one per item id for ITEM_HEAD and VECTOR_HEAD, none for
    the others."""
    return item_buckets if head in (ITEM_HEAD, VECTOR_HEAD) else 0


def curvature_prior(features: np.ndarray, present: np.ndarray) -> np.ndarray:
    """[D] float32: the curvature each candidate feature's head weight starts from, by what its values look like
    over the real candidates (`present`, a boolean mask over features' leading axes): INDICATOR_PRIOR for a column
    with at most two distinct values, CONTINUOUS_PRIOR for the others."""
    rows = np.asarray(features, np.float32).reshape(-1, np.shape(features)[-1])[np.asarray(present).reshape(-1)]
    distinct = np.array([len(np.unique(rows[:, j])) for j in range(rows.shape[1])])
    return np.where(distinct <= 2, INDICATOR_PRIOR, CONTINUOUS_PRIOR).astype(np.float32)


@dataclass(frozen=True)
class CurvePoint:
    n: int = field(metadata={"doc": "train calls made on the user's earlier requests"})
    global_ndcg: Interval
    personal_ndcg: Interval
    gain: Interval = field(metadata={"doc": "personal minus global NDCG@10, per user"})
    worse_share: float = field(metadata={"doc": "share of users whose NDCG@10 went down"})
    oracle_ndcg: Interval | None = None


@dataclass(frozen=True)
class PersonalizationRecord:
    """The trainable file, what the app should call it with, and the study that chose that on new users."""

    file: str
    runs_in: str = field(metadata={"doc": "what executed every train call of the study"})
    trainable_parameters: int
    state_bytes: int = field(metadata={"doc": "what the app persists per user (get_weights)"})
    l2: float
    learning_rate: float = field(metadata={"doc": "what the app passes to train, chosen by the study"})
    steps_per_request: int
    learning_rates_tried: dict[str, float] = field(metadata={"doc": "mean NDCG@10 gain at the choosing n, "
                                                                    "on the tuning users"})
    tune_users: int
    users: int
    eval_requests: int
    curve: list[CurvePoint]
    train_ms_p50: float = field(metadata={"doc": "one train call as runs_in executed it, on this host"})
    infer_ms_p50: float


@dataclass(frozen=True)
class StudyConfig:
    users: int = 500  # held-out users the curve is reported on
    tune_users: int = 100  # other users the learning rate is chosen on
    eval_requests: int = 20  # each user's last requests, scored after n trained ones
    steps: tuple[int, ...] = field(default=(0, 1, 5, 10, 20, 50), metadata={"nonempty": True, "min": 0})
    learning_rates: tuple[float, ...] = field(default=(0.3, 1.0, 3.0, 10.0, 30.0), metadata={"nonempty": True})
    choose_at: int = 20  # n at which the learning rate is judged

    @property
    def length(self) -> int:
        return max(self.steps) + self.eval_requests


def mean_ndcg(scores: np.ndarray, labels: np.ndarray) -> float:
    """NDCG@10 averaged over the requests with a positive (NaN when none has one)."""
    per = ndcg_per_request(scores, labels, 10)
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def user_curve(trainer, timeline: Requests, cfg: StudyConfig, lr: float, timings: dict | None = None
               ) -> dict[int, float]:
    """NDCG@10 of one user's last requests after n = each of cfg.steps train calls on their earlier ones."""
    n_train = max(cfg.steps)
    evaluation = timeline.take(slice(n_train, n_train + cfg.eval_requests))
    trainer.reset()

    def score() -> float:
        t0 = time.perf_counter()
        scores = np.stack([trainer.scores(evaluation.one(i)).reshape(-1) for i in range(len(evaluation))])
        if timings is not None:
            timings["infer"].append((time.perf_counter() - t0) / len(evaluation) * 1e3)
        return mean_ndcg(scores, evaluation.labels)

    out = {0: score()} if 0 in cfg.steps else {}
    ones = np.ones(timeline.candidates.shape[1], np.float32)
    for i in range(n_train):
        t0 = time.perf_counter()
        trainer.train(timeline.one(i), timeline.labels[i], ones if timeline.mask is None else timeline.mask[i], lr)
        if timings is not None:
            timings["train"].append((time.perf_counter() - t0) * 1e3)
        if i + 1 in cfg.steps:
            out[i + 1] = score()
    trainer.reset()
    return out


def over_users(values: np.ndarray, rng: np.random.Generator) -> Interval:
    """The mean of per-user values and its 95 % bootstrap interval over users (non-finite values left out)."""
    values = values[np.isfinite(values)]
    picks = rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))
    boot = values[picks].mean(axis=1)
    return bootstrap(float(values.mean()), boot, method=OVER_USERS)


def curves(trainer, tl: Timelines, cfg: StudyConfig, lr: float, timings: dict | None = None,
           progress: Callable[[str], None] | None = None) -> np.ndarray:
    """[users, len(steps)] NDCG@10 per user and n."""
    rows = []
    for u in range(tl.users):
        c = user_curve(trainer, tl.of(u), cfg, lr, timings)
        rows.append([c[n] for n in cfg.steps])
        if progress and (u + 1) % max(1, tl.users // 5) == 0:
            progress(f"  personalization lr {lr:g}: {u + 1}/{tl.users} users")
    return np.asarray(rows)


def choose_learning_rate(trainer, tune: Timelines, cfg: StudyConfig, progress=None) -> tuple[float, dict[str, float]]:
    """The learning rate with the best mean gain at n = choose_at among those not worse on average at n = 1."""
    i_choose, i_one, i_zero = (cfg.steps.index(n) for n in (cfg.choose_at, 1, 0))
    gains, safe = {}, {}
    rates = [lr * trainer.learning_rate_scale for lr in cfg.learning_rates]
    for lr in rates:
        c = curves(trainer, tune, cfg, lr, progress=progress)
        gains[f"{lr:g}"] = float(np.nanmean(c[:, i_choose] - c[:, i_zero]))
        safe[lr] = np.nanmean(c[:, i_one] - c[:, i_zero]) >= 0
    allowed = [lr for lr in rates if safe[lr]] or [min(rates)]
    return max(allowed, key=lambda lr: gains[f"{lr:g}"]), gains


def study(trainer, file: str, tune: Timelines, report: Timelines, cfg: StudyConfig, seed: int,
          progress: Callable[[str], None]) -> PersonalizationRecord:
    """The whole study with `trainer` (a runtime's Trainer on the file named `file`, or an AppSideHead)."""
    state = trainer.get_weights()
    # the rest of the state is each weight's curvature
    trainable = int(sum(np.size(state[k]) for k in ("w", "b", "v", "u") if k in state))
    lr, gains = choose_learning_rate(trainer, tune, cfg, progress)
    progress(f"personalization: learning rate {lr:g} chosen on {tune.users} tuning users; reporting on "
             f"{report.users} other users")
    timings = {"train": [], "infer": []}
    c = curves(trainer, report, cfg, lr, timings, progress)
    rng = np.random.default_rng(seed)
    n_train = max(cfg.steps)
    oracle = np.asarray([mean_ndcg(report.of(u).true_prob[n_train:], report.of(u).labels[n_train:])
                         for u in range(report.users)]) if report.requests.true_prob is not None else None
    points = []
    i_zero = cfg.steps.index(0)
    for j, n in enumerate(cfg.steps):
        gain = c[:, j] - c[:, i_zero]
        points.append(CurvePoint(n=n, global_ndcg=over_users(c[:, i_zero], rng), personal_ndcg=over_users(c[:, j], rng),
                                 gain=over_users(gain, rng), worse_share=float(np.mean(gain[np.isfinite(gain)] < 0)),
                                 oracle_ndcg=over_users(oracle, rng) if oracle is not None else None))
    return PersonalizationRecord(
        file=file, runs_in=trainer.runs_in, trainable_parameters=trainable,
        state_bytes=4 * int(sum(np.size(v) for v in state.values())), l2=trainer.l2,
        learning_rate=lr, steps_per_request=1, learning_rates_tried=gains, tune_users=tune.users,
        users=report.users, eval_requests=cfg.eval_requests, curve=points,
        train_ms_p50=float(np.median(timings["train"])), infer_ms_p50=float(np.median(timings["infer"])))


def markdown(r: PersonalizationRecord) -> str:
    lines = [f"# Personalization on the phone: {r.file}", "",
             f"{r.users} new users (nobody trained on them), {r.eval_requests} later requests each scored after n "
             f"train calls on their earlier ones; every call executed by {r.runs_in}. Learning rate "
             f"{r.learning_rate:g} (chosen on {r.tune_users} other users; tried: "
             + ", ".join(f"{k} → {v:+.4f}" for k, v in r.learning_rates_tried.items()) + "). 95 % bootstrap "
             "intervals over users.", "",
             "| n | global NDCG@10 | personalized | gain (95 % CI) | users worse | oracle |",
             "|---:|---:|---:|---:|---:|---:|"]
    for p in r.curve:
        oracle = f"{p.oracle_ndcg.estimate:.4f}" if p.oracle_ndcg else "–"
        lines.append(f"| {p.n} | {p.global_ndcg.estimate:.4f} | {p.personal_ndcg.estimate:.4f} "
                     f"| {p.gain.estimate:+.4f} "
                     f"({p.gain.low:+.4f} … {p.gain.high:+.4f}) | {p.worse_share:.0%} | {oracle} |")
    lines += ["", f"Trained state: {r.trainable_parameters} parameters ({r.state_bytes} bytes per user). One "
              f"train call {r.train_ms_p50 * 1000:.0f} µs, one infer {r.infer_ms_p50 * 1000:.0f} µs (median, "
              f"{r.runs_in}, on the build host).", ""]
    return "\n".join(lines)


def plot(records: list[PersonalizationRecord], path: Path) -> None:
    """One figure: the global model, the oracle, and each trainable file's personalized curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = records[0]
    ns = [p.n for p in r.curve]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = [(f"{rec.file} (learning rate {rec.learning_rate:g})", rec, lambda p: p.personal_ndcg) for rec in records]
    for label, rec, get in lines + [("global model", r, lambda p: p.global_ndcg),
                                    ("oracle", r, lambda p: p.oracle_ndcg)]:
        points = [get(p) for p in rec.curve]
        if any(x is None for x in points):
            continue
        ax.plot(ns, [x.estimate for x in points], marker="o", label=label)
        ax.fill_between(ns, [x.low for x in points], [x.high for x in points], alpha=0.2)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("train calls on the user's earlier requests (n)")
    ax.set_ylabel("NDCG@10 on the user's later requests")
    ax.set_title(f"Personalization on the phone: {r.users} new users")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass(frozen=True)
class FederatedRound:
    round: int
    ndcg: float = field(metadata={"doc": "NDCG@10 of the global model (ranker + averaged head) on the test set"})
    update_norm: float = field(metadata={"doc": "norm of the averaged, noised update applied this round"})
    clipped_share: float = field(metadata={"doc": "share of device updates that hit the clip norm"})


@dataclass(frozen=True)
class FederatedResult:
    """Federated averaging of the trainable head, simulated through the real file: each device starts from the
    global head, trains on its own requests, and sends only the change (clipped, optionally noised)."""

    devices_per_round: int
    requests_per_device: int
    learning_rate: float
    clip_norm: float
    noise_multiplier: float = field(metadata={"doc": "Gaussian noise std = noise_multiplier * clip_norm / devices"})
    central_ndcg: float = field(metadata={"doc": "the centrally trained ranker as shipped (head at zero)"})
    rounds: list[FederatedRound]


class AppSideHead:
    """The ONNX path, as an app would write it: any scoring file (e.g. ranker_int8.onnx) in its runtime, plus a
    linear head over the candidate features that the app itself keeps and updates with the same loss, L2 and
    per-weight Newton step as the trainable .tflite (export/tflite/personal.py; ONNX Runtime's on-device
    training packages stopped at 1.19 and do not install beside onnxruntime 1.31). Same interface as a runtime's
    Trainer, so the study measures it the same way."""

    learning_rate_scale = 0.1  # the same step as the .tflite head

    def __init__(self, session, features: int, l2: float, prior: float | np.ndarray, items: int = 0,
                 runs_in: str = "the app's own head beside the file", vectors: np.ndarray | None = None):
        """prior: the starting curvature of every feature's weight, or of each; items: the item table's size for
        a bias per item id (the features+items head), 0 for none; vectors: [items, dim] item vectors to learn a
        user vector against (the features+items+vectors head), None for none."""
        self.session, self.l2, self.prior, self.runs_in = session, l2, prior, runs_in
        self.features, self.items = features, items
        self.vectors = None if vectors is None else np.asarray(vectors, np.float32)
        self.reset()

    def scores(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        base = np.asarray(self.session.run(feeds)["scores"], np.float32).reshape(1, -1)
        out = base + feeds["candidate_features"][0] @ self.w + self.b
        if self.vectors is not None:
            out = out + self.vectors[feeds["candidates"][0]] @ self.u
        return out + self.v[feeds["candidates"][0]] if self.items else out

    def train(self, feeds, labels, mask, learning_rate: float) -> float:
        s = self.scores(feeds).reshape(-1).astype(np.float64)
        y, m = np.asarray(labels, np.float64).reshape(-1), np.asarray(mask, np.float64).reshape(-1)
        p = 1.0 / (1.0 + np.exp(-s))
        loss = float(-(m * (y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7))).sum() / max(m.sum(), 1.0))
        g, h = (p - y) * m, p * (1 - p) * m * (learning_rate > 0)
        phi = feeds["candidate_features"][0].astype(np.float64)
        self.q = (self.q + (phi * phi).T @ h).astype(np.float32)
        self.w = (self.w - learning_rate * (phi.T @ g + self.l2 * self.w) / self.q).astype(np.float32)
        if self.vectors is not None:  # the user vector: the same step, its features the candidates' item vectors
            e = self.vectors[feeds["candidates"][0]].astype(np.float64)
            self.qu = (self.qu + (e * e).T @ h).astype(np.float32)
            self.u = (self.u - learning_rate * (e.T @ g + self.l2 * self.u) / self.qu).astype(np.float32)
        self.b = np.float32(self.b - learning_rate * (g.sum() + self.l2 * self.b))
        if self.items:  # every item id's bias, its sums over the request's candidates with that id
            ids = feeds["candidates"][0]
            self.r = (self.r + np.bincount(ids, h, self.items)).astype(np.float32)
            step = (np.bincount(ids, g, self.items) + self.l2 * self.v) / self.r
            self.v = (self.v - learning_rate * step).astype(np.float32)
        return loss

    def reset(self) -> None:
        self.w, self.b = np.zeros(self.features, np.float32), np.float32(0.0)
        self.q = np.full(self.features, self.prior, np.float32)
        self.v, self.r = np.zeros(self.items, np.float32), np.full(self.items, ITEM_PRIOR, np.float32)
        dim = 0 if self.vectors is None else self.vectors.shape[1]
        self.u, self.qu = np.zeros(dim, np.float32), np.full(dim, VECTOR_PRIOR, np.float32)

    def get_weights(self) -> dict[str, np.ndarray]:
        state = {"w": self.w.copy(), "b": np.array([self.b], np.float32), "q": self.q.copy()}
        if self.items:
            state.update(v=self.v.copy(), r=self.r.copy())
        if self.vectors is not None:
            state.update(u=self.u.copy(), qu=self.qu.copy())
        return state

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.w, self.b = weights["w"].astype(np.float32).copy(), np.float32(weights["b"][0])
        self.q = weights["q"].astype(np.float32).copy()
        if self.items:
            self.v, self.r = (weights[k].reshape(-1).astype(np.float32).copy() for k in ("v", "r"))
        if self.vectors is not None:
            self.u, self.qu = (weights[k].reshape(-1).astype(np.float32).copy() for k in ("u", "qu"))


def _flat(weights: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([weights[k].reshape(-1) for k in sorted(weights)])


def _unflat(vector: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out, at = {}, 0
    for k in sorted(like):
        size = like[k].size
        out[k] = vector[at:at + size].reshape(like[k].shape).astype(np.float32)
        at += size
    return out


def federated(trainer, devices: Timelines, test: Requests, rounds: int, devices_per_round: int, lr: float,
              clip_norm: float, noise_multiplier: float, seed: int, progress=None) -> FederatedResult:
    """FedAvg on the weights `get_weights` returns, as phones would run it. Each round draws devices_per_round
    users from `devices` (each trains once per request of their timeline); the server adds the mean of their
    clipped deltas plus Gaussian noise to the global head, then the global model is scored on `test`."""
    rng = np.random.default_rng(seed)
    trainer.reset()
    like = trainer.get_weights()
    global_w = _flat(like)

    def test_ndcg() -> float:
        trainer.set_weights(_unflat(global_w, like))
        scores = np.stack([trainer.scores(test.one(i)).reshape(-1) for i in range(len(test))])
        return mean_ndcg(scores, test.labels)

    central = test_ndcg()
    history = []
    for r in range(rounds):
        chosen = rng.choice(devices.users, size=min(devices_per_round, devices.users), replace=False)
        deltas, clipped = [], 0
        for u in chosen:
            trainer.set_weights(_unflat(global_w, like))
            timeline = devices.of(int(u))
            ones = np.ones(timeline.candidates.shape[1], np.float32)
            for i in range(len(timeline)):
                trainer.train(timeline.one(i), timeline.labels[i], ones, lr)
            delta = _flat(trainer.get_weights()) - global_w
            norm = float(np.linalg.norm(delta))
            if norm > clip_norm:
                delta *= clip_norm / norm
                clipped += 1
            deltas.append(delta)
        update = np.mean(deltas, axis=0)
        if noise_multiplier > 0:
            update = update + rng.normal(0.0, noise_multiplier * clip_norm / len(chosen), update.shape)
        global_w = global_w + update
        history.append(FederatedRound(r + 1, test_ndcg(), float(np.linalg.norm(update)), clipped / len(chosen)))
        if progress:
            progress(f"  federated round {r + 1}/{rounds}: NDCG@10 {history[-1].ndcg:.4f} (central {central:.4f})")
    trainer.reset()
    return FederatedResult(devices_per_round, devices.length, lr, clip_norm, noise_multiplier, central, history)
