"""Requests (the unit the model scores) and the built-in seeded generator of mobile-app interaction logs."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .features import (
    CANDIDATE_FEATURES,
    CANDIDATES,
    CONTEXT,
    HISTORY,
    PAD_ID,
    ContextField,
    FeatureSpec,
    feature_sums,
    hash_item_ids,
    item_feature_table,
)


@dataclass
class Requests:
    """N requests, each one user in one context with K candidate items (arrays share the first axis)."""

    context: np.ndarray  # [N, C] int32, raw context values
    history: np.ndarray  # [N, H] int32, hashed item buckets, most recent first, PAD_ID padded
    candidates: np.ndarray  # [N, K] int32, hashed item buckets
    candidate_features: np.ndarray  # [N, K, F] float32
    labels: np.ndarray  # [N, K] float32 relevance (clicks are 0/1)
    true_prob: np.ndarray | None = None  # [N, K] ground-truth click probability, known for synthetic data
    mask: np.ndarray | None = None  # [N, K] bool, False = padding (logged lists shorter than K); None = all real

    def __len__(self) -> int:
        return len(self.candidates)

    @property
    def impressions(self) -> int:
        return int(self.candidates.size)

    @property
    def rows(self) -> int:
        """The real candidates (padding slots not counted)."""
        return int(self.candidates.size if self.mask is None else np.asarray(self.mask).sum())

    def inputs(self) -> dict[str, np.ndarray]:
        return {
            CONTEXT: self.context,
            HISTORY: self.history,
            CANDIDATES: self.candidates,
            CANDIDATE_FEATURES: self.candidate_features,
        }

    def one(self, i: int) -> dict[str, np.ndarray]:
        """The inputs of request i as a batch of one: the shape every exported file takes."""
        return {name: value[i : i + 1] for name, value in self.inputs().items()}

    def item_features(self, buckets: int) -> np.ndarray:
        """[buckets, F]: each item id's mean candidate features in these requests (the ranker's item table)."""
        return item_feature_table(*feature_sums(self.candidates, self.candidate_features, buckets))

    def take(self, index) -> "Requests":
        return Requests(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[index]
                           for f in fields(self)})


def calibration_requests(train: Requests, candidates: int, n: int, seed: int) -> Requests:
    """Requests shaped like the exported model's input (K candidates), built from training data only.

    Logged slates are shorter than K, so each calibration request concatenates the candidate lists of several
    training requests behind one request's context and history: the value ranges are the training data's.
    """
    rng = np.random.default_rng(seed)
    slate = train.candidates.shape[1]
    per_request = -(-candidates // slate)
    picks = rng.choice(len(train), size=(n, per_request), replace=len(train) < n * per_request)
    first = picks[:, 0]
    cands = train.candidates[picks].reshape(n, -1)[:, :candidates]
    feats = train.candidate_features[picks].reshape(n, -1, train.candidate_features.shape[-1])[:, :candidates]
    return Requests(
        context=train.context[first],
        history=train.history[first],
        candidates=cands,
        candidate_features=feats,
        labels=train.labels[picks].reshape(n, -1)[:, :candidates],
    )


@dataclass
class Dataset:
    spec: FeatureSpec
    train: Requests
    valid: Requests
    test: Requests  # requests with exactly K candidates: the shape the exported model scores
    description: str = ""


@dataclass(frozen=True)
class SyntheticConfig:
    """The built-in generator. Train/valid requests are logged slates; test requests have K candidates."""

    users: int = 20_000
    items: int = 5_000
    categories: int = 16
    regions: int = 8
    # 300,000 x 20 = 6 M logged impressions: the ranker's quality was held back by data, not by its size
    # (docs/model_quality.md: 3x the v1 default's 30,000 requests closed 31 % of the rules-oracle gap, 10x 40 %)
    train_requests: int = 300_000
    slate_size: int = 20  # impressions per logged request
    valid_fraction: float = 0.1
    test_requests: int = 1_000
    history_len: int = 20
    item_buckets: int = 8_192
    # item ids 0 .. items-1 become model ids by "vocabulary" (id + 2, no collisions) or "hash" (into item_buckets:
    # 47 % of 5,000 items share a bucket of 8,192). Vocabulary: same ranking, a third smaller int8 file
    # (docs/model_quality.md)
    item_encoding: str = field(default="vocabulary", metadata={"choices": ("hash", "vocabulary")})
    latent_dim: int = 8
    target_ctr: float = 0.05


HOURS, WEEKDAYS, DEVICES, NETWORKS = 24, 7, 3, 3  # devices: low-end, high-end, tablet; networks: wifi, 4g, 3g
NUMERIC_ITEM_FEATURES = ("price", "quality", "freshness", "popularity")


def item_feature_names(categories: int) -> tuple[str, ...]:
    """Numeric item features, then the item's category one-hot (apps know an item's category)."""
    return NUMERIC_ITEM_FEATURES + tuple(f"category_{c}" for c in range(categories))


def feature_spec(cfg: SyntheticConfig) -> FeatureSpec:
    return FeatureSpec(
        context_fields=(
            ContextField("hour", HOURS),
            ContextField("weekday", WEEKDAYS),
            ContextField("device", DEVICES),
            ContextField("network", NETWORKS),
            ContextField("region", cfg.regions),
        ),
        history_len=cfg.history_len,
        item_buckets=item_ids(cfg)[1],
        item_features=item_feature_names(cfg.categories),
    )


def item_ids(cfg: SyntheticConfig) -> tuple[np.ndarray, int]:
    """The model id of each built-in item, and the size of the item table."""
    if cfg.item_encoding == "vocabulary":
        return np.arange(cfg.items, dtype=np.int32) + 2, cfg.items + 2  # 0 padding, 1 out of vocabulary
    return hash_item_ids(np.arange(cfg.items), cfg.item_buckets), cfg.item_buckets


# The user's part of the generator's laws, which the ceiling studies (studies/bayes_ceiling.py, phone_ceiling.py)
# read to compute what a ranker could know: a category taste log(categories * p + TASTE_FLOOR), p ~
# Dirichlet(TASTE_CONCENTRATION), and a latent vector ~ N(0, 1); a click's logit adds TASTE_WEIGHT x the taste
# and LATENT_WEIGHT x the latent match / sqrt(dim); a history draws items by taste + the same latent match.
TASTE_CONCENTRATION = 0.3
TASTE_FLOOR = 1e-3
TASTE_WEIGHT = 0.8
LATENT_WEIGHT = 0.8


def _draw_taste(rng: np.random.Generator, categories: int, users: int) -> np.ndarray:
    return np.log(rng.dirichlet(np.full(categories, TASTE_CONCENTRATION), users) * categories
                  + TASTE_FLOOR).astype(np.float32)


class _World:
    """Users, items and the true click model. Everything the generator samples comes from one seeded RNG."""

    def __init__(self, cfg: SyntheticConfig, rng: np.random.Generator):
        self.cfg = cfg
        n_i, n_c, dim = cfg.items, cfg.categories, cfg.latent_dim
        self.category = rng.integers(0, n_c, n_i)
        self.item_latent = rng.normal(0.0, 1.0, (n_i, dim))
        log_price = rng.normal(3.0, 0.8, n_i)
        quality = rng.beta(2.0, 2.0, n_i)
        freshness = rng.uniform(0.0, 1.0, n_i)
        popularity = 1.0 / (rng.permutation(n_i) + 10.0) ** 0.9  # Zipf-like exposure weights
        self.log_popularity = np.log(popularity / popularity.sum())
        self.price_z = np.clip((log_price - 3.0) / 0.8, -3, 3)
        self.quality = quality
        self.features = np.stack(
            [
                self.price_z / 3.0,
                quality * 2 - 1,
                freshness * 2 - 1,
                (self.log_popularity - self.log_popularity.min()) / np.ptp(self.log_popularity) * 2 - 1,
            ] + [(self.category == c).astype(float) for c in range(n_c)],
            axis=1,
        ).astype(np.float32)
        self.item_bucket = item_ids(cfg)[0]

        self.taste = _draw_taste(rng, n_c, cfg.users)
        self.user_latent = rng.normal(0.0, 1.0, (cfg.users, dim))
        self.user_region = rng.integers(0, cfg.regions, cfg.users)
        self.user_device = rng.choice(DEVICES, cfg.users, p=[0.45, 0.45, 0.10])

        # Context effects: which categories people want by time of day, weekend, network and region.
        self.hour_cat = rng.normal(0.0, 0.7, (6, n_c))  # six 4-hour blocks
        self.weekend_cat = rng.normal(0.0, 0.4, (2, n_c))
        self.network_cat = rng.normal(0.0, 0.5, (NETWORKS, n_c))
        self.region_cat = rng.normal(0.0, 0.3, (cfg.regions, n_c))
        self.price_by_device = np.array([-0.6, 0.3, 0.2])  # low-end phones shy away from expensive items
        self.price_by_network = np.array([0.0, -0.2, -0.5])
        self.bias = 0.0

    def add_users(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n new users drawn like the others (never seen in training): their indices."""
        cfg, first = self.cfg, len(self.taste)
        self.taste = np.concatenate([self.taste, _draw_taste(rng, cfg.categories, n)])
        self.user_latent = np.concatenate([self.user_latent, rng.normal(0.0, 1.0, (n, cfg.latent_dim))])
        self.user_region = np.concatenate([self.user_region, rng.integers(0, cfg.regions, n)])
        self.user_device = np.concatenate([self.user_device, rng.choice(DEVICES, n, p=[0.45, 0.45, 0.10])])
        return np.arange(first, first + n)

    def sample_context(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(users)
        hour = rng.choice(HOURS, n, p=_hour_profile())
        weekday = rng.integers(0, WEEKDAYS, n)
        network = rng.choice(NETWORKS, n, p=[0.55, 0.35, 0.10])
        travelling = rng.random(n) < 0.05
        region = np.where(travelling, rng.integers(0, self.cfg.regions, n), self.user_region[users])
        return np.stack([hour, weekday, self.user_device[users], network, region], axis=1).astype(np.int32)

    def user_item_affinity(self, users: np.ndarray) -> np.ndarray:
        """[n, items] log-affinity of each user for each item (taste for its category plus latent match)."""
        dim = self.cfg.latent_dim
        # float32 throughout: this [n, items] matrix is most of the generator's time
        latent = self.user_latent[users].astype(np.float32) @ self.item_latent.T.astype(np.float32)
        return self.taste[users][:, self.category] + float(LATENT_WEIGHT / np.sqrt(dim)) * latent

    def logits(self, users, context, items, last_category) -> np.ndarray:
        """True click logits for items [n, k] shown to users [n] in context [n, 5]."""
        cat = self.category[items]
        dim = self.cfg.latent_dim
        latent = np.einsum("nd,nkd->nk", self.user_latent[users], self.item_latent[items]) / np.sqrt(dim)
        return self.add_request_terms(self.bias + TASTE_WEIGHT * np.take_along_axis(self.taste[users], cat, axis=1)
                                      + LATENT_WEIGHT * latent, context, items, last_category)

    def add_request_terms(self, user_terms: np.ndarray, context, items, last_category) -> np.ndarray:
        """user_terms [n, k] plus the logit's terms that come from the request alone (context, items, the last
        item's category), added one by one in this order so the sums, and so the drawn clicks, stay the same."""
        hour, weekday, device, network, region = (context[:, j : j + 1] for j in range(5))
        cat = self.category[items]
        weekend = (weekday >= 5).astype(int)
        price = self.price_z[items]
        return (
            user_terms
            + self.hour_cat[hour // 4, cat]
            + self.weekend_cat[weekend, cat]
            + self.network_cat[network, cat]
            + self.region_cat[region, cat]
            + self.price_by_device[device] * price
            + self.price_by_network[network] * price
            + 1.2 * (self.quality[items] - 0.5)
            + 0.5 * (cat == last_category[:, None])  # "what they just did": more of the same category
        )


def _hour_profile() -> np.ndarray:
    hours = np.arange(HOURS)
    p = 0.3 + np.exp(-((hours - 13) ** 2) / 8) + 1.4 * np.exp(-((hours - 21) ** 2) / 6)
    return p / p.sum()


def _race(logw: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Exponential race (equivalent to Gumbel top-k): the k largest w / E with E ~ Exp(1), largest first."""
    weights = np.exp(logw - logw.max(axis=1, keepdims=True)).astype(np.float32)
    keys = weights / (rng.standard_exponential(size=logw.shape, dtype=np.float32) + 1e-12)
    top = np.argpartition(keys, keys.shape[1] - k, axis=1)[:, -k:]
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def _sample_without_replacement(logw: np.ndarray, k: int, rng: np.random.Generator, rows: int | None = None
                                ) -> np.ndarray:
    """k distinct column indices per row, drawn with probability proportional to exp(logw), in draw order.
    logw [rows, n], or [n] shared by `rows` rows.

    Successive sampling: draw with replacement and keep each row's first k distinct draws, which is the same
    distribution as drawing without replacement one at a time (and as the exponential race), at the cost of a
    cumulative sum and a binary search instead of a random key per item. A row whose 3k draws hold fewer than k
    distinct items (a very peaked row) is redrawn by the race.
    """
    shared = logw.ndim == 1
    rows = rows if shared else logw.shape[0]
    n, draws = logw.shape[-1], 3 * k
    cdf = np.cumsum(np.exp(logw - logw.max(axis=-1, keepdims=True)), axis=-1)
    u = rng.random((rows, draws)) * (cdf[-1] if shared else cdf[:, -1:])
    if shared:
        picks = np.searchsorted(cdf, u)
    else:  # one small search per row beats one search over all rows (cache-friendly)
        picks = np.stack([np.searchsorted(c, r) for c, r in zip(cdf, u)])
    picks = np.minimum(picks, n - 1)
    order = np.argsort(picks, axis=1, kind="stable")
    ranked = np.take_along_axis(picks, order, axis=1)
    first_sorted = np.ones_like(ranked, bool)
    first_sorted[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    first = np.zeros_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    taken = first & (np.cumsum(first, axis=1) <= k)
    complete = taken.sum(axis=1) == k
    out = np.empty((rows, k), np.int64)
    out[complete] = picks[complete][taken[complete]].reshape(-1, k)
    if not complete.all():
        full = np.broadcast_to(logw, (rows, n)) if shared else logw
        out[~complete] = _race(full[~complete], k, rng)
    return out


def _requests(world: _World, n: int, k: int, rng: np.random.Generator, chunk: int = 1_000,
              users: np.ndarray | None = None) -> Requests:
    """n requests of k candidates, each by a random user (or by users[i], in that order)."""
    cfg = world.cfg
    out = None
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        who = rng.integers(0, cfg.users, m) if users is None else users[start:start + m]
        context = world.sample_context(who, rng)
        hist_items = _sample_without_replacement(world.user_item_affinity(who) + world.log_popularity.astype(np.float32),
                                                 cfg.history_len, rng)
        lengths = np.minimum(rng.geometric(0.12, m), cfg.history_len)  # newer users have shorter histories
        valid = np.arange(cfg.history_len)[None, :] < lengths[:, None]
        history = np.where(valid, world.item_bucket[hist_items], PAD_ID).astype(np.int32)
        last_category = world.category[hist_items[:, 0]]
        items = _sample_without_replacement(world.log_popularity, k, rng, rows=m)
        prob = 1.0 / (1.0 + np.exp(-world.logits(who, context, items, last_category)))
        part = {"context": context, "history": history, "candidates": world.item_bucket[items].astype(np.int32),
                "candidate_features": world.features[items],
                "labels": (rng.random(prob.shape) < prob).astype(np.float32), "true_prob": prob.astype(np.float32)}
        if out is None:  # arrays of the final size, filled chunk by chunk: concatenating the chunks held the data
            # twice, and the freed chunks stayed in the process (glibc keeps freed heap): +0.6 GB of peak RSS
            out = {name: np.empty((n,) + a.shape[1:], a.dtype) for name, a in part.items()}
        for name, a in part.items():
            out[name][start:start + m] = a
    return Requests(**out)


def _calibrate_bias(world: _World, rng: np.random.Generator) -> None:
    """Shift the true logits so that the average click rate of logged slates is cfg.target_ctr."""
    sample = _requests(world, 500, world.cfg.slate_size, rng)
    logits = np.log(sample.true_prob) - np.log1p(-sample.true_prob)
    lo, hi = -15.0, 15.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logits + mid)))) > world.cfg.target_ctr:
            hi = mid
        else:
            lo = mid
    world.bias = (lo + hi) / 2


def _world(cfg: SyntheticConfig, seed: int) -> tuple[_World, np.random.Generator]:
    rng = np.random.default_rng(seed)
    world = _World(cfg, rng)
    _calibrate_bias(world, rng)
    return world, rng


@dataclass
class Timelines:
    """Per new user, `length` requests in time order: same taste, changing context and history. Learning on a
    user's first n requests can be scored on their later ones."""

    requests: Requests  # users * length, user by user
    users: int
    length: int

    def of(self, u: int) -> Requests:
        return self.requests.take(slice(u * self.length, (u + 1) * self.length))


def timelines(cfg: SyntheticConfig, candidates: int, seed: int, users: int, length: int, stream: int = 1
              ) -> Timelines:
    """Timelines of `users` users nobody trained on, in the world `generate(cfg, _, seed)` draws from; `stream`
    picks an independent set of users (e.g. one to tune on, another to report)."""
    world, _ = _world(cfg, seed)
    rng = np.random.default_rng([seed, stream])
    who = np.repeat(world.add_users(users, rng), length)
    return Timelines(_requests(world, len(who), candidates, rng, users=who), users, length)


def fresh_requests(cfg: SyntheticConfig, candidates: int, seed: int, n: int, stream: int,
                   users: np.ndarray | None = None) -> Requests:
    """n new requests of `candidates` items (known click probabilities) from the world `generate(cfg, _, seed)`
    draws from, on an independent stream: traffic the model was not trained on. users: the world's user index of
    each request (default: random users)."""
    world, _ = _world(cfg, seed)
    return _requests(world, n, candidates, np.random.default_rng([seed, stream, 17]), users=users)


def generate(cfg: SyntheticConfig, candidates: int, seed: int) -> Dataset:
    """The built-in dataset: the same config and seed always give the same arrays."""
    world, rng = _world(cfg, seed)
    logged = _requests(world, cfg.train_requests, cfg.slate_size, rng)
    n_valid = int(round(cfg.train_requests * cfg.valid_fraction))
    test = _requests(world, cfg.test_requests, candidates, rng)
    return Dataset(
        spec=feature_spec(cfg),
        train=logged.take(slice(n_valid, None)),
        # a copy, not a view: a view would keep every training row alive for as long as validation is
        valid=logged.take(np.arange(n_valid)),
        test=test,
        description=(f"synthetic(seed={seed}): {cfg.users} users, {cfg.items} items, "
                     f"{logged.impressions} logged impressions, {test.impressions} test impressions"),
    )
