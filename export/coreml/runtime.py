"""Running a .mlmodel: Core ML itself on macOS; elsewhere the independent NumPy executor in numpy_executor.py,
which reads only the saved file, never the Keras model."""

from __future__ import annotations

import platform
from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model
from ...models.features import SCORES
from .. import shims

RUNTIME = "coreml" if platform.system() == "Darwin" else "coreml-numpy"


def version() -> str:
    executor = "Core ML" if platform.system() == "Darwin" else "edgeship NumPy executor of the saved spec"
    return f"{executor}; coremltools {_dist_version('coremltools')}"


def load_library():
    return shims.import_coremltools() if platform.system() == "Darwin" else None


def read_spec(path: Path, error: type[EdgeshipError] = InputError):
    """The file's protobuf `Model`, parsed without importing TensorFlow."""
    spec = shims.coreml_model_proto()()
    with reading_model(path, "coreml", error):
        spec.ParseFromString(Path(path).read_bytes())
        if spec.WhichOneof("Type") is None:
            raise ValueError("no model in the file")
    return spec


class Session:
    """A loaded file: `run(feeds)` -> outputs by name; `invoke` gives them in the file's order."""

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        spec = read_spec(path, error)
        self.output_names = [o.name for o in spec.description.output]
        if platform.system() == "Darwin":
            ct = shims.import_coremltools()
            with reading_model(path, "coreml", error, "Core ML cannot load it"):
                model = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)
            self._predict = lambda feeds: {k: np.asarray(v) for k, v in model.predict(feeds).items()}
        else:
            from .numpy_executor import Executor

            with reading_model(path, "coreml", error, "the NumPy executor cannot run it"):
                self._predict = Executor(spec)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._predict(feeds)

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        out = self.run(feeds)
        return [out[n] for n in self.output_names]


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    return Session(path, threads, error)


class Trainer:
    """An updatable file driven as the app drives it, with the update Core ML's MLUpdateTask makes: per tapped
    candidate one SGD step (mini-batch 1, no momentum) on the updatable 1x1 convolution, for the cross-entropy of
    the softmax the loss names. Core ML's update runs only inside an app (Swift / Objective-C), from Python on no
    platform, so this computes that step in NumPy from the saved spec; the rest of the network runs in the NumPy
    executor. What enters the head is cached per request (the frozen layers before it never change), which
    makes the personalization study several times faster. Core ML's loss has no padding mask: padded slots are
    candidates the softmax pushes down, which cannot change the order of the real ones, so the mask is accepted
    for the common call shape and unused."""

    CACHE = 10_000  # requests whose frozen part is kept (~8 KB each at K = 100)
    runs_in = "Core ML's update step computed in NumPy from the file's spec (Core ML updates only inside an app)"
    l2 = 0.0  # Core ML's SGD has no weight decay
    # a softmax cross-entropy step on the one tapped candidate is ~100x the logistic step averaged over the list
    # (measured best rates: 0.1 here, 10 for the .tflite head), so the study's rates are scaled for this file
    learning_rate_scale = 0.01

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        from . import updatable
        from .numpy_executor import Executor

        spec = read_spec(path, error)
        problems = updatable.problems(spec)
        if problems:
            raise error(f"{path}: not an updatable Core ML model ({problems[0]})")
        loss = spec.neuralNetwork.updateParams.lossLayers[0]
        layers = list(spec.neuralNetwork.layers)
        producer = {out: i for i, layer in enumerate(layers) for out in layer.output}
        chain, name = [], (loss.categoricalCrossEntropyLossLayer.input
                           if loss.WhichOneof("LossLayerType") == "categoricalCrossEntropyLossLayer" else None)
        while name in producer and len(chain) < 3:  # softmax <- flatten <- the head
            chain.append(layers[producer[name]])
            name = chain[-1].input[0]
        kinds = [layer.WhichOneof("layer") for layer in chain]
        if kinds != ["softmax", "flatten", "convolution"] or not chain[2].isUpdatable:
            raise error(f"{path}: edgeship trains an updatable 1x1 convolution under flatten, softmax and a "
                        "cross-entropy loss; this model is built otherwise")
        head = chain[2]
        index = producer[head.output[0]]
        with reading_model(path, "coreml", error, "the NumPy executor cannot run it"):
            self._executor = Executor(spec)
        conv = head.convolution
        self._shipped = {"w": np.asarray(conv.weights.floatValue, np.float32).reshape(conv.outputChannels, -1),
                         "b": np.asarray(conv.bias.floatValue, np.float32).reshape(conv.outputChannels)}
        self._head_input, self._head_output = head.input[0], head.output[0]
        self._after = self._executor.layers[index + 1:]
        self._executor.layers = self._executor.layers[:index]  # the frozen part, up to the head's input
        # only what the head and the layers after it read is kept: caching every blob of the frozen part held
        # ~0.2 MB per request, and the study's 10,000 requests took make run's peak RSS from 3.2 to 5.3 GB
        made = {self._head_output} | {o for _, _, outs in self._after for o in outs}
        self._kept = {self._head_input} | ({i for _, ins, _ in self._after for i in ins} - made)
        self._cache: dict[bytes, dict[str, np.ndarray]] = {}
        self.reset()

    def _frozen(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        key = b"".join(np.ascontiguousarray(feeds[name], np.float32).tobytes() for name in self._executor.inputs)
        if key not in self._cache:
            if len(self._cache) >= self.CACHE:
                self._cache.pop(next(iter(self._cache)))
            blobs = self._executor.blobs(feeds)
            self._cache[key] = {name: blobs[name] for name in self._kept}
        return self._cache[key]

    def _by_candidate(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The head's input [1, D, 1, K] as one row per candidate [K, D]."""
        x = self._frozen(feeds)[self._head_input]
        return x.reshape(x.shape[-3], -1).T

    def scores(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The file's scores: the frozen part, the head with the current weights, then the file's own layers
        after the head in the NumPy executor."""
        blobs = dict(self._frozen(feeds))
        logits = self._by_candidate(feeds) @ self._w["w"].T + self._w["b"]  # [K, 1]
        blobs[self._head_output] = logits.T.reshape(1, 1, 1, -1).astype(np.float32)
        for fn, ins, outs in self._after:
            blobs[outs[0]] = np.asarray(fn([blobs[i] for i in ins]), np.float32)
        return blobs[SCORES]

    def train(self, feeds: dict[str, np.ndarray], labels: np.ndarray, mask: np.ndarray, learning_rate: float
              ) -> float:
        """One update per tapped candidate, in index order; the mean of their losses (NaN: no tap, no update)."""
        x = self._by_candidate(feeds).astype(np.float64)
        losses = []
        for tapped in np.flatnonzero(np.asarray(labels).reshape(-1) > 0):
            z = (x @ self._w["w"].T + self._w["b"]).reshape(-1)
            p = np.exp(z - z.max())
            p /= p.sum()
            losses.append(-np.log(max(p[tapped], 1e-30)))
            dz = p.copy()
            dz[tapped] -= 1.0  # d loss / d logit
            step = {"w": dz[None, :] @ x, "b": np.array([dz.sum()])}
            self._w = {k: (v - learning_rate * step[k]).astype(np.float32) for k, v in self._w.items()}
        return float(np.mean(losses)) if losses else float("nan")

    def reset(self) -> None:
        self._w = {k: v.copy() for k, v in self._shipped.items()}

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._w.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self._w = {k: np.asarray(weights[k], np.float32).reshape(v.shape) for k, v in self._shipped.items()}
