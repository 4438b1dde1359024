import numpy as np

from edgeship.models.ranker import build_ranker, parameter_count, predict, with_fixed_shape


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
    item_table = spec.item_buckets * cfg.item_dim
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
