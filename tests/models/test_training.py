import numpy as np

from edgeship.models.metrics import auc
from edgeship.models.ranker import build_ranker, predict
from edgeship.models.training import TrainConfig, fit, seed_everything


def _train(tiny_data, tiny_config, seed):
    seed_everything(seed)
    model = build_ranker(tiny_data.spec, tiny_config.model)
    return fit(model, tiny_data.train, tiny_data.valid, seed,
               schedule=TrainConfig(epochs=1, batch_size=256, learning_rate=3e-3))


def test_same_seed_same_weights(tiny_data, tiny_config):
    a = _train(tiny_data, tiny_config, 5).get_weights()
    b = _train(tiny_data, tiny_config, 5).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_training_learns_something(tiny_data, tiny_model):
    scores = predict(tiny_model, tiny_data.valid.inputs())
    # the true click probabilities are learnable: better than chance on held-out slates
    assert auc(scores, tiny_data.valid.labels) > 0.55
