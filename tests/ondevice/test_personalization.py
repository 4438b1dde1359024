"""The personalization study through the real trainable file, at a tiny size (the default run does 500 users)."""

import json

import numpy as np
import pytest

from edgeship.core import typed
from edgeship.export import formats
from edgeship.export.manifest import read_manifest_file
from edgeship.models.data import timelines
from edgeship.models.item_vectors import DIM
from edgeship.ondevice import personalization
from edgeship.ondevice.personalization import PersonalizationRecord

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_bundle_carries_the_study_and_the_app_settings(reference_bundle, tiny_config, tiny_data):
    manifest = json.loads((reference_bundle / "manifest.json").read_text())
    records = [typed.load(PersonalizationRecord, r, "manifest", toml=False) for r in manifest["personalization"]]
    assert [r.file for r in records] == ["ranker_personal.tflite", "ranker_personal.mlmodel"]
    study = tiny_config.personalization
    features, items, user = tiny_data.test.candidate_features.shape[-1], tiny_data.spec.item_buckets, DIM
    # w, b (+ the score) and the user vector u; the .tflite head also a bias per item id (v), and each weight's
    # curvature (q, r, qu)
    for record, scale, parameters, state in zip(records, (0.1, 0.01), (features + 1 + items + user,
                                                                       features + 2 + user),
                                                (2 * features + 1 + 2 * items + 2 * user, features + 2 + user)):
        rates = [lr * scale for lr in study.learning_rates]
        assert [p.n for p in record.curve] == list(study.steps) and record.users == study.users
        assert record.learning_rate in rates and set(record.learning_rates_tried) == {f"{lr:g}" for lr in rates}
        zero = record.curve[0]
        assert zero.gain.estimate == 0 and zero.personal_ndcg.estimate == zero.global_ndcg.estimate  # n = 0: the shipped state
        assert all(p.oracle_ndcg.estimate > p.global_ndcg.estimate for p in record.curve)  # the oracle knows each taste
        assert record.trainable_parameters == parameters and record.state_bytes == 4 * state
        assert record.train_ms_p50 > 0
    assert json.loads((reference_bundle / "personalization.json").read_text()) == manifest["personalization"]
    assert (reference_bundle / "personalization.png").read_bytes()[:4] == b"\x89PNG"
    assert "| n | global NDCG@10 |" in (reference_bundle / "personalization.md").read_text()


def test_the_study_is_deterministic_and_learning_moves_the_curve(reference_bundle, tiny_config):
    study = tiny_config.personalization
    tune, report = (timelines(tiny_config.data, tiny_config.export.candidates, tiny_config.seed, n, study.length, s)
                    for n, s in ((study.tune_users, 2), (study.users, 1)))
    tflite = formats.get("tflite")
    path = reference_bundle / "ranker_personal.tflite"
    a = personalization.study(tflite.trainer(path), path.name, tune, report, study, tiny_config.seed, lambda _: None)
    b = personalization.study(tflite.trainer(path), path.name, tune, report, study, tiny_config.seed, lambda _: None)
    assert [p.personal_ndcg for p in a.curve] == [p.personal_ndcg for p in b.curve]
    trainer = tflite.trainer(path)
    still = personalization.curves(trainer, report, study, 0.0)  # learning rate 0: nothing may change
    np.testing.assert_allclose(still, still[:, :1].repeat(still.shape[1], axis=1))
    moved = personalization.curves(trainer, report, study, a.learning_rate)
    assert not np.allclose(moved[:, -1], moved[:, 0])


def test_federated_averaging_runs_on_the_files_weights_and_clips(reference_bundle, tiny_config):
    k = tiny_config.export.candidates
    devices = timelines(tiny_config.data, k, tiny_config.seed, 6, 4, stream=3)
    test = timelines(tiny_config.data, k, tiny_config.seed, 2, 5, stream=4).requests
    trainer = formats.get("tflite").trainer(reference_bundle / "ranker_personal.tflite")
    still = personalization.federated(trainer, devices, test, 2, 3, 0.0, 1.0, 0.0, seed=1)
    assert all(r.ndcg == still.central_ndcg and r.update_norm == 0 for r in still.rounds)  # nothing learned
    clipped = personalization.federated(trainer, devices, test, 2, 3, 1.0, 1e-3, 0.0, seed=1)
    assert all(r.clipped_share == 1.0 and 0 < r.update_norm <= 1e-3 + 1e-9 for r in clipped.rounds)
    noisy = personalization.federated(trainer, devices, test, 1, 3, 1.0, 1e-3, 5.0, seed=1)
    assert noisy.rounds[0].update_norm > clipped.rounds[0].update_norm  # noise of 5x the clip / 3 devices
    trainer.reset()
    assert not trainer.get_weights()["w"].any()  # the file is left at its shipped state


def test_the_onnx_path_app_side_head_learns_and_resets(reference_bundle, tiny_config, tiny_data):
    from edgeship.export.tflite import L2

    manifest = read_manifest_file(reference_bundle / "manifest.json")
    prior = next(a.details.curvature_prior for a in manifest.artifacts if a.trainable and a.format == "tflite")
    session = formats.get("onnx").open_session(reference_bundle / "ranker_int8.onnx")
    head = personalization.AppSideHead(session, tiny_data.test.candidate_features.shape[-1], L2, np.array(prior))
    np.testing.assert_array_equal(head.get_weights()["q"], prior)
    request, k = tiny_data.test.one(0), tiny_config.export.candidates
    shipped = head.scores(request)
    np.testing.assert_array_equal(shipped, session.run(request)["scores"])  # zero head: the file's own scores
    labels = np.eye(k, dtype=np.float32)[int(np.argmin(shipped))]
    first = head.train(request, labels, np.ones(k), 1.0)
    assert head.train(request, labels, np.ones(k), 0.0) < first  # the step lowered the loss on its request
    head.reset()
    np.testing.assert_array_equal(head.scores(request), shipped)


def test_the_curvature_prior_is_loose_for_two_valued_columns_and_ignores_padding():
    present = np.array([[True, True, True, False]])
    features = np.array([[[1.0, 0.3, -0.7, 5.0], [0.0, 1.2, 1.4, 9.0], [1.0, -0.5, -0.7, 5.0],
                          [0.0, 0.0, 0.0, 0.0]]], np.float32)  # a one-hot, continuous, standardized flag, constant
    prior = personalization.curvature_prior(features, present)
    assert prior.dtype == np.float32 and prior.tolist() == [personalization.INDICATOR_PRIOR,
                                                             personalization.CONTINUOUS_PRIOR,
                                                             personalization.INDICATOR_PRIOR,
                                                             personalization.INDICATOR_PRIOR]
    # the padded slot's zeros would make the flag three-valued
    assert personalization.curvature_prior(features, np.ones_like(present))[2] == personalization.CONTINUOUS_PRIOR
