"""The trainable .tflite: ranks like the ranker until trained, learns from taps, resets, persists, builtin ops."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from edgeship.export.parity import scorer, training_problems
from edgeship.export.tflite import inspect, personal
from edgeship.export.tflite.runtime import Trainer
from edgeship.export.types import Derived


@pytest.fixture(scope="module")
def personal_file(tiny_job, tmp_path_factory):
    return personal.export(dataclasses.replace(tiny_job, personal=True, personal_head="features+hidden"),
                           tmp_path_factory.mktemp("personal"), Derived())


def test_shipped_state_ranks_exactly_like_the_ranker(personal_file, tiny_job, tiny_data):
    assert personal_file.trainable and personal_file.details.signatures == list(personal.SIGNATURES)
    run = scorer("tflite", personal_file.path)  # the scoring signature: infer
    for request in map(tiny_data.test.one, range(5)):
        np.testing.assert_allclose(run(request), tiny_job.model.predict(request, verbose=0), atol=1e-5)
    sig = inspect.signature(personal_file.path)
    assert [t.name for t in sig.outputs] == ["scores"] and sig.candidates() == tiny_job.candidates
    facts = inspect.facts(personal_file.path)
    assert facts.mobile["builtin_ops_only"]["ok"] and "ASSIGN_VARIABLE" in facts.operators


def test_taps_teach_it_the_user_and_reset_forgets(personal_file, tiny_data):
    trainer = Trainer(personal_file.path)
    request, k = tiny_data.test.one(0), tiny_data.test.candidates.shape[1]
    shipped = trainer.scores(request).reshape(-1)
    weights = trainer.get_weights()
    hidden = 8  # tiny ranker's last hidden layer, plus every candidate feature, plus the bias
    assert weights["w"].shape == (hidden + tiny_data.test.candidate_features.shape[-1], 1) and not weights["w"].any()
    tapped = int(np.argmin(shipped))
    labels = np.eye(k, dtype=np.float32)[tapped]
    losses = [trainer.train(request, labels, np.ones(k), 0.5) for _ in range(20)]
    after = trainer.scores(request).reshape(-1)
    assert losses[-1] < losses[0] and np.argsort(-after).tolist().index(tapped) < np.argsort(-shipped).tolist().index(
        tapped)
    learned = trainer.get_weights()
    trainer.reset()
    np.testing.assert_array_equal(trainer.scores(request).reshape(-1), shipped)
    trainer.set_weights(learned)  # what the app persists across restarts
    np.testing.assert_allclose(trainer.scores(request).reshape(-1), after, atol=1e-6)
    padded = trainer.train(request, labels, np.zeros(k), 0.5)  # a fully padded list teaches nothing but the prior
    assert padded == 0.0
    assert training_problems(personal_file, tiny_data.test) == []


def test_a_file_whose_train_changes_nothing_fails_verification(tiny_job, tiny_data, tmp_path, monkeypatch):
    def lazy_train(self, context, history, candidates, candidate_features, labels, mask, learning_rate):
        return {"loss": tf.reshape(tf.reduce_sum(labels) * 0.0, [1])}

    monkeypatch.setattr(personal.PersonalRanker, "_train", lazy_train)
    broken = personal.export(dataclasses.replace(tiny_job, personal=True), tmp_path, Derived())
    assert Trainer(broken.path).get_weights()["w"].shape == (tiny_data.test.candidate_features.shape[-1], 1)
    assert training_problems(broken, tiny_data.test) == ["a train call does not change infer's output"]


class _Keras:
    """The frozen ranker's scores from the Keras model, as the app-side head reads them from its runtime."""

    def __init__(self, model):
        self.model = model

    def run(self, feeds):
        return {"scores": self.model.predict(feeds, verbose=0)}


@pytest.mark.parametrize("head", ["features", "features+items", "features+items+vectors"])
def test_the_file_and_the_app_side_head_take_the_same_newton_steps(tiny_job, tiny_data, tmp_path, head):
    from edgeship.export.tflite import L2
    from edgeship.ondevice.personalization import (CONTINUOUS_PRIOR, INDICATOR_PRIOR, ITEM_PRIOR, VECTOR_PRIOR,
                                                   AppSideHead)

    artifact = personal.export(dataclasses.replace(tiny_job, personal=True, personal_head=head), tmp_path, Derived())
    buckets, vectors = tiny_job.spec.item_buckets, tiny_job.item_vectors
    trainer = Trainer(artifact.path)
    prior = np.asarray(artifact.details.curvature_prior, np.float32)
    numeric = len(tiny_job.spec.item_features) - sum(f.startswith("category_") for f in tiny_job.spec.item_features)
    # the built-in price, quality, freshness, popularity, then the category one-hots
    assert prior.tolist() == [CONTINUOUS_PRIOR] * numeric + [INDICATOR_PRIOR] * (len(prior) - numeric)
    np.testing.assert_array_equal(trainer.get_weights()["q"].reshape(-1), prior)  # the file starts q there
    items = buckets if head != "features" else 0
    user = vectors if head == "features+items+vectors" else None  # the others ignore the job's vectors
    assert artifact.details.user_vector == (vectors.shape[1] if user is not None else 0)
    app = AppSideHead(_Keras(tiny_job.model), tiny_data.test.candidate_features.shape[-1], L2, prior, items,
                      vectors=user)
    k = tiny_data.test.candidates.shape[1]
    rng = np.random.default_rng(3)
    shown = set()
    for i in range(4):
        labels = (rng.random(k) < 0.1).astype(np.float32)
        labels[0] = 1.0
        mask = (np.arange(k) < k - i).astype(np.float32)  # some padding at the end
        request = {name: value.copy() for name, value in tiny_data.test.one(i).items()}
        request["candidates"][0, 1] = request["candidates"][0, 0]  # one id twice: its steps add up
        shown.update(request["candidates"][0, :k - i].tolist())
        loss_file = trainer.train(request, labels, mask, 1.0)
        assert loss_file == pytest.approx(app.train(request, labels, mask, 1.0), rel=1e-4)
        np.testing.assert_allclose(trainer.scores(request), app.scores(request), rtol=1e-5, atol=1e-5)
    file_state, app_state = trainer.get_weights(), app.get_weights()
    assert sorted(file_state) == sorted(app_state) == sorted(["b", "q", "w"] + (["r", "v"] if items else [])
                                                             + (["qu", "u"] if user is not None else []))
    for name in app_state:
        np.testing.assert_allclose(file_state[name].reshape(-1), app_state[name].reshape(-1), rtol=1e-4, atol=1e-6)
    if items:  # only the ids of real candidates gained curvature
        r = file_state["r"].reshape(-1)
        assert (r[sorted(shown)] > ITEM_PRIOR).all() and (np.delete(r, sorted(shown)) == ITEM_PRIOR).all()
    q = file_state["q"].reshape(-1)
    assert (q >= prior).all() and (q > prior).any()  # curvature only grows
    if user is not None:  # the user vector learned: every coordinate saw curvature and moved
        assert (file_state["qu"] > VECTOR_PRIOR).all() and file_state["u"].any()
    before = trainer.get_weights()
    trainer.train(tiny_data.test.one(5), labels, np.ones(k), 0.0)  # a rate-0 call reports the loss, changes nothing
    for name, value in trainer.get_weights().items():
        np.testing.assert_array_equal(value, before[name])
    trainer.reset()
    state = trainer.get_weights()
    np.testing.assert_array_equal(state["q"].reshape(-1), prior)
    assert not items or (not state["v"].any() and (state["r"] == ITEM_PRIOR).all())
    assert user is None or (not state["u"].any() and (state["qu"] == VECTOR_PRIOR).all())
