"""An independent NumPy executor for Core ML NeuralNetwork specs (.mlmodel), for Linux where Core ML cannot run.

It reads the saved file's protobuf and nothing else: layer by layer, in the file's order, with the weights as
stored (8-bit linear-quantized weights are expanded with the file's own scales and biases). It implements the
layer types that the exported ranker uses, each following the semantics documented in Core ML's
NeuralNetwork.proto; any other layer type is refused by name, so a model it cannot execute is never passed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...core.errors import InputError


def _weights(params, shape: tuple[int, ...]) -> np.ndarray:
    """Float values of a WeightParams message, expanding 8-bit linear quantization per output channel."""
    if len(params.floatValue):
        values = np.asarray(params.floatValue, dtype=np.float32)
    elif len(params.float16Value):
        values = np.frombuffer(params.float16Value, dtype=np.float16).astype(np.float32)
    elif len(params.rawValue) or len(params.int8RawValue):
        q = params.quantization
        if q.numberOfBits != 8 or q.WhichOneof("QuantizationType") != "linearQuantization":
            raise InputError(f"Core ML weights with {q.numberOfBits}-bit "
                                f"{q.WhichOneof('QuantizationType')} are not supported by the NumPy executor")
        if len(params.int8RawValue):
            raw = np.frombuffer(params.int8RawValue, dtype=np.int8).astype(np.float32)
        else:
            raw = np.frombuffer(params.rawValue, dtype=np.uint8).astype(np.float32)
        scale = np.asarray(q.linearQuantization.scale, dtype=np.float32)
        bias = np.asarray(q.linearQuantization.bias, dtype=np.float32) if len(q.linearQuantization.bias) else 0.0
        channels = shape[0]
        raw = raw.reshape(channels, -1)
        scale = scale.reshape(-1, 1) if scale.size > 1 else scale
        bias = bias.reshape(-1, 1) if np.size(bias) > 1 else bias
        values = (raw * scale + bias).ravel()
    else:
        values = np.zeros(int(np.prod(shape)), dtype=np.float32)
    return values.reshape(shape)


_LEGACY_AXIS = {0: -3, 1: -2, 2: -1}  # CHANNEL, HEIGHT, WIDTH counted from the end in rank-N tensors


def _activation(p, x):
    kind = p.WhichOneof("NonlinearityType")
    if kind == "linear":
        return p.linear.alpha * x + p.linear.beta
    if kind == "ReLU":
        return np.maximum(x, 0)
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "tanh":
        return np.tanh(x)
    raise InputError(f"Core ML activation {kind!r} is not supported by the NumPy executor")


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _slice(p, x):
    axis = _LEGACY_AXIS[p.axis] % x.ndim
    end = p.endIndex if p.endIndex > 0 else x.shape[axis] + p.endIndex + 1  # negative end counts from the end
    index = [slice(None)] * x.ndim
    index[axis] = slice(p.startIndex, end, p.stride or 1)
    return x[tuple(index)]


def _batched_matmul(p):
    if not p.weightMatrixFirstDimension:  # two inputs: a @ b
        def matmul(xs):
            a, b = xs
            a = np.swapaxes(a, -1, -2) if p.transposeA else a
            b = np.swapaxes(b, -1, -2) if p.transposeB else b
            return a @ b

        return matmul
    w = _weights(p.weights, (p.weightMatrixSecondDimension, p.weightMatrixFirstDimension)).T  # stored [out, in]
    bias = _weights(p.bias, (p.weightMatrixSecondDimension,)) if p.hasBias else 0.0
    return lambda xs: (np.swapaxes(xs[0], -1, -2) if p.transposeA else xs[0]) @ w + bias


def _inner_product(p):
    w = _weights(p.weights, (p.outputChannels, p.inputChannels)).T  # stored [out, in]
    bias = _weights(p.bias, (p.outputChannels,)) if p.hasBias else 0.0
    return lambda xs: xs[0] @ w + bias


def _convolution_1x1(p):
    """Only the pointwise case (1x1 kernel, stride 1, one group), which the updatable file's head is: per
    position y[o] = sum_c w[o, c] x[c] + b[o] over the (..., C, H, W) axes."""
    if (list(p.kernelSize) != [1, 1] or list(p.stride or [1, 1]) != [1, 1] or p.nGroups > 1 or p.isDeconvolution
            or list(p.dilationFactor or [1, 1]) != [1, 1]):
        raise InputError("Core ML convolutions other than 1x1, stride 1, one group are not supported by the NumPy "
                         "executor")
    w = _weights(p.weights, (p.outputChannels, p.kernelChannels))
    bias = _weights(p.bias, (p.outputChannels,)) if p.hasBias else np.zeros(p.outputChannels, np.float32)
    return lambda xs: np.einsum("oc,...chw->...ohw", w, xs[0]) + bias[:, None, None]


def _flatten(p):
    """(..., C, H, W) -> (..., C*H*W, 1, 1), in channel-first or channel-last order."""
    def flatten(xs):
        x = xs[0]
        if p.mode == 1:  # CHANNEL_LAST
            x = np.moveaxis(x, -3, -1)
        return x.reshape(x.shape[:-3] + (-1, 1, 1))

    return flatten


def _embedding_nd(p):
    table = _weights(p.weights, (p.embeddingSize, p.vocabSize)).T  # stored [embedding, vocab]
    bias = _weights(p.bias, (p.embeddingSize,)) if p.hasBias else 0.0

    def lookup(xs):
        ids = xs[0][..., 0].astype(np.int64)  # the input's trailing axis of size 1 is replaced by the embedding
        if ids.min() < 0 or ids.max() >= p.vocabSize:
            raise InputError(f"Core ML embeddingND index out of range [0, {p.vocabSize})")
        return table[ids] + bias

    return lookup


def _split_nd(p):
    """Several outputs: equal parts (numSplits) or the given sizes along the axis."""
    def split(xs):
        x = xs[0]
        if len(p.splitSizes):
            return np.split(x, np.cumsum(list(p.splitSizes))[:-1], axis=p.axis)
        return np.split(x, p.numSplits, axis=p.axis)

    return split


def _constant(p):
    value = _weights(p.data, tuple(p.shape))
    return lambda xs: value


def _fold(fn):
    def apply(xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out

    return apply


def _fold_or_scalar(fn):
    """Legacy add/multiply: several inputs are combined; a single input is combined with the scalar alpha."""
    return lambda p: (lambda xs: _fold(fn)(xs) if len(xs) > 1 else fn(xs[0], p.alpha))


# layer type -> make(params) -> f(list of inputs) -> output; weights are expanded once, in make()
_LAYERS: dict[str, Callable] = {
    "concatND": lambda p: lambda xs: np.concatenate(xs, axis=p.axis),
    "loadConstantND": _constant,
    "expandDims": lambda p: lambda xs: np.expand_dims(xs[0], tuple(p.axes)),
    "squeeze": lambda p: lambda xs: np.squeeze(xs[0], axis=None if p.squeezeAll else tuple(p.axes)),
    "embeddingND": _embedding_nd,
    "slice": lambda p: lambda xs: _slice(p, xs[0]),
    "reshapeStatic": lambda p: lambda xs: xs[0].reshape(tuple(p.targetShape)),
    "activation": lambda p: lambda xs: _activation(p, xs[0]),
    "softmaxND": lambda p: lambda xs: _softmax(xs[0], p.axis),
    "softmax": lambda p: lambda xs: _softmax(xs[0], -3),  # the channel axis of (..., C, H, W)
    "transpose": lambda p: lambda xs: np.transpose(xs[0], tuple(p.axes)),
    "convolution": _convolution_1x1,
    "flatten": _flatten,
    "splitND": _split_nd,
    "batchedMatmul": _batched_matmul,
    "innerProduct": _inner_product,
    "add": _fold_or_scalar(np.add),
    "multiply": _fold_or_scalar(np.multiply),
    "addBroadcastable": lambda p: _fold(np.add),
    "multiplyBroadcastable": lambda p: _fold(np.multiply),
    "subtractBroadcastable": lambda p: _fold(np.subtract),
    "minBroadcastable": lambda p: _fold(np.minimum),
    "maxBroadcastable": lambda p: _fold(np.maximum),
}


class Executor:
    """Built once from a spec; call it with a dict of named input arrays."""

    def __init__(self, spec):
        if spec.WhichOneof("Type") != "neuralNetwork":
            raise InputError(f"Core ML model type {spec.WhichOneof('Type')!r} is not a NeuralNetwork")
        self.inputs = [i.name for i in spec.description.input]
        self.outputs = [o.name for o in spec.description.output]
        self.layers = []
        for layer in spec.neuralNetwork.layers:
            kind = layer.WhichOneof("layer")
            if kind not in _LAYERS:
                raise InputError(f"Core ML layer type {kind!r} (layer {layer.name!r}) is not supported by the "
                                    "NumPy executor")
            self.layers.append((_LAYERS[kind](getattr(layer, kind)), list(layer.input), list(layer.output)))

    def blobs(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every named value of the network: inputs, intermediate results and outputs."""
        blobs = {name: np.asarray(feeds[name], dtype=np.float32) for name in self.inputs}
        for fn, inputs, outputs in self.layers:
            result = fn([blobs[i] for i in inputs])
            for name, value in zip(outputs, result if len(outputs) > 1 else [result]):
                blobs[name] = np.asarray(value, dtype=np.float32)
        return blobs

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        blobs = self.blobs(feeds)
        return {name: blobs[name] for name in self.outputs}


