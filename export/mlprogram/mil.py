"""An independent NumPy executor of Core ML ML Programs (.mlpackage), for Linux where Core ML cannot run.

It reads the saved package and nothing else: the program's protobuf (MIL.proto), its constants as stored (inline,
or in weights/weight.bin, MIL blob storage version 2), and runs the main function's operations in the file's order,
each following the semantics of coremltools' MIL op reference (coremltools.converters.mil.mil.ops.defs, iOS 15-18
opsets). 8-bit weights are expanded by the file's own scales and zero points; quantize / dequantize round and clip
as the reference says, so a W8A8 program's int8 activations are what Core ML computes in fp32 arithmetic (Core ML
may accumulate differently: the bundle's tolerance for int8 files allows for it). An op type it does not know is
refused by name, so a program it cannot execute is never passed.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path
from typing import Callable

import numpy as np

from ...core.errors import EdgeshipError, InputError
from .. import shims
from .package import read_spec, weights_dir

_BLOB_SENTINEL = 0xDEADBEEF
# MIL blob storage's BlobDataType (only the whole-byte types: sub-byte palettes are refused)
_BLOB_DTYPES = {1: np.float16, 2: np.float32, 3: np.uint8, 4: np.int8, 6: np.int16, 7: np.uint16, 14: np.int32,
                15: np.uint32}
# MIL.proto DataType names -> NumPy
_DTYPES = {"BOOL": np.bool_, "FLOAT16": np.float16, "FLOAT32": np.float32, "FLOAT64": np.float64, "INT8": np.int8,
           "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16,
           "UINT32": np.uint32, "UINT64": np.uint64}


class Blobs:
    """weights/weight.bin: a 64-byte header (count, version 2), then per constant a 64-byte record (sentinel,
    data type, size in bytes, offset of the data) that the program's blobFileValue.offset points at."""

    def __init__(self, folder: Path):
        self.path = folder / "weight.bin"
        self.data = self.path.read_bytes() if self.path.is_file() else b""
        if self.data:
            _, version = struct.unpack_from("<II", self.data, 0)  # (blob count, storage version)
            if version != 2:
                raise InputError(f"{self.path}: MIL blob storage version {version}, expected 2")

    def read(self, offset: int, dtype, shape: tuple[int, ...]) -> np.ndarray:
        if not self.data:
            raise InputError(f"{self.path}: missing, but the program reads a constant from it")
        sentinel, kind, size, start = struct.unpack_from("<IIQQ", self.data, offset)
        if sentinel != _BLOB_SENTINEL:
            raise InputError(f"{self.path}: no blob record at offset {offset}")
        if kind not in _BLOB_DTYPES:
            raise InputError(f"{self.path}: blob data type {kind} at offset {offset} is not supported by the NumPy "
                             "executor")
        values = np.frombuffer(self.data, dtype=_BLOB_DTYPES[kind], count=size // np.dtype(_BLOB_DTYPES[kind]).itemsize,
                               offset=start)
        if np.dtype(_BLOB_DTYPES[kind]) != np.dtype(dtype):
            raise InputError(f"{self.path}: blob at offset {offset} holds {np.dtype(_BLOB_DTYPES[kind])}, the program "
                             f"declares {np.dtype(dtype)}")
        return values.reshape(shape)


def _tensor_type(value_type):
    """(NumPy dtype, shape) of a tensor ValueType."""
    t = value_type.tensorType
    name = _mil_pb2().DataType.Name(t.dataType)
    shape = tuple(int(d.constant.size) for d in t.dimensions)
    return _DTYPES.get(name, name), shape


@functools.lru_cache(maxsize=1)
def _mil_pb2():
    return shims.coreml_proto("MIL_pb2")


def _value(value, blobs: Blobs):
    """A MIL Value: an inline tensor (scalar or shaped), a list, or a constant in the blob file."""
    kind = value.WhichOneof("value")
    if value.type.WhichOneof("type") == "listType" or (kind == "immediateValue"
                                                       and value.immediateValue.WhichOneof("value") == "list"):
        return [_value(v, blobs) for v in value.immediateValue.list.values]
    dtype, shape = _tensor_type(value.type)
    if isinstance(dtype, str):
        if dtype == "STRING":
            return list(value.immediateValue.tensor.strings.values)
        raise InputError(f"MIL data type {dtype} is not supported by the NumPy executor")
    if kind == "blobFileValue":
        return blobs.read(value.blobFileValue.offset, dtype, shape)
    tensor = value.immediateValue.tensor
    field = tensor.WhichOneof("value")
    if field == "bytes":
        data = np.frombuffer(tensor.bytes.values, dtype=dtype).copy()
    elif field is None:
        data = np.zeros(0, dtype)
    else:
        data = np.asarray(list(getattr(tensor, field).values), dtype=dtype)
    return data.reshape(shape) if shape else data.reshape(()) if data.size == 1 else data


# --- the ops, each f(inputs by name) -> one output, or a tuple for several -------------------------------------

def _broadcast(fn):
    return lambda a: fn(a["x"], a["y"])


def _slice_by_index(a):
    x = a["x"]
    n = x.ndim
    begin, end = list(a["begin"]), list(a["end"])
    stride = list(a.get("stride", [1] * n))
    begin_mask = list(a.get("begin_mask", [False] * n))
    end_mask = list(a.get("end_mask", [False] * n))
    squeeze = list(a.get("squeeze_mask", [False] * n))
    index = []
    for i in range(n):
        if squeeze[i]:
            index.append(int(begin[i]))
            continue
        index.append(slice(None if begin_mask[i] else int(begin[i]), None if end_mask[i] else int(end[i]),
                           int(stride[i])))
    return x[tuple(index)]


def _slice_by_size(a):
    x, begin, size = a["x"], [int(b) for b in a["begin"]], [int(s) for s in a["size"]]
    return x[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]


def _gather(a):
    x, indices, axis = a["x"], a["indices"].astype(np.int64), int(a.get("axis", 0))
    if int(a.get("batch_dims", 0)) != 0:
        raise InputError("MIL gather with batch_dims > 0 is not supported by the NumPy executor")
    size = x.shape[axis]
    # MIL allows indices in [-size, size): negative ones count from the end
    if indices.size and (indices.min() < -size or indices.max() >= size):
        raise InputError(f"MIL gather index out of range [-{size}, {size})")
    return np.take(x, np.where(indices < 0, indices + size, indices), axis=axis)


def _matmul(a):
    x, y = a["x"], a["y"]
    if a.get("transpose_x", False):
        x = np.swapaxes(x, -1, -2)
    if a.get("transpose_y", False):
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y)


def _linear(a):
    """weight is stored [out, in]"""
    out = np.matmul(a["x"], np.swapaxes(a["weight"], -1, -2))
    return out + a["bias"] if "bias" in a else out


def _softmax(a):
    x, axis = a["x"], int(a.get("axis", -1))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _reshape(a):
    return a["x"].reshape(tuple(int(s) for s in a["shape"]))


def _reduce(fn):
    def reduce(a):
        axes = a.get("axes")
        axes = None if axes is None else tuple(int(i) for i in np.atleast_1d(axes))
        return fn(a["x"], axis=axes, keepdims=bool(a.get("keep_dims", False)))

    return reduce


def _per_axis(values, axis, ndim):
    """A scale or zero point: a scalar, or a vector along `axis` of an ndim-dimensional tensor."""
    values = np.asarray(values)
    if values.ndim == 0 or values.size == 1:
        return values.reshape(())
    shape = [1] * ndim
    shape[int(axis) % ndim] = values.size
    return values.reshape(shape)


def _affine_dequantize(a):
    """constexpr_affine_dequantize (iOS 16): (quantized_data - zero_point) * scale, per `axis`."""
    q = a["quantized_data"]
    zero = _per_axis(a["zero_point"], a["axis"], q.ndim).astype(np.float32)
    return ((q.astype(np.float32) - zero) * _per_axis(a["scale"], a["axis"], q.ndim)).astype(a["scale"].dtype)


def _blockwise_shift_scale(a):
    """constexpr_blockwise_shift_scale (iOS 18): (data - offset) * scale, each scale / offset element covering a
    block of data (data.shape / scale.shape along each axis)."""
    data = a["data"].astype(np.float32)
    scale = np.asarray(a["scale"])
    offset = np.asarray(a["offset"]).astype(np.float32) if "offset" in a else np.zeros_like(scale, np.float32)

    def expand(values):
        for axis in range(data.ndim):
            values = np.repeat(values, data.shape[axis] // values.shape[axis], axis=axis)
        return values

    return ((data - expand(offset)) * expand(scale.astype(np.float32))).astype(scale.dtype)


_INT_RANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _quantize(a):
    """quantize (iOS 17): round-half-to-even(x / scale) + zero_point, clipped to the output type."""
    x = a["input"]
    dtype = np.dtype(_DTYPES[a["output_dtype"][0].upper()] if isinstance(a["output_dtype"], list)
                     else a["output_dtype"])
    axis = a.get("axis", 0)
    scale = _per_axis(a["scale"], axis, x.ndim)
    zero = _per_axis(a.get("zero_point", np.zeros((), dtype)), axis, x.ndim).astype(np.float32)
    low, high = _INT_RANGE[dtype]
    return np.clip(np.rint(x.astype(np.float32) / scale) + zero, low, high).astype(dtype)


def _dequantize(a):
    """dequantize (iOS 17): (input - zero_point) * scale."""
    x = a["input"]
    axis = a.get("axis", 0)
    zero = _per_axis(a.get("zero_point", np.zeros((), x.dtype)), axis, x.ndim).astype(np.float32)
    return ((x.astype(np.float32) - zero) * _per_axis(a["scale"], axis, x.ndim)).astype(np.float32)


_CASTS = {"fp16": np.float16, "fp32": np.float32, "int32": np.int32, "int16": np.int16, "uint16": np.uint16,
          "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}


def _cast(a):
    name = a["dtype"][0] if isinstance(a["dtype"], list) else str(a["dtype"])
    if name not in _CASTS:
        raise InputError(f"MIL cast to {name!r} is not supported by the NumPy executor")
    x, dtype = a["x"], np.dtype(_CASTS[name])
    if np.issubdtype(dtype, np.integer) and np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(dtype)
        if x.size and (x.min() < info.min or x.max() > info.max):  # Core ML's result would wrap: say so instead
            raise InputError(f"MIL cast of values in [{x.min()}, {x.max()}] to {name}")
    return x.astype(dtype)


def _concat(a):
    if a.get("interleave", False):
        raise InputError("MIL concat with interleave is not supported by the NumPy executor")
    return np.concatenate(a["values"], axis=int(a["axis"]))


def _split(a):
    """split: `split_sizes` along `axis`, or `num_splits` equal parts; one output per part."""
    x, axis = a["x"], int(a["axis"])
    if a.get("split_sizes") is not None:
        edges = np.cumsum([int(n) for n in np.atleast_1d(a["split_sizes"])])[:-1]
    else:
        parts = int(a["num_splits"])
        if x.shape[axis] % parts:
            raise InputError(f"MIL split of {x.shape[axis]} into {parts} equal parts")
        edges = [x.shape[axis] // parts * i for i in range(1, parts)]
    return tuple(np.split(x, edges, axis=axis))


def _cumsum(a):
    """cumsum (iOS 15): along `axis`; exclusive starts from 0, reverse sums from the end."""
    x, axis = a["x"], int(a.get("axis", 0))
    if a.get("reverse", False):
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis, dtype=x.dtype)
    if a.get("exclusive", False):
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)), np.delete(out, -1, axis=axis)], axis=axis)
    return np.flip(out, axis) if a.get("reverse", False) else out


def _squeeze(a):
    axes = a.get("axes")
    return np.squeeze(a["x"], axis=None if axes is None else tuple(int(i) for i in np.atleast_1d(axes)))


OPS: dict[str, Callable[[dict], object]] = {
    "const": lambda a: a["val"],
    "add": _broadcast(np.add), "sub": _broadcast(np.subtract), "mul": _broadcast(np.multiply),
    "real_div": _broadcast(np.divide), "maximum": _broadcast(np.maximum), "minimum": _broadcast(np.minimum),
    "greater": _broadcast(np.greater), "greater_equal": _broadcast(np.greater_equal),
    "less": _broadcast(np.less), "less_equal": _broadcast(np.less_equal), "equal": _broadcast(np.equal),
    "not_equal": _broadcast(np.not_equal), "logical_and": _broadcast(np.logical_and),
    "select": lambda a: np.where(a["cond"], a["a"], a["b"]),
    "relu": lambda a: np.maximum(a["x"], 0).astype(a["x"].dtype),
    "sigmoid": lambda a: (1.0 / (1.0 + np.exp(-a["x"]))).astype(a["x"].dtype),
    "tanh": lambda a: np.tanh(a["x"]),
    "exp": lambda a: np.exp(a["x"]),
    "sqrt": lambda a: np.sqrt(a["x"]),
    "softmax": _softmax,
    "matmul": _matmul,
    "linear": _linear,
    "gather": _gather,
    "concat": _concat,
    "reshape": _reshape,
    "expand_dims": lambda a: np.expand_dims(a["x"], tuple(int(i) for i in np.atleast_1d(a["axes"]))),
    "squeeze": _squeeze,
    "transpose": lambda a: np.transpose(a["x"], tuple(int(i) for i in a["perm"])),
    "slice_by_index": _slice_by_index,
    "slice_by_size": _slice_by_size,
    "split": _split,
    "cumsum": _cumsum,
    "reduce_sum": _reduce(np.sum), "reduce_mean": _reduce(np.mean), "reduce_max": _reduce(np.max),
    "cast": _cast,
    "identity": lambda a: a["x"],
    "constexpr_affine_dequantize": _affine_dequantize,
    "constexpr_blockwise_shift_scale": _blockwise_shift_scale,
    "quantize": _quantize,
    "dequantize": _dequantize,
}


class Executor:
    """Built once from a package; call it with a dict of named input arrays -> the outputs by name."""

    def __init__(self, path: Path, error: type[EdgeshipError] = InputError):
        spec = read_spec(path, error)
        program = spec.mlProgram
        if "main" not in program.functions:
            raise error(f"{path}: the ML Program has no main function")
        main = program.functions["main"]
        block = main.block_specializations[main.opset]
        self.inputs = {i.name: _tensor_type(i.type) for i in main.inputs}
        self.outputs = list(block.outputs)
        self.output_names = [o.name for o in spec.description.output]  # the model's names, in order
        blobs = Blobs(weights_dir(path, error))
        self.ops = []  # (type, outputs, {input name: bound value name or constant}) in the file's order
        self.constants: dict[str, object] = {}
        self.types = {}  # each op output's declared data type (numpy dtype, or the MIL name where NumPy has none)
        for op in block.operations:
            for out in op.outputs:
                if out.type.WhichOneof("type") == "tensorType":
                    self.types[out.name] = _tensor_type(out.type)[0]
            if op.type not in OPS:
                raise error(f"{path}: MIL op {op.type!r} ({op.outputs[0].name}) is not supported by the NumPy "
                            "executor")
            if op.blocks:
                raise error(f"{path}: MIL op {op.type!r} with nested blocks is not supported by the NumPy executor")
            if op.type == "const":
                self.constants[op.outputs[0].name] = _value(op.attributes["val"], blobs)
                continue
            args = {}
            for name, argument in op.inputs.items():
                bound = [b.name if b.WhichOneof("binding") == "name" else ("value", _value(b.value, blobs))
                         for b in argument.arguments]
                args[name] = bound if name == "values" else bound[0]
            for name, value in op.attributes.items():  # constexpr ops (iOS 16) hold their operands as attributes
                if name != "name":
                    args[name] = ("value", _value(value, blobs))
            self.ops.append((op.type, [o.name for o in op.outputs], args))

    def stored(self) -> list[tuple[str, np.ndarray]]:
        """Every array the package stores, with the operand it is ("val" for const ops, or e.g. a constexpr op's
        "quantized_data" and "scale")."""
        arrays = [("val", v) for v in self.constants.values() if isinstance(v, np.ndarray)]
        for _, _, args in self.ops:
            for name, bound in args.items():
                arrays += [(name, b[1]) for b in (bound if isinstance(bound, list) else [bound])
                           if isinstance(b, tuple) and isinstance(b[1], np.ndarray)]
        return arrays

    def values(self, feeds: dict[str, np.ndarray]) -> dict[str, object]:
        """Every named value of the program: inputs (cast to their declared types), constants, op outputs."""
        env = dict(self.constants)
        for name, (dtype, shape) in self.inputs.items():
            x = np.asarray(feeds[name])
            if np.issubdtype(np.dtype(dtype), np.integer) and not np.issubdtype(x.dtype, np.integer):
                if not np.array_equal(x, np.round(x)):  # never truncate a float id silently
                    raise InputError(f"input {name!r}: the program takes integers, got fractional values")
            env[name] = x.astype(dtype).reshape(shape)

        def resolve(bound):
            if isinstance(bound, list):
                return [resolve(b) for b in bound]
            return bound[1] if isinstance(bound, tuple) else env[bound]

        for kind, outputs, args in self.ops:
            result = OPS[kind]({name: resolve(bound) for name, bound in args.items()})
            for name, value in zip(outputs, result if len(outputs) > 1 else [result]):
                env[name] = np.asarray(value)
        return env

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        env = self.values(feeds)
        return {name: np.asarray(env[out], np.float32) for name, out in zip(self.output_names, self.outputs)}
