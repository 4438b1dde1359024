"""Apple's rules for an updatable NeuralNetwork, checked on the saved spec.

Core ML applies them when an app compiles the model (coremltools' mlmodel/src/Validation/NeuralNetwork/
UpdatableNeuralNetworkValidator.cpp, and coremltools' builder for fp16 weights); a model that breaks one does not
load on the phone. Core ML cannot load a model on Linux, so edgeship checks the same rules itself, in the same
order, with the same notion of which layers have a gradient.
"""

from __future__ import annotations

UPDATABLE_LAYERS = ("innerProduct", "convolution")
# the layers Core ML can back-propagate through (isLayerSupportedForBackprop in the validator)
_BACKPROP = {"convolution", "innerProduct", "flatten", "pooling", "batchnorm"}
_BACKPROP_ACTIVATIONS = {"ReLU", "sigmoid", "tanh"}
_MIN_SPEC_VERSION = 4


def _backprop(layer) -> bool:
    kind = layer.WhichOneof("layer")
    if kind == "activation":
        return layer.activation.WhichOneof("NonlinearityType") in _BACKPROP_ACTIVATIONS
    return kind in _BACKPROP


def _weights(layer):
    params = getattr(layer, layer.WhichOneof("layer"))
    return params.weights, (params.bias if params.hasBias else None)


def _layer_problems(nn) -> list[str]:
    updatable = [layer for layer in nn.layers if layer.isUpdatable]
    if not updatable:
        return ["the model is marked updatable, but none of its layers is"]
    for layer in updatable:
        kind = layer.WhichOneof("layer")
        if kind not in UPDATABLE_LAYERS:
            return [f"layer {layer.name!r} is marked updatable but is a {kind} (only inner product and convolution "
                    "can be)"]
        weights, bias = _weights(layer)
        if not weights.isUpdatable or (bias is not None and not bias.isUpdatable):
            return [f"updatable layer {layer.name!r} has a weight or bias not marked updatable"]
    for layer in nn.layers:
        for name, params in getattr(layer, layer.WhichOneof("layer")).ListFields():
            if type(params).__name__ == "WeightParams" and len(params.float16Value):
                return [f"layer {layer.name!r} holds fp16 {name}: Core ML does not update fp16 networks"]
    names = [layer.name for layer in nn.layers] + [loss.name for loss in nn.updateParams.lossLayers]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    return [f"layer name {duplicated[0]!r} is used more than once"] if duplicated else []


def _graph_problems(nn) -> list[str]:
    """The loss layer's input and target, and the validator's walk back from the loss: an updatable layer met
    after any layer without a gradient (in breadth-first order) is refused, as Core ML refuses it."""
    losses = list(nn.updateParams.lossLayers)
    if len(losses) != 1:
        return [f"{len(losses)} loss layers (Core ML takes exactly one)"]
    loss = losses[0]
    kind = loss.WhichOneof("LossLayerType")
    if kind not in ("categoricalCrossEntropyLossLayer", "meanSquaredErrorLossLayer"):
        return [f"loss {kind!r} is not supported (cross-entropy or mean squared error)"]
    params = getattr(loss, kind)
    producer = {out: layer for layer in nn.layers for out in layer.output}
    if params.target in producer:
        return [f"the loss target {params.target!r} is computed inside the model (it must be a training input)"]
    if params.input not in producer:
        return [f"the loss input {params.input!r} is not computed inside the model"]
    if kind == "categoricalCrossEntropyLossLayer" and producer[params.input].WhichOneof("layer") != "softmax":
        return [f"the cross-entropy loss input {params.input!r} is not the output of a softmax layer"]
    seen, queue, blocked = set(), [producer[params.input]], None
    first = True
    while queue:
        layer = queue.pop(0)
        if layer.name in seen:
            continue
        seen.add(layer.name)
        if layer.isUpdatable and blocked is not None:
            return [f"layer {blocked!r} has no gradient in Core ML and stands between the updatable layer "
                    f"{layer.name!r} and the loss"]
        softmax_before_ce = first and kind == "categoricalCrossEntropyLossLayer"
        if not _backprop(layer) and not softmax_before_ce and blocked is None:
            blocked = layer.name
        first = False
        queue.extend(producer[name] for name in layer.input if name in producer)
    return []


def _update_problems(spec) -> list[str]:
    params = spec.neuralNetwork.updateParams
    kind = params.optimizer.WhichOneof("OptimizerType")
    if kind not in ("sgdOptimizer", "adamOptimizer"):
        return ["no SGD or Adam optimizer"]
    optimizer = getattr(params.optimizer, kind)
    needed = ["learningRate", "miniBatchSize"] + (["beta1", "beta2", "eps"] if kind == "adamOptimizer" else [])
    missing = [name for name in needed if not optimizer.HasField(name)]
    if missing:
        return [f"the {kind} lacks {missing[0]}"]
    if not params.HasField("epochs"):
        return ["the update parameters lack epochs"]
    loss = params.lossLayers[0]
    target = getattr(loss, loss.WhichOneof("LossLayerType")).target
    training = {f.name for f in spec.description.trainingInput}
    if target not in training:
        return [f"the training inputs lack the loss target {target!r}"]
    if not training & {f.name for f in spec.description.input}:
        return ["the training inputs share no input with prediction"]
    return []


def problems(spec) -> list[str]:
    """What Core ML would refuse in this updatable spec (empty: nothing); the first problem of each kind."""
    if not spec.isUpdatable:
        return ["the model is not marked updatable (isUpdatable)"]
    if spec.WhichOneof("Type") != "neuralNetwork":
        return [f"an updatable {spec.WhichOneof('Type')} is not a NeuralNetwork"]
    if spec.specificationVersion < _MIN_SPEC_VERSION:
        return [f"specification version {spec.specificationVersion} < {_MIN_SPEC_VERSION} (updatable models)"]
    nn = spec.neuralNetwork
    return _layer_problems(nn) or _graph_problems(nn) or _update_problems(spec)
