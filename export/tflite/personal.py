"""A trainable .tflite that keeps learning its one user on the phone: the shipped ranker frozen, plus a small
linear head, trained in place by the app.

    score = ranker(x) + phi(x) . w + b [+ v[candidate id] [+ e[candidate id] . u]],
    phi = candidate_features, or [last hidden layer, them]

The candidate features carry an item's category and price, so w is this user's taste; with the hidden layer too,
steps above 3 made things worse and the gain at n = 20 was +0.074 instead of +0.119 (docs/personalization.md).
The features+items head also learns a bias per item id, v, from the taps and skips on the items this
user is shown again and again: what the user thinks of an item beyond its features (the generator's latent
match), which the features cannot carry (measured: 31 % of the gap to the oracle at n = 50 instead of 22 %).
The features+items+vectors head (the default) adds a user vector u learned against frozen item vectors e from the
training histories (models.item_vectors): what the user thinks of items they have not been shown yet (measured:
51 % of the gap at n = 50 instead of 31 %).

w, b, v and u start at zero, so the shipped file ranks like the ranker until the user's first tap. Signatures:
  infer(context, history, candidates, candidate_features) -> scores [1, K]
  train(... the same, labels [1, K], mask [1, K], learning_rate [1]) -> loss [1]: one per-weight Newton step of
        logistic loss on the request's real candidates (mask 1), with an L2 pull back toward the shipped state
  reset() -> done: back to the shipped state (the user's "reset personalization")
  get_weights() -> w [D, 1], b [1], q [D, 1] (+ v [items, 1], r [items, 1] (+ u [dim, 1], qu [dim, 1]));
        set_weights(the same) -> done: the app persists the state across restarts (q, r, qu: each weight's
        curvature so far; q starts from a prior per candidate feature, ondevice.personalization.curvature_prior,
        recorded in the manifest as details.curvature_prior; r at ITEM_PRIOR, qu at VECTOR_PRIOR)
The step is online logistic regression with a diagonal Laplace posterior (Chapelle & Li, "An empirical
evaluation of Thompson sampling", 2011, taken at its mean): each weight keeps the curvature of the loss
it has seen, q += sum_i p_i (1 - p_i) phi_i^2, and moves by its gradient divided by q. The bias b takes a plain
gradient step: it calibrates the user's tap rate, and a curvature summed over every shown candidate would slow
it down (measured: less gain). Against plain SGD on the same users (docs/personalization.md) it learns a user
faster: taps on a rarely shown category move that category's weight as far as little is known about it.
The gradient is written by hand: tf.GradientTape emits BroadcastGradientArgs, which only the Flex delegate has
(not in the pip LiteRT wheels, nor in default Android/iOS builds). Builtin ops only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from ...models.features import CANDIDATE_FEATURES, PAD_ID, SCORES
from ...ondevice.personalization import (INDICATOR_PRIOR, ITEM_HEAD, ITEM_PRIOR, VECTOR_HEAD, VECTOR_PRIOR,
                                         curvature_prior, head_items)
from .. import shims
from ..types import Artifact, Derived, ExportJob
from . import L2
from . import TRAINABLE_SIGNATURES as SIGNATURES
from . import inspect
from .record import TFLiteDetails

NAME = "ranker_personal.tflite"
HEAD_LAYER = "logit"  # edgeship's ranker: the output Dense, whose input is the last hidden representation


# what the head sees: the candidate features; and a bias per item id (v, learned like w, each with its own
# curvature r); and a user vector against the item vectors (u, curvature qu); or the last hidden layer as well
# as the features
HEADS = ("features", ITEM_HEAD, VECTOR_HEAD, "features+hidden")


def _features(model, head: str):
    """A model giving (scores, phi without the candidate features) from the ranker's own layers; a head over the
    candidate features alone (or a user's model without edgeship's layer names) gets the scores only."""
    import tf_keras as keras

    names = {layer.name for layer in model.layers}
    if head != "features+hidden" or HEAD_LAYER not in names:
        return keras.Model(model.inputs, [model.output]), 0
    hidden = model.get_layer(HEAD_LAYER).input
    return keras.Model(model.inputs, [model.output, hidden]), int(hidden.shape[-1])


def prior(job: ExportJob, hidden: int = 0) -> np.ndarray:
    """[D] the curvature each head weight starts from: the hidden units' (features+hidden) at INDICATOR_PRIOR, as
    measured for that head, then each candidate feature's by its values over the calibration requests."""
    requests = list(job.calibration())
    features = np.concatenate([r[CANDIDATE_FEATURES] for r in requests])
    present = np.concatenate([r["candidates"] != PAD_ID for r in requests])
    return np.concatenate([np.full(hidden, INDICATOR_PRIOR, np.float32), curvature_prior(features, present)])


class PersonalRanker(tf.Module):
    def __init__(self, model, job: ExportJob):
        super().__init__()
        self.base, hidden = _features(model, job.personal_head)
        self.k = job.candidates
        self.dim = hidden + len(job.spec.item_features)
        self.prior = prior(job, hidden)
        self.q0 = tf.constant(self.prior.reshape(-1, 1))
        self.w = tf.Variable(tf.zeros([self.dim, 1]), name="w")
        self.b = tf.Variable(tf.zeros([1]), name="b")
        self.q = tf.Variable(self.q0, name="q")
        self.items = head_items(job.personal_head, job.spec.item_buckets)
        if self.items:
            self.v = tf.Variable(tf.zeros([self.items, 1]), name="v")
            self.r = tf.Variable(tf.fill([self.items, 1], ITEM_PRIOR), name="r")
        vectors = job.personal_vectors
        self.vectors = 0 if vectors is None else vectors.shape[1]
        if self.vectors:
            self.e = tf.constant(vectors)  # [items, dim], frozen like the ranker
            self.u = tf.Variable(tf.zeros([self.vectors, 1]), name="u")
            self.qu = tf.Variable(tf.fill([self.vectors, 1], VECTOR_PRIOR), name="qu")
        inputs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in job.inputs]
        extra = [tf.TensorSpec([1, self.k], tf.float32, name="labels"),
                 tf.TensorSpec([1, self.k], tf.float32, name="mask"),
                 tf.TensorSpec([1], tf.float32, name="learning_rate")]
        self.infer = tf.function(self._infer, input_signature=inputs)
        self.train = tf.function(self._train, input_signature=inputs + extra)
        self.reset = tf.function(self._reset, input_signature=[])
        self.get_weights = tf.function(self._get_weights, input_signature=[])
        state = [tf.TensorSpec([self.dim, 1], tf.float32, name="w"), tf.TensorSpec([1], tf.float32, name="b"),
                 tf.TensorSpec([self.dim, 1], tf.float32, name="q")]
        if self.items:
            state += [tf.TensorSpec([self.items, 1], tf.float32, name=n) for n in ("v", "r")]
        if self.vectors:
            state += [tf.TensorSpec([self.vectors, 1], tf.float32, name=n) for n in ("u", "qu")]
        self.set_weights = tf.function(self._set_weights, input_signature=state)

    def _scores_and_phi(self, context, history, candidates, candidate_features):
        out = self.base({"context": context, "history": history, "candidates": candidates,
                         CANDIDATE_FEATURES: candidate_features}, training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        parts = [out[1][0]] if len(out) > 1 else []
        phi = tf.concat(parts + [candidate_features[0]], axis=-1)  # [K, D]
        scores = tf.reshape(out[0], [-1]) + tf.reshape(tf.matmul(phi, self.w), [-1]) + self.b
        if self.items:
            scores += tf.reshape(tf.gather(self.v, candidates[0]), [-1])
        if self.vectors:
            scores += tf.reshape(tf.matmul(tf.gather(self.e, candidates[0]), self.u), [-1])
        return scores, phi

    def _infer(self, context, history, candidates, candidate_features):
        scores, _ = self._scores_and_phi(context, history, candidates, candidate_features)
        return {SCORES: tf.reshape(scores, [1, self.k])}

    def _train(self, context, history, candidates, candidate_features, labels, mask, learning_rate):
        scores, phi = self._scores_and_phi(context, history, candidates, candidate_features)
        y, m = labels[0], mask[0]
        p = tf.sigmoid(scores)
        n = tf.maximum(tf.reduce_sum(m), 1.0)
        loss = -tf.reduce_sum(m * (y * tf.math.log(p + 1e-7) + (1.0 - y) * tf.math.log(1.0 - p + 1e-7))) / n
        g = tf.reshape((p - y) * m, [-1, 1])  # d (summed loss) / d score, padding slots at 0
        # a call with learning rate 0 only reports the loss: it must not add curvature either
        h = tf.reshape(p * (1.0 - p) * m, [-1, 1]) * tf.cast(learning_rate[0] > 0.0, tf.float32)
        self.q.assign_add(tf.matmul(phi * phi, h, transpose_a=True))
        self.w.assign_sub(learning_rate[0] * (tf.matmul(phi, g, transpose_a=True) + L2 * self.w) / self.q)
        self.b.assign_sub(learning_rate[0] * (tf.reshape(tf.reduce_sum(g), [1]) + L2 * self.b))
        if self.items:  # the same step per item id; a request's repeated ids add up (scatter_nd sums them)
            ids = tf.reshape(candidates[0], [-1, 1])
            self.r.assign_add(tf.scatter_nd(ids, h, [self.items, 1]))
            self.v.assign_sub(learning_rate[0] * (tf.scatter_nd(ids, g, [self.items, 1]) + L2 * self.v) / self.r)
        if self.vectors:  # the user vector: w's step, with the candidates' item vectors as their features
            e = tf.gather(self.e, candidates[0])  # [K, dim]
            self.qu.assign_add(tf.matmul(e * e, h, transpose_a=True))
            self.u.assign_sub(learning_rate[0] * (tf.matmul(e, g, transpose_a=True) + L2 * self.u) / self.qu)
        return {"loss": tf.reshape(loss, [1])}

    def _reset(self):
        self.w.assign(tf.zeros([self.dim, 1]))
        self.b.assign(tf.zeros([1]))
        self.q.assign(self.q0)
        if self.items:
            self.v.assign(tf.zeros([self.items, 1]))
            self.r.assign(tf.fill([self.items, 1], ITEM_PRIOR))
        if self.vectors:
            self.u.assign(tf.zeros([self.vectors, 1]))
            self.qu.assign(tf.fill([self.vectors, 1], VECTOR_PRIOR))
        return {"done": tf.zeros([1])}

    def _get_weights(self):
        state = {"w": tf.identity(self.w), "b": tf.identity(self.b), "q": tf.identity(self.q)}
        if self.items:
            state.update(v=tf.identity(self.v), r=tf.identity(self.r))
        if self.vectors:
            state.update(u=tf.identity(self.u), qu=tf.identity(self.qu))
        return state

    def _set_weights(self, w, b, q, v=None, r=None, u=None, qu=None):
        self.w.assign(w)
        self.b.assign(b)
        self.q.assign(q)
        if self.items:
            self.v.assign(v)
            self.r.assign(r)
        if self.vectors:
            self.u.assign(u)
            self.qu.assign(qu)
        return {"done": tf.zeros([1])}


FROZEN = ("fp32", "int8")  # the frozen ranker's weights: float, or 8-bit (dynamic range: float compute)


def convert(job: ExportJob, frozen: str = "fp32") -> tuple[bytes, int, np.ndarray, int]:
    """The trainable file's bytes, the number of trained parameters (w, b, v and u), the curvature prior and the
    user vector's length."""
    module = PersonalRanker(job.model, job)
    with tempfile.TemporaryDirectory() as tmp, shims.quiet():
        tf.saved_model.save(module, tmp, signatures={s: getattr(module, s).get_concrete_function()
                                                     for s in SIGNATURES})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=list(SIGNATURES))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.experimental_enable_resource_variables = True
        if frozen == "int8":  # weights stored as int8, computed in float; the trained head's variables stay float
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert(), module.dim + 1 + module.items + module.vectors, module.prior, module.vectors


def export(job: ExportJob, out_dir: Path, derived: Derived) -> Artifact:
    data, trained, q0, user = convert(job, job.personal_frozen)
    path = out_dir / NAME
    path.write_bytes(data)
    weights = "8-bit weights (float compute)" if job.personal_frozen == "int8" else "fp32"
    return Artifact(path=path, format="tflite", precision=job.personal_frozen, trainable=True,
                    quantization_method="dynamic range (8-bit weights)" if job.personal_frozen == "int8" else None,
                    notes=f"trainable on the device: the {weights} ranker frozen plus a linear head of {trained} "
                          "parameters (signatures infer, train, reset, get_weights, set_weights)",
                    details=TFLiteDetails("infer", inspect.operators(path), list(SIGNATURES),
                                          curvature_prior=[float(x) for x in q0], user_vector=user))
