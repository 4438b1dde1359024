"""Two references trained on exactly the same split as the shipped ranker, to show what it gives up.

- An unconstrained fp32 DNN, the model a practitioner writes without mobile limits: one embedding per field (with
  exact vocabularies wherever the data allows), the request repeated beside each candidate, MLP 400-400-400 with
  dropout, its own early stopping on validation AUC. Never exported: nothing here has to convert or quantize.
- A logistic regression over the same features: one weight per id of every field (mean over the history), a
  weight per candidate feature.
Both take the contract's four inputs and return one logit per candidate, so the same trainers and metrics apply.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from .features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, HISTORY, FeatureSpec
from .settings import ReferenceConfig


def _masked_mean(history, table):
    """Mean of the history items' rows, padding (id 0) left out; zeros for an empty history."""
    rows = table(history)  # [B, H, D]
    mask = tf.cast(history > 0, tf.float32)[:, :, None]
    return tf.reduce_sum(rows * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


class _Dnn(keras.Model):
    def __init__(self, spec: FeatureSpec, cfg: ReferenceConfig):
        super().__init__(name="reference_dnn")
        d = cfg.embedding_dim
        self.context_tables = [keras.layers.Embedding(f.cardinality, d, name=f"context_{i}")
                               for i, f in enumerate(spec.context_fields)]
        self.items = keras.layers.Embedding(spec.item_buckets, d, name="items")
        self.mlp = []
        for units in cfg.hidden:
            self.mlp += [keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(cfg.dropout)]
        self.out = keras.layers.Dense(1)

    def call(self, inputs, training=False):
        context, history, cands, feats = (inputs[n] for n in (CONTEXT, HISTORY, CANDIDATES, CANDIDATE_FEATURES))
        hist = _masked_mean(history, self.items)
        request = tf.concat([t(context[:, i]) for i, t in enumerate(self.context_tables)] + [hist], axis=-1)
        cand = self.items(cands)  # [B, K, D]
        k = tf.shape(cands)[1]
        x = tf.concat([tf.repeat(request[:, None, :], k, axis=1), cand, cand * hist[:, None, :], feats], axis=-1)
        for layer in self.mlp:
            x = layer(x, training=training)
        return tf.squeeze(self.out(x), -1)


class _Logistic(keras.Model):
    def __init__(self, spec: FeatureSpec):
        super().__init__(name="logistic_regression")
        self.context_weights = [keras.layers.Embedding(f.cardinality, 1, embeddings_initializer="zeros")
                                for f in spec.context_fields]
        self.item_weight = keras.layers.Embedding(spec.item_buckets, 1, embeddings_initializer="zeros")
        self.history_weight = keras.layers.Embedding(spec.item_buckets, 1, embeddings_initializer="zeros")
        self.features = keras.layers.Dense(1)

    def call(self, inputs, training=False):
        context, history, cands, feats = (inputs[n] for n in (CONTEXT, HISTORY, CANDIDATES, CANDIDATE_FEATURES))
        request = sum(t(context[:, i]) for i, t in enumerate(self.context_weights)) + _masked_mean(
            history, self.history_weight)  # [B, 1]
        return request + tf.squeeze(self.item_weight(cands), -1) + tf.squeeze(self.features(feats), -1)


def build_dnn(spec: FeatureSpec, cfg: ReferenceConfig) -> keras.Model:
    return _Dnn(spec, cfg)


def build_logistic(spec: FeatureSpec) -> keras.Model:
    return _Logistic(spec)

