"""TFLite model metadata: what Android Studio's model viewer and the TFLite Support metadata extractor read.

A `ModelMetadata` flatbuffer (TensorFlow Lite Support's metadata_schema.fbs, file identifier "M001") stored in a
buffer of the model that the model's `metadata` list names "TFLITE_METADATA": the model's name, description,
version, author and licence; per input and output tensor its description; for `candidate_features` the
normalization (mean and std per feature); the bundle files the app needs beside the model (features.json,
vocabularies.json), listed by name.

Written here with `flatbuffers` (in the lock) and TensorFlow's own schema object API, because the usual writer,
tflite-support 0.4.4, pins protobuf < 4 (the stack has 7) and its metadata module needs libusb, which this
machine lacks. Read back in the tests with the reader flatc generates from the same schema.
"""

from __future__ import annotations

import flatbuffers

from ...models.features import CANDIDATE_FEATURES
from ...ondevice.contract import FEATURES
from ..about import About

METADATA_NAME = "TFLITE_METADATA"  # the metadata entry the extractor looks for
FILE_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"  # only fields and types of metadata schema 1.0.0 are written
_UNKNOWN_FILE = 0  # AssociatedFileType.UNKNOWN: a file the app reads itself (JSON), not one a task library parses
_FEATURE_PROPERTIES, _NORMALIZATION = 1, 1  # union type ids: ContentProperties.FeatureProperties,
#                                             ProcessUnitOptions.NormalizationOptions


def _table(b: flatbuffers.Builder, fields: list[tuple[int, str, object]]) -> int:
    """A table from (slot, kind, value): kind 'offset' (an already built string, vector or table) or 'ubyte'."""
    b.StartObject(max(slot for slot, _, _ in fields) + 1)
    for slot, kind, value in fields:
        if value is None:
            continue
        if kind == "offset":
            b.PrependUOffsetTRelativeSlot(slot, value, 0)
        else:
            b.PrependUint8Slot(slot, value, 0)
    return b.EndObject()


def _offsets(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _floats(b: flatbuffers.Builder, values: list[float]) -> int:
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependFloat32(v)
    return b.EndVector()


def _file(b: flatbuffers.Builder, name: str, description: str) -> int:
    return _table(b, [(0, "offset", b.CreateString(name)), (1, "offset", b.CreateString(description)),
                      (2, "ubyte", _UNKNOWN_FILE)])


def _tensor(b: flatbuffers.Builder, name: str, description: str, normalization=None) -> int:
    content = _table(b, [(0, "ubyte", _FEATURE_PROPERTIES), (1, "offset", _table(b, [(0, "offset", None)]))])
    units = None
    if normalization is not None:
        mean, std = normalization
        options = _table(b, [(0, "offset", _floats(b, mean)), (1, "offset", _floats(b, std))])
        units = _offsets(b, [_table(b, [(0, "ubyte", _NORMALIZATION), (1, "offset", options)])])
    return _table(b, [(0, "offset", b.CreateString(name)), (1, "offset", b.CreateString(description)),
                      (3, "offset", content), (4, "offset", units)])


def build(about: About, inputs: list[str], outputs: list[str], feature_mean, feature_scale) -> bytes:
    """The ModelMetadata flatbuffer. feature_mean / feature_scale: the candidate features' standardization
    (x - mean) * scale, written as the schema's (x - mean) / std; None: the data came standardized."""
    b = flatbuffers.Builder(1024)
    normalization = None
    if feature_mean is not None:
        normalization = ([float(m) for m in feature_mean], [1.0 / float(s) for s in feature_scale])

    def tensors(names: list[str]) -> int:
        return _offsets(b, [_tensor(b, n, about.meanings.get(n, ""), normalization if n == CANDIDATE_FEATURES
                                    else None) for n in names])

    subgraph = _table(b, [(0, "offset", b.CreateString("serving_default")),
                          (2, "offset", tensors(inputs)), (3, "offset", tensors(outputs))])
    files = _offsets(b, [
        _file(b, FEATURES, "the raw-input contract: how a raw request becomes these inputs, field by field"),
        _file(b, "vocabularies.json", "the values of each vocabulary field, in id order")])
    i = about.identity
    facts = "; ".join(f"{k} {v}" for k, v in sorted(about.facts.items()) if k in ("edgeship_version",
                                                                                  "contract_version"))
    root = _table(b, [(0, "offset", b.CreateString(i.name)),
                      (1, "offset", b.CreateString(f"{about.description} ({facts})")),
                      (2, "offset", b.CreateString(i.version)), (3, "offset", _offsets(b, [subgraph])),
                      (4, "offset", b.CreateString(i.author)), (5, "offset", b.CreateString(i.license)),
                      (6, "offset", files), (7, "offset", b.CreateString(MIN_PARSER_VERSION))])
    b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def _names(obj, subgraph, kind: str) -> list[str]:
    """The subgraph's input or output tensors in their order, by the names its signature gives them: the
    metadata's tensor lists must follow the model's own order."""
    signature = next(s for s in obj.signatureDefs if s.subgraphIndex == 0)
    by_index = {m.tensorIndex: m.name.decode() if isinstance(m.name, bytes) else m.name
                for m in getattr(signature, kind)}
    return [by_index[i] for i in getattr(subgraph, kind)]


def describe(model: bytes, about: About, feature_mean, feature_scale) -> bytes:
    """The model with its metadata (build) in a new buffer, named TFLITE_METADATA in its metadata list
    (replacing an earlier one), through TensorFlow's own schema object API."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    graph = obj.subgraphs[0]
    metadata = build(about, _names(obj, graph, "inputs"), _names(obj, graph, "outputs"), feature_mean, feature_scale)
    buffer = schema.BufferT()
    buffer.data = list(metadata)
    obj.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(obj.buffers) - 1
    obj.metadata = [m for m in (obj.metadata or []) if m.name not in (METADATA_NAME, METADATA_NAME.encode())]
    obj.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(obj))


def read(model: bytes) -> bytes | None:
    """The TFLITE_METADATA buffer of a model, or None."""
    from tensorflow.lite.python import schema_py_generated as schema

    m = schema.Model.GetRootAs(model, 0)
    for i in range(m.MetadataLength()):
        entry = m.Metadata(i)
        if entry.Name() == METADATA_NAME.encode():
            return m.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None
