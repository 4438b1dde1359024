"""`edgeship export`: a user's Keras ranker (.keras, .h5, SavedModel) and an .npz into a verified bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from edgeship.core.errors import ConfigError
from edgeship.export.reader import check_bundle
from edgeship.models.features import INPUT_NAMES
from edgeship.user_model import check_contract, load_calibration, load_model


@pytest.fixture(scope="module")
def saved(tiny_model, tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_model")
    tiny_model.save(folder / "ranker.keras")
    tiny_model.save(folder / "ranker.h5")
    tiny_model.save(folder / "savedmodel", save_format="tf")
    test = tiny_data.test.take(slice(0, 60))
    np.savez(folder / "calib.npz", **test.inputs(), labels=test.labels)
    return folder


@pytest.mark.parametrize("name", ["ranker.keras", "ranker.h5", "savedmodel"])
def test_each_keras_format_loads_with_the_contract(saved, name, tiny_model, tiny_data):
    model = load_model(saved / name)
    check_contract(model, saved / name)
    inputs = tiny_data.test.take(slice(0, 4)).inputs()
    np.testing.assert_allclose(model.predict(inputs, verbose=0), tiny_model.predict(inputs, verbose=0), atol=1e-6)


def _export(cli, model, calibration, out):
    """The CLI's entry point, as a user runs it."""
    return cli("export", "--model", str(model), "--calibration", str(calibration), "--out", str(out))


def test_keras_file_exports_to_a_verified_bundle(saved, tmp_path, edgeship_cli):
    out = tmp_path / "bundle"
    done = _export(edgeship_cli, saved / "ranker.keras", saved / "calib.npz", out)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(a["path"] for a in manifest["artifacts"]) == sorted(
        [f"ranker_{p}.{x}" for p in ("fp32", "int8") for x in ("tflite", "onnx", "mlmodel", "mlpackage")]
        + ["ranker_int8.ort", "ranker_w8a8.mlpackage"])
    assert manifest["metrics"]["source"]["kind"] == "user_model" and manifest["metrics"]["test_requests"] == 60
    fp32 = next(a for a in manifest["artifacts"] if a["path"] == "ranker_fp32.onnx")
    assert fp32["verification"]["max_abs_diff"] < 1e-4 and fp32["outputs"][0]["name"] == "scores"
    assert len(check_bundle(out)) == 20  # ten files, each replaying its tensor and its raw test vectors


def test_a_format_that_cannot_take_an_op_is_reported_and_the_others_ship(saved, tmp_path, tiny_data, edgeship_cli):
    # cumulative sum over candidates: TFLite (CUMSUM), ONNX (CumSum) and the ML Program (cumsum) take it, Core ML
    # NeuralNetwork for iOS 13 does not — a real converter refusal, not a simulated one
    ins = {n: keras.Input(v.shape[1:], dtype=v.dtype, name=n) for n, v in tiny_data.test.inputs().items()}
    emb = keras.layers.Embedding(512, 4)(ins["candidates"])
    request = keras.layers.Concatenate()([keras.layers.Flatten()(keras.layers.Embedding(64, 2)(ins["context"])),
                                          keras.layers.Flatten()(keras.layers.Embedding(512, 2)(ins["history"]))])
    x = keras.layers.Dense(1)(keras.layers.Concatenate()([emb, ins["candidate_features"]]))
    x = tf.math.cumsum(x + keras.layers.Reshape((1, 1))(keras.layers.Dense(1)(request)), axis=1)
    model = keras.Model([ins[n] for n in INPUT_NAMES], keras.layers.Reshape((-1,), name="scores")(x))
    model.save(tmp_path / "cumsum.keras")
    out = tmp_path / "bundle"
    done = _export(edgeship_cli, tmp_path / "cumsum.keras", saved / "calib.npz", out)
    assert done.returncode == 1, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["format"] for f in manifest["failures"]] == ["coreml"]
    assert "cumsum" in manifest["failures"][0]["reason"].lower()
    assert {a["format"] for a in manifest["artifacts"]} == {"tflite", "onnx", "mlprogram", "ort"}
    assert "edgeship export: error: coreml: convert failed" in done.stderr


def test_lambda_layer_is_refused_before_loading(tmp_path, tiny_data):
    ins = keras.Input((3,), name="x")
    model = keras.Model(ins, keras.layers.Lambda(lambda t: t * 2)(ins))
    model.save(tmp_path / "lambda.h5")
    with pytest.raises(ConfigError, match="Lambda layer .* refused in safe mode"):
        load_model(tmp_path / "lambda.h5")


def test_model_without_the_contract_is_refused(tmp_path):
    ins = keras.Input((3,), name="features")
    keras.Model(ins, keras.layers.Dense(1)(ins)).save(tmp_path / "plain.keras")
    with pytest.raises(ConfigError, match="inputs must be named context, history, candidates, candidate_features"):
        check_contract(load_model(tmp_path / "plain.keras"), tmp_path / "plain.keras")


@pytest.mark.parametrize("arrays, message", [
    ({"context": np.zeros((20, 5))}, "missing array 'history'"),
    ({n: np.zeros((3, 4, 2) if n == "candidate_features" else (3, 4)) for n in INPUT_NAMES}, "need at least 10"),
    ({**{n: np.zeros((20, 4, 2) if n == "candidate_features" else (20, 4)) for n in INPUT_NAMES},
      "candidate_features": np.full((20, 4, 2), np.nan)}, "'candidate_features': contains NaN or inf"),
    ({**{n: np.zeros((20, 4, 2) if n == "candidate_features" else (20, 4)) for n in INPUT_NAMES},
      "labels": np.zeros((20, 5))}, "'labels': expected shape (20, 4)"),
])
def test_bad_calibration_files(tmp_path, arrays, message):
    path = tmp_path / "calib.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_calibration(path)
