"""The listwise ranker: one call scores the K candidates of one request.

Every pattern here was chosen because it converts to TFLite (builtin int8 ops), Core ML and ONNX *and* still
ranks after full-integer quantization (see docs/formats.md for the traps it avoids):
- one lookup in the shared item table over concat(history, candidates), so int8 TFLite stores the table once;
- history pooling as softmax over an additive mask bias (not sum/count, whose int8 DIV breaks silently);
- the mask comes from min(ids, 1) looked up in a frozen 2-row table, so no float CAST is left in the graph;
- the first MLP layer is split into a request part and a candidate part that are added by broadcasting,
  so no tile of the request vector is needed.
The model is user-agnostic: no per-user table, so its size does not grow with the user base.
"""

from __future__ import annotations


import numpy as np
import tensorflow as tf
import tf_keras as keras

from ..core.errors import ConfigError
from .features import CANDIDATE_FEATURES, CANDIDATES, CONTEXT, HISTORY, SCORES, FeatureSpec
from .settings import RankerConfig  # noqa: F401  defined TensorFlow-free, re-exported

ITEM_FEATURE_TABLE = "item_feature_table"
MASK_BIAS = 16.0  # large enough to silence padding in the softmax, small enough to keep int8 scales useful


def build_ranker(spec: FeatureSpec, cfg: RankerConfig, candidates: int | None = None, batch: int | None = None
                 ) -> keras.Model:
    """A Keras 2 functional model. candidates/batch None leave those dimensions free (training);
    export passes fixed values."""
    n_ctx, hist_len, n_feat = len(spec.context_fields), spec.history_len, len(spec.item_features)
    context = keras.Input((n_ctx,), batch_size=batch, dtype=tf.int32, name=CONTEXT)
    history = keras.Input((hist_len,), batch_size=batch, dtype=tf.int32, name=HISTORY)
    cands = keras.Input((candidates,), batch_size=batch, dtype=tf.int32, name=CANDIDATES)
    cand_feats = keras.Input((candidates, n_feat), batch_size=batch, dtype=tf.float32, name=CANDIDATE_FEATURES)

    ctx_vec = _context(context, spec, cfg)

    # Items: one lookup over history and candidates together, then split.
    ids = keras.layers.Concatenate(axis=1, name="all_item_ids")([history, cands])
    item_emb = keras.layers.Embedding(spec.item_buckets, cfg.item_dim, name="item_embedding")(ids)
    hist_emb = item_emb[:, :hist_len, :]
    cand_emb = item_emb[:, hist_len:, :]

    # History pooling: mean over non-padding items, as a softmax with an additive mask bias.
    mask = keras.layers.Embedding(2, 1, embeddings_initializer=keras.initializers.Constant([[0.0], [1.0]]),
                                  trainable=False, name="history_mask")(tf.minimum(history, 1))
    mask = keras.layers.Reshape((1, hist_len), name="mask_row")(mask)
    weights = keras.layers.Softmax(axis=-1, name="history_weights")((mask - 1.0) * MASK_BIAS)
    hist_vec = tf.matmul(weights, hist_emb)  # [B, 1, D]

    # The most recent item on its own too: what the user just did says more than the average of the history.
    last_item = keras.layers.Reshape((cfg.item_dim,), name="last_item")(hist_emb[:, :1, :])
    request = keras.layers.Concatenate(axis=-1, name="request_features")(
        [ctx_vec, keras.layers.Reshape((cfg.item_dim,), name="history_flat")(hist_vec), last_item])
    request_hidden = keras.layers.Dense(cfg.hidden[0], name="request_dense")(request)
    request_hidden = keras.layers.Reshape((1, cfg.hidden[0]), name="request_row")(request_hidden)

    match = keras.layers.Multiply(name="history_match")([cand_emb, hist_vec])
    parts = [cand_emb, match]
    if cfg.history_features:
        parts.append(_history_features(history, weights, cand_feats, spec))
    if cfg.attention:
        parts += _attention(cand_emb, hist_emb, mask, cfg.item_dim)
    candidate = keras.layers.Concatenate(axis=-1, name="candidate_input")([*parts, cand_feats])
    candidate_hidden = keras.layers.Dense(cfg.hidden[0], use_bias=False, name="candidate_dense")(candidate)

    x = keras.layers.Add(name="join")([candidate_hidden, request_hidden])
    x = keras.layers.ReLU(name="join_relu")(x)
    x0 = x
    for i in range(cfg.cross_layers):
        # DCN-v2: x_{l+1} = x0 * (W x_l + b) + x_l, explicit multiplicative crosses of request and candidate
        x = keras.layers.Add(name=f"cross_{i}")(
            [keras.layers.Multiply(name=f"cross_{i}_product")([x0, keras.layers.Dense(cfg.hidden[0],
                                                                                       name=f"cross_{i}_dense")(x)]), x])
    x = _dropout(x, cfg, "join_dropout")
    for i, units in enumerate(cfg.hidden[1:], start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
        x = _dropout(x, cfg, f"hidden_{i}_dropout")
    logits = keras.layers.Dense(1, name="logit")(x)
    # The output is the click logit, not the probability: an int8 sigmoid output has steps of 1/256, which
    # turns the many small click probabilities (a few percent) into ties and breaks the ranking.
    scores = keras.layers.Reshape((-1,) if candidates is None else (candidates,), name=SCORES)(logits)
    return keras.Model(inputs=[context, history, cands, cand_feats], outputs=scores, name="edgeship_ranker")


def _context(context, spec: FeatureSpec, cfg: RankerConfig):
    """The request's context fields as one vector."""
    n_ctx = len(spec.context_fields)
    unknown = sorted(set(cfg.context_dims) - {f.name for f in spec.context_fields})
    if unknown:
        raise ConfigError(f"[model] context_dims: {unknown[0]!r} is not a context field of this data (fields: "
                          f"{', '.join(f.name for f in spec.context_fields)})")
    if not cfg.context_dims:  # one table for all fields, each field's values shifted into its own id range
        offsets = tf.constant([spec.context_offsets], dtype=tf.int32)
        emb = keras.layers.Embedding(spec.context_vocab, cfg.context_dim, name="context_embedding")(context + offsets)
        return keras.layers.Reshape((n_ctx * cfg.context_dim,), name="context_flat")(emb)
    # one column per field by tf.split, not context[:, i]: a strided slice makes Core ML's converter emit a
    # spec-5 layer that the iOS 13 target refuses
    columns = tf.split(context, n_ctx, axis=1) if n_ctx > 1 else [context]
    parts = []
    for i, (f, column) in enumerate(zip(spec.context_fields, columns)):
        dim = cfg.context_dims.get(f.name, cfg.context_dim)
        emb = keras.layers.Embedding(f.cardinality, dim, name=f"context_{i}_embedding")(column)  # [B, 1, dim]
        parts.append(keras.layers.Reshape((dim,), name=f"context_{i}_flat")(emb))
    return keras.layers.Concatenate(axis=-1, name="context_flat")(parts)


def _attention(cand_emb, hist_emb, mask, dim: int) -> list:
    """Candidate-aware pooling (DIN-style): each candidate weighs the history items by their dot product with it,
    so "bought a similar item" counts for that candidate and not for the others. Padding is silenced by the same
    additive mask bias as the mean pooling. Returns the attended history and its match with the candidate."""
    # TF ops on Keras tensors, not Lambda layers: tfmot's QAT clones the model, and a Lambda does not deserialize
    logits = tf.matmul(cand_emb, hist_emb, transpose_b=True) * (1.0 / np.sqrt(dim))  # [B, K, H]
    weights = keras.layers.Softmax(axis=-1, name="attention_weights")(logits + (mask - 1.0) * MASK_BIAS)
    attended = keras.layers.Reshape((-1, dim), name="attended_history")(tf.matmul(weights, hist_emb))  # [B, K, D]
    return [attended, keras.layers.Multiply(name="attention_match")([cand_emb, attended])]


def _history_features(history, weights, cand_feats, spec: FeatureSpec):
    """The history's known item features, pooled like its embeddings, times each candidate's: for a category
    one-hot, the share of the history in the candidate's category. (Their count over the history's length as well
    ranked the same: 0.3576 vs 0.3583 NDCG@10 on 4,000 lists.)"""
    # filled from the training rows before training (set_item_features); part of the weights every file carries
    known = keras.layers.Embedding(spec.item_buckets, len(spec.item_features), embeddings_initializer="zeros",
                                   trainable=False, name=ITEM_FEATURE_TABLE)(history)  # [B, H, F]
    return keras.layers.Multiply(name="feature_share")([cand_feats, tf.matmul(weights, known)])


def set_item_features(model: keras.Model, table) -> None:
    """Give a ranker built with history_features its item table ([item_buckets, F], `features.item_feature_table`)."""
    if table is not None and any(layer.name == ITEM_FEATURE_TABLE for layer in model.layers):
        model.get_layer(ITEM_FEATURE_TABLE).set_weights([np.asarray(table, np.float32)])


def _dropout(x, cfg: RankerConfig, name: str):
    # inference graphs (every exported file) carry no dropout op: Keras drops the layer outside training
    return keras.layers.Dropout(cfg.dropout, name=name)(x) if cfg.dropout > 0 else x


def with_fixed_shape(model: keras.Model, spec: FeatureSpec, cfg: RankerConfig, candidates: int) -> keras.Model:
    """The same weights in a model with batch 1 and K fixed: what every exporter converts."""
    fixed = build_ranker(spec, cfg, candidates=candidates, batch=1)
    fixed.set_weights(model.get_weights())
    return fixed


def parameter_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.weights))


def predict(model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Scores (click logits) [N, K]."""
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))


def probabilities(scores: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))
