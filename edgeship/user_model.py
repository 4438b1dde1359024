"""`edgeship export`: a user's own Keras ranker and a representative dataset into the same verified bundle.

The model must take the edgeship contract — inputs named context, history, candidates, candidate_features
(int32, int32, int32, float32), one output of one score per candidate — so that apps integrate every bundle the
same way; its architecture is the user's. The .npz holds N requests under those four names (and optionally
`labels` [N, K] for ranking metrics); it calibrates int8 and is the verification set for every file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.errors import ConfigError, one_line, reading_model
from .models.data import Requests
from .models.features import INPUT_DTYPES, INPUT_NAMES, ContextField, FeatureSpec

DTYPES = {name: np.dtype(dtype) for name, dtype in INPUT_DTYPES.items()}
MIN_SAMPLES = 10


@dataclass
class Calibration:
    requests: Requests
    has_labels: bool


def _layer_classes(config) -> set[str]:
    found = set()
    if isinstance(config, dict):
        if "class_name" in config:
            found.add(config["class_name"])
        for v in config.values():
            found |= _layer_classes(v)
    elif isinstance(config, list):
        for v in config:
            found |= _layer_classes(v)
    return found


def _refuse_code_layers(path: Path, config_json: str | bytes | None) -> None:
    """A Lambda layer carries Python code that runs when the model loads: refused before loading, in every
    format (the .keras safe mode does this itself; .h5 has no safe mode, so it is checked here)."""
    if not config_json:
        return
    classes = _layer_classes(json.loads(config_json))
    if "Lambda" in classes:
        raise ConfigError(f"{path}: has a Lambda layer (arbitrary Python code); refused in safe mode — rewrite it "
                          "as a custom layer class or with built-in layers")


def load_model(path: Path):
    import tf_keras as keras

    if not path.exists():
        raise ConfigError(f"{path}: model not found")
    if path.is_dir() and not (path / "saved_model.pb").is_file():
        raise ConfigError(f"{path}: a folder, but not a SavedModel (no saved_model.pb)")
    suffix = path.suffix.lower()
    if not path.is_dir() and suffix not in (".keras", ".h5", ".hdf5"):
        raise ConfigError(f"{path}: expected a .keras or .h5 file or a SavedModel folder")
    with reading_model(path, "Keras"):  # whatever Keras says about a file it cannot read, in one line
        if path.is_dir():
            return keras.models.load_model(str(path), compile=False)
        if suffix == ".keras":
            with zipfile.ZipFile(path) as z:
                _refuse_code_layers(path, z.read("config.json") if "config.json" in z.namelist() else None)
            return keras.models.load_model(str(path), compile=False, safe_mode=True)
        import h5py

        with h5py.File(path, "r") as f:
            _refuse_code_layers(path, f.attrs.get("model_config"))
        return keras.models.load_model(str(path), compile=False)


def check_contract(model, path: Path) -> int:
    """K of the model; a model that does not follow the input contract is refused with what it has instead."""
    names = [t.name.split(":")[0] for t in model.inputs]
    if sorted(names) != sorted(INPUT_NAMES):
        raise ConfigError(f"{path}: inputs must be named {', '.join(INPUT_NAMES)} (the edgeship contract); the model "
                          f"has {', '.join(names)}")
    for t in model.inputs:
        name = t.name.split(":")[0]
        if t.dtype.name != np.dtype(DTYPES[name]).name:
            raise ConfigError(f"{path}: input {name!r}: expected {np.dtype(DTYPES[name]).name}, got {t.dtype.name}")
    if len(model.outputs) != 1:
        raise ConfigError(f"{path}: expected one output (a score per candidate), got {len(model.outputs)}")
    return model.outputs[0].shape[-1]


def load_calibration(path: Path) -> Calibration:
    if not path.is_file():
        raise ConfigError(f"{path}: calibration file not found")
    try:
        data = np.load(path, allow_pickle=False)
        arrays = {k: data[k] for k in data.files}
    except Exception as e:
        raise ConfigError(f"{path}: not a readable .npz ({one_line(e, 120)})") from None
    missing = [n for n in INPUT_NAMES if n not in arrays]
    if missing:
        raise ConfigError(f"{path}: missing array {missing[0]!r} (expected one per input: {', '.join(INPUT_NAMES)})")
    n = len(arrays["candidates"])
    for name in (*INPUT_NAMES, "labels"):
        if name not in arrays:
            continue
        a = arrays[name]
        if a.dtype.kind not in "iuf" or len(a) != n:
            raise ConfigError(f"{path}: {name!r}: expected a numeric array with {n} rows (one per request), got "
                              f"{a.dtype} {a.shape}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ConfigError(f"{path}: {name!r}: contains NaN or inf")
    if n < MIN_SAMPLES:
        raise ConfigError(f"{path}: {n} requests; need at least {MIN_SAMPLES} to calibrate and verify")
    k = arrays["candidates"].shape[1]
    feats = arrays["candidate_features"]
    if feats.ndim != 3 or feats.shape[1] != k or arrays["context"].ndim != 2 or arrays["history"].ndim != 2:
        raise ConfigError(f"{path}: shapes must be context [N, C], history [N, H], candidates [N, K], "
                          f"candidate_features [N, K, F]; got {arrays['context'].shape}, {arrays['history'].shape}, "
                          f"{arrays['candidates'].shape}, {feats.shape}")
    labels = arrays.get("labels")
    if labels is not None and labels.shape != (n, k):
        raise ConfigError(f"{path}: 'labels': expected shape {(n, k)}, got {labels.shape}")
    req = Requests(**{n_: arrays[n_].astype(DTYPES[n_]) for n_ in INPUT_NAMES},
                   labels=(labels if labels is not None else np.zeros((n, k))).astype(np.float32))
    return Calibration(req, labels is not None)


def feature_spec(calib: Requests) -> FeatureSpec:
    """What the manifest can say about the inputs, observed from the calibration data (the model's own
    vocabulary sizes are not recoverable from a Keras file in general)."""
    ctx_max = calib.context.max(axis=0)
    buckets = int(max(calib.history.max(), calib.candidates.max())) + 1
    return FeatureSpec(tuple(ContextField(f"context_{i}", int(m) + 1) for i, m in enumerate(ctx_max)),
                       calib.history.shape[1], max(buckets, 2),
                       tuple(f"feature_{i}" for i in range(calib.candidate_features.shape[2])))


def with_batch_one(model, calib: Requests):
    """The user's model with batch 1 and K fixed, the shape every exporter converts (same weights)."""
    import tf_keras as keras

    shapes = {n: v.shape[1:] for n, v in calib.inputs().items()}
    inputs = {n: keras.Input(shapes[n], batch_size=1, dtype=DTYPES[n], name=n) for n in INPUT_NAMES}
    try:
        fixed = keras.models.clone_model(model, input_tensors=[inputs[t.name.split(":")[0]] for t in model.inputs])
    except Exception as e:
        raise ConfigError("the model cannot be rebuilt with batch 1 (only functional and Sequential models can): "
                          f"{one_line(e, 160)}") from None
    fixed.set_weights(model.get_weights())
    return fixed
