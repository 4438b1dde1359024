import numpy as np

import tf_keras as keras

from edgeship.models.ranker import (ITEM_FEATURE_TABLE, build_ranker, parameter_count, predict, set_item_features,
                                    with_fixed_shape)


def test_scores_any_number_of_candidates_and_fixed_copy_agrees(tiny_data, tiny_model, tiny_config):
    test = tiny_data.test.take(slice(0, 4))
    scores = predict(tiny_model, test.inputs())
    assert scores.shape == (4, tiny_config.export.candidates)
    assert np.all(np.isfinite(scores)) and scores.std() > 0
    fixed = with_fixed_shape(tiny_model, tiny_data.spec, tiny_config.model, tiny_config.export.candidates)
    one = fixed.predict({k: v[:1] for k, v in test.inputs().items()}, verbose=0)
    np.testing.assert_allclose(one[0], scores[0], atol=1e-6)
    # the same weights score a shorter slate too: K is free in the training model
    short = predict(tiny_model, tiny_data.train.take(slice(0, 2)).inputs())
    assert short.shape == (2, tiny_data.train.candidates.shape[1])


def test_user_agnostic_size(tiny_data, tiny_config):
    spec = tiny_data.spec
    cfg = tiny_config.model
    model = build_ranker(spec, cfg)
    item_table = spec.item_buckets * (cfg.item_dim + len(spec.item_features) * cfg.history_features)
    # no table grows with users: everything beyond the item/context tables is the small MLP
    assert item_table < parameter_count(model) < item_table + spec.context_vocab * cfg.context_dim + 3_000


def test_padding_history_is_ignored(tiny_data, tiny_model):
    req = tiny_data.test.take(slice(0, 1))
    inputs = req.inputs()
    history = inputs["history"].copy()
    history[0, 1:] = 0  # keep one item, pad the rest
    a = predict(tiny_model, {**inputs, "history": history})
    # [a, a, pad, ...] and [a, pad, pad, ...] have the same mean over real items; they differ only if padding
    # slots carried weight in the pooling
    longer = history.copy()
    longer[0, 1] = history[0, 0]
    b = predict(tiny_model, {**inputs, "history": longer})
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_history_features_are_the_tables_rows_pooled_over_the_history(tiny_data, tiny_model, tiny_config):
    spec, req = tiny_data.spec, tiny_data.test.take(slice(0, 3))
    table = tiny_model.get_layer(ITEM_FEATURE_TABLE).get_weights()[0]
    np.testing.assert_allclose(table, tiny_data.train.item_features(spec.item_buckets))  # the fixture's, set
    share = keras.Model(tiny_model.inputs, tiny_model.get_layer("feature_share").output)(req.inputs()).numpy()
    for i in range(3):
        real = req.history[i][req.history[i] > 0]
        np.testing.assert_allclose(share[i], req.candidate_features[i] * table[real].mean(axis=0), atol=1e-5)
    # the table is part of the weights: the fixed-shape copy every exporter converts carries it, and other rows
    # rank otherwise
    fixed = with_fixed_shape(tiny_model, spec, tiny_config.model, tiny_config.export.candidates)
    np.testing.assert_array_equal(fixed.get_layer(ITEM_FEATURE_TABLE).get_weights()[0], table)
    before = predict(fixed, req.take(slice(0, 1)).inputs())
    set_item_features(fixed, np.roll(table, 1, axis=0))
    assert np.abs(predict(fixed, req.take(slice(0, 1)).inputs()) - before).max() > 1e-3
