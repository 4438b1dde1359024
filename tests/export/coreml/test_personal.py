"""The updatable .mlmodel: ranks like the fp32 ranker until updated, passes Apple's rules for updatable models,
learns from a tap with the gradient of its own softmax output, resets and persists; planted breaks are refused."""

import dataclasses
import json
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeship.core.errors import InputError
from edgeship.export.coreml import UPDATE, convert, personal, updatable
from edgeship.export.coreml.numpy_executor import Executor
from edgeship.export.coreml.runtime import Trainer, read_spec
from edgeship.export.parity import training_problems
from edgeship.export.types import Derived
from edgeship.models.features import SCORES


@pytest.fixture(scope="module")
def files(tiny_job, tmp_path_factory):
    out = tmp_path_factory.mktemp("coreml_personal")
    fp32 = next(a for a in convert.export(tiny_job, out, Derived()) if a.precision == "fp32")
    return fp32, personal.export(dataclasses.replace(tiny_job, personal=True), out, Derived({("coreml", "fp32"): fp32.path}))


def test_shipped_state_scores_exactly_like_the_fp32_ranker(files, tiny_data):
    fp32, updatable_file = files
    ranker, model = Executor(read_spec(fp32.path)), Executor(read_spec(updatable_file.path))
    for request in map(tiny_data.test.one, range(5)):
        out = model(request)
        np.testing.assert_allclose(out[SCORES], ranker(request)[SCORES], atol=1e-6)
        p = out[UPDATE.output].reshape(-1)  # the softmax the loss sees, over the candidates
        np.testing.assert_allclose(p, np.exp(out[SCORES][0]) / np.exp(out[SCORES][0]).sum(), rtol=1e-5)


def test_spec_is_what_core_ml_updates(files, tiny_job):
    spec = read_spec(files[1].path)
    assert updatable.problems(spec) == []
    head = next(layer for layer in spec.neuralNetwork.layers if layer.name == personal.HEAD).convolution
    # the ranker's score, the candidate features and the candidate's item vector
    assert head.kernelChannels == 1 + len(tiny_job.spec.item_features) + tiny_job.item_vectors.shape[1]
    assert spec.isUpdatable and spec.specificationVersion >= 4
    assert [layer.name for layer in spec.neuralNetwork.layers if layer.isUpdatable] == [personal.HEAD]
    training = {f.name: f.type.WhichOneof("Type") for f in spec.description.trainingInput}
    assert training == {"context": "multiArrayType", "history": "multiArrayType", "candidates": "multiArrayType",
                        "candidate_features": "multiArrayType", UPDATE.target: "int64Type"}
    sgd = spec.neuralNetwork.updateParams.optimizer.sgdOptimizer
    assert sgd.learningRate.defaultValue == UPDATE.learning_rate and sgd.miniBatchSize.defaultValue == 1
    assert files[1].details.updatable and files[1].trainable


def test_update_step_is_the_gradient_of_the_files_own_loss(files, tiny_data):
    """The NumPy update step against finite differences of -log(tap_probability[tapped]) computed by the
    executor of the whole saved file with perturbed head weights: the step is the gradient of what Core ML's loss
    layer sees, not of a re-derivation."""
    path = files[1].path
    request, tapped = tiny_data.test.one(3), 4
    labels = np.zeros(tiny_data.test.candidates.shape[1], np.float32)
    labels[tapped] = 1

    def loss(w):
        spec = read_spec(path)
        head = next(layer for layer in spec.neuralNetwork.layers if layer.name == personal.HEAD)
        head.convolution.weights.floatValue[:] = w.ravel().tolist()
        return -np.log(Executor(spec)(request)[UPDATE.output].reshape(-1)[tapped].astype(np.float64))

    trainer = Trainer(path)
    w0 = trainer.get_weights()["w"]
    trainer.train(request, labels, np.ones_like(labels), 1.0)
    step = w0 - trainer.get_weights()["w"]  # learning rate 1: the gradient itself
    eps = 1e-2
    numeric = np.array([(loss(w0 + eps * e) - loss(w0 - eps * e)) / (2 * eps)
                        for e in np.eye(w0.size, dtype=np.float32).reshape(w0.size, *w0.shape)])
    np.testing.assert_allclose(step.ravel(), numeric, atol=2e-3)


def test_a_tap_moves_the_tapped_candidate_up_reset_and_weights_restore(files, tiny_data):
    trainer = Trainer(files[1].path)
    request = tiny_data.test.one(0)
    shipped = trainer.scores(request).reshape(-1)
    tapped = int(np.argmin(shipped))
    labels = np.eye(shipped.size, dtype=np.float32)[tapped]
    before = trainer.train(request, labels, np.ones_like(labels), 1.0)
    after = trainer.scores(request).reshape(-1)
    assert np.argsort(-after).tolist().index(tapped) < np.argsort(-shipped).tolist().index(tapped)
    assert trainer.train(request, labels, np.ones_like(labels), 0.0) < before
    assert np.isnan(trainer.train(request, np.zeros_like(labels), labels, 0.05))  # no tap: nothing to learn
    learned = trainer.get_weights()
    trainer.reset()
    np.testing.assert_array_equal(trainer.scores(request).reshape(-1), shipped)
    trainer.set_weights(learned)
    np.testing.assert_allclose(trainer.scores(request).reshape(-1), after, atol=1e-6)
    assert training_problems(files[1], tiny_data.test) == []


def _broken(path, tmp_path, change):
    spec = read_spec(path)
    change(spec)
    out = tmp_path / "broken.mlmodel"
    convert.save(spec, out)
    return out


def _layer(spec, name):
    return next(layer for layer in spec.neuralNetwork.layers if layer.name == name)


def _reshape_instead_of_flatten(spec):  # reshape has no gradient in Core ML
    layer = _layer(spec, "personal/by_channel")
    layer.reshapeStatic.targetShape.extend([1, 12, 1, 1])


@pytest.mark.parametrize("change, problem", [
    (_reshape_instead_of_flatten, "'personal/by_channel' has no gradient in Core ML and stands between"),
    (lambda s: setattr(_layer(s, personal.HEAD).convolution.weights, "isUpdatable", False),
     "has a weight or bias not marked updatable"),
    (lambda s: setattr(s.neuralNetwork.updateParams.lossLayers[0].categoricalCrossEntropyLossLayer, "input",
                       "personal/by_channel"), "is not the output of a softmax layer"),
    (lambda s: setattr(s.neuralNetwork.updateParams.lossLayers[0].categoricalCrossEntropyLossLayer, "target",
                       SCORES), "is computed inside the model"),
    (lambda s: s.neuralNetwork.updateParams.optimizer.sgdOptimizer.ClearField("miniBatchSize"), "lacks miniBatchSize"),
    (lambda s: setattr(_layer(s, "personal/head_input"), "isUpdatable", True), "is marked updatable but is a concatND"),
])
def test_planted_breaks_of_apples_rules_fail_verification(files, tiny_data, tmp_path, change, problem):
    broken = dataclasses.replace(files[1], path=_broken(files[1].path, tmp_path, change))
    problems = training_problems(broken, tiny_data.test)
    assert len(problems) == 1 and problem in problems[0], problems
    with pytest.raises(InputError, match="not an updatable Core ML model"):
        Trainer(broken.path)



@pytest.mark.skipif(platform.system() != "Darwin" or shutil.which("swift") is None,
                    reason="Core ML's update task (MLUpdateTask) runs only on Apple platforms and only from Swift / "
                           "Objective-C: no Core ML runtime exists on Linux")
def test_core_ml_itself_makes_the_same_update(files, tiny_data, tmp_path):
    """Core ML updates the file once (tests/export/coreml/update_on_mac.swift); its scores afterwards must be
    the ones the NumPy update step gives."""
    request = tiny_data.test.one(0)
    trainer = Trainer(files[1].path)
    tapped = int(np.argmin(trainer.scores(request)))
    trainer.train(request, np.eye(request["candidates"].shape[1])[tapped], np.ones(request["candidates"].shape[1]),
                  0.1)
    (tmp_path / "request.json").write_text(json.dumps({
        "flat": {k: v.ravel().tolist() for k, v in request.items()}, "shapes": {k: list(v.shape) for k, v in
                                                                                request.items()},
        "tapped": tapped, "learning_rate": 0.1}))
    subprocess.run(["swift", str(Path(__file__).with_name("update_on_mac.swift")), str(files[1].path),
                    str(tmp_path / "request.json"), str(tmp_path / "out.json")], check=True, timeout=600)
    core_ml = json.loads((tmp_path / "out.json").read_text())["scores"]
    np.testing.assert_allclose(core_ml, trainer.scores(request).reshape(-1), atol=1e-3)
