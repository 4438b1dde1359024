"""An updatable Core ML model that keeps learning its one user on the phone: the shipped fp32 ranker frozen, plus
one 1x1 convolution that Core ML's own update task (MLUpdateTask) trains on the device.

    scores = [ranker(x), phi(x), e[id]] . w + b     per candidate; phi = candidate_features, e = the item
             vectors of the candidate's id (models.item_vectors, when the job has them); w starts at [1, 0, ..., 0]
    tap_probability = softmax(scores) over the K candidates; Core ML minimises -log p[tapped] (cross-entropy)

Why this shape and not the .tflite file's (ranker + phi . w + b under logistic loss): Core ML updates only
inner-product and convolution layers, with cross-entropy on the output of a plain (channel-axis) `softmax` or
with MSE; and its validator walks back from the loss and refuses an updatable layer behind any layer that has no
gradient in Core ML (add, concat, reshape, transpose: only inner product, convolution, flatten, pooling,
batchnorm and ReLU / sigmoid / tanh have one). So:
- the ranker's score cannot be added after the head: it enters the head as one more feature, weight 1 at first;
- the candidates lie along the convolution's width, so one weight vector is shared by all K of them, and
  `flatten` (which has a gradient) turns the width into the channel axis that `softmax` normalises over.
The loss is listwise (softmax over the list, one tapped candidate per update); the .tflite head's is pointwise.
A squared error on sigmoid probabilities (the other loss Core ML has) was measured first and learned a third as
much: its gradient vanishes for a tapped candidate the model gave a low probability (docs/personalization.md).

The frozen ranker keeps float32 weights: coremltools refuses fp16 weights in an updatable model, and nothing
here can show that Core ML updates a model whose frozen layers hold 8-bit weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError
from ...models.features import CANDIDATE_FEATURES, CANDIDATES, SCORES
from ..types import Artifact, Derived, ExportJob
from . import MINIMUM_DEPLOYMENT, UPDATE
from .record import CoreMLDetails
from .runtime import read_spec

NAME = "ranker_personal.mlmodel"
HEAD = "personal_head"  # the updatable layer (a 1x1 convolution over the candidates)
RANKER_SCORES = "ranker_scores"  # the frozen ranker's own scores, renamed inside the updatable file
_UPDATABLE_SPEC_VERSION = 4  # Core ML 3 (iOS 13): updatable NeuralNetworks
_FLOAT32 = 65568  # ArrayFeatureType.ArrayDataType


def _rename_output(nn, old: str, new: str) -> None:
    for layer in nn.layers:
        for names in (layer.input, layer.output):
            for i, name in enumerate(names):
                if name == old:
                    names[i] = new


def _array(feature, name: str, shape: list[int], dtype: int) -> None:
    feature.name = name
    feature.type.multiArrayType.shape[:] = shape
    feature.type.multiArrayType.dataType = dtype


def build(spec, k: int, features: int, learning_rate: float, vectors: np.ndarray | None = None):
    """The updatable spec made from a ranker's NeuralNetwork spec (changed in place and returned); vectors
    [items, dim]: item vectors looked up for each candidate id and weighed by the head too (None: none)."""
    nn = spec.neuralNetwork
    _rename_output(nn, SCORES, RANKER_SCORES)

    def layer(name: str, inputs: list[str]):
        """A new last layer whose output is named after it."""
        new = nn.layers.add()
        new.name = name
        new.input.extend(inputs)
        new.output.append(name)
        return new

    # [1, K] scores and [1, K, F] features -> [1, 1 + F, 1, K]: channels = what the head weighs, width = candidates
    layer("personal/ranker_scores", [RANKER_SCORES]).expandDims.axes.extend([1, 2])
    layer("personal/features_by_candidate", [CANDIDATE_FEATURES]).transpose.axes.extend([0, 2, 1])
    layer("personal/features", ["personal/features_by_candidate"]).expandDims.axes.append(2)
    parts = ["personal/ranker_scores", "personal/features"]
    if vectors is not None:  # [1, K] ids -> [1, K, 1] -> [1, K, dim] -> [1, dim, 1, K]: the user vector's inputs
        layer("personal/ids", [CANDIDATES]).expandDims.axes.append(-1)
        lookup = layer("personal/item_vectors_by_candidate", ["personal/ids"]).embeddingND
        lookup.vocabSize, lookup.embeddingSize, lookup.hasBias = vectors.shape[0], vectors.shape[1], False
        lookup.weights.floatValue.extend(np.asarray(vectors, np.float32).T.ravel().tolist())  # stored [dim, vocab]
        layer("personal/item_vectors_by_channel", ["personal/item_vectors_by_candidate"]).transpose.axes.extend(
            [0, 2, 1])
        layer("personal/item_vectors", ["personal/item_vectors_by_channel"]).expandDims.axes.append(2)
        parts.append("personal/item_vectors")
    channels = features + 1 + (0 if vectors is None else vectors.shape[1])
    layer("personal/head_input", parts).concatND.axis = 1
    head = layer(HEAD, ["personal/head_input"])  # [1, 1, 1, K]
    head.isUpdatable = True
    conv = head.convolution
    conv.outputChannels, conv.kernelChannels, conv.nGroups, conv.hasBias = 1, channels, 1, True
    conv.kernelSize.extend([1, 1])
    conv.stride.extend([1, 1])
    conv.dilationFactor.extend([1, 1])
    conv.valid.SetInParent()
    conv.weights.floatValue.extend(np.eye(1, channels, dtype=np.float32).ravel().tolist())  # [1, 0, ..., 0]
    conv.bias.floatValue.append(0.0)
    conv.weights.isUpdatable = conv.bias.isUpdatable = True
    scores = layer("personal/scores", [HEAD])
    scores.output[0] = SCORES
    scores.reshapeStatic.targetShape.extend([1, k])
    layer("personal/by_channel", [HEAD]).flatten.mode = 0  # CHANNEL_FIRST: [1, K, 1, 1]
    layer(UPDATE.output, ["personal/by_channel"]).softmax.SetInParent()

    _array(spec.description.output.add(), UPDATE.output, [1, k, 1, 1], _FLOAT32)
    spec.description.output[-1].shortDescription = (
        "softmax of scores over the candidates: what the update task fits; rank by `scores`")
    for feature in spec.description.input:
        spec.description.trainingInput.add().CopyFrom(feature)
    target = spec.description.trainingInput.add()
    target.name = UPDATE.target
    target.type.int64Type.SetInParent()
    target.shortDescription = "the index (0 .. K-1) of the candidate the user tapped: one update per tap"

    params = nn.updateParams
    loss = params.lossLayers.add()
    loss.name = "tap_loss"
    loss.categoricalCrossEntropyLossLayer.input = UPDATE.output
    loss.categoricalCrossEntropyLossLayer.target = UPDATE.target
    sgd = params.optimizer.sgdOptimizer
    sgd.learningRate.defaultValue = learning_rate
    sgd.learningRate.range.minValue, sgd.learningRate.range.maxValue = 0.0, UPDATE.max_learning_rate
    sgd.miniBatchSize.defaultValue = 1
    sgd.miniBatchSize.set.values.append(1)
    sgd.momentum.defaultValue = 0.0
    sgd.momentum.range.minValue, sgd.momentum.range.maxValue = 0.0, 1.0
    params.epochs.defaultValue = 1
    params.epochs.set.values.append(1)
    params.shuffle.defaultValue = False
    spec.isUpdatable = True
    spec.specificationVersion = max(spec.specificationVersion, _UPDATABLE_SPEC_VERSION)
    return spec


def export(job: ExportJob, out_dir: Path, derived: Derived) -> Artifact:
    from .convert import save

    source = derived.shipped("coreml", "fp32")
    if source is None:
        raise EdgeshipError("the updatable .mlmodel is made from the shipped ranker_fp32.mlmodel, which is missing")
    vectors = job.personal_vectors
    user = 0 if vectors is None else vectors.shape[1]
    spec = build(read_spec(source, EdgeshipError), job.candidates, len(job.spec.item_features),
                 UPDATE.learning_rate, vectors)
    parameters = len(job.spec.item_features) + 2 + user
    spec.description.metadata.shortDescription += (
        f"; updatable on the device: Core ML's update task trains the layer {HEAD}")
    path = out_dir / NAME
    save(spec, path)
    return Artifact(path=path, format="coreml", precision="fp32", trainable=True,
                    notes=f"updatable NeuralNetwork: the fp32 ranker frozen plus a head of {parameters} parameters"
                          f"{' (over the candidate features and the item vectors)' if user else ''}, "
                          "trained by Core ML (SGD, cross-entropy of the tapped candidate)",
                    details=CoreMLDetails(int(spec.specificationVersion), MINIMUM_DEPLOYMENT, "cpuOnly",
                                          updatable=True, user_vector=user))
