"""TFLite model metadata, read back with the standard reader (flatc's, from TensorFlow Lite Support's schema):
what Android Studio's model viewer shows, in the model's own tensor order, and the file still runs the same."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from edgeship.export.about import About, Identity
from edgeship.export.parity import scorer
from edgeship.export.tflite import metadata
from edgeship.export.tflite.runtime import interpreter
from edgeship.ondevice.contract import CONTRACT_VERSION

_READER = Path(__file__).with_name("metadata_schema_py_generated.py")


@pytest.fixture(scope="module")
def schema():
    spec = importlib.util.spec_from_file_location("metadata_schema_py_generated", _READER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(schema, buffer: bytes):
    assert schema.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0)  # "M001"
    return schema.ModelMetadataT.InitFromObj(schema.ModelMetadata.GetRootAs(buffer, 0))


@pytest.mark.parametrize("name", ["ranker_fp32.tflite", "ranker_int8.tflite"])
def test_bundle_tflite_files_carry_their_metadata(reference_bundle, tiny_config, schema, name):
    path = reference_bundle / name
    meta = _read(schema, metadata.read(path.read_bytes()))
    identity = Identity()
    assert (meta.name, meta.version, meta.author, meta.license) == tuple(
        getattr(identity, f).encode() for f in ("name", "version", "author", "license"))
    assert meta.minParserVersion == b"1.0.0"
    assert b"Ranks 12 candidate items" in meta.description
    assert f"contract_version {CONTRACT_VERSION}".encode() in meta.description
    assert [f.name for f in meta.associatedFiles] == [b"features.json", b"vocabularies.json"]
    (graph,) = meta.subgraphMetadata
    inputs = [t.name.decode() for t in graph.inputTensorMetadata]
    # the model's own input order (what LiteRT lists), not the contract's
    it = interpreter(path)
    by_index = {d["index"]: n for n, d in it.get_signature_runner("serving_default").get_input_details().items()}
    order = [by_index[d["index"]] for d in it.get_input_details()]
    assert inputs == order and sorted(inputs) == sorted(["context", "history", "candidates", "candidate_features"])
    assert [t.name for t in graph.outputTensorMetadata] == [b"scores"]
    assert all(t.description and t.content.contentPropertiesType == 1 for t in graph.inputTensorMetadata)
    assert b"click logit" in graph.outputTensorMetadata[0].description


def test_normalization_is_written_as_mean_and_std(tiny_data, schema):
    about = About.of(Identity(name="shop", version="3", author="app team", license="MIT"), tiny_data.spec, 12, "x")
    mean, scale = [1.5, -2.0, 0.0], [0.5, 4.0, 1.0]
    meta = _read(schema, metadata.build(about, ["candidate_features", "context"], ["scores"], mean, scale))
    (graph,) = meta.subgraphMetadata
    features, context = graph.inputTensorMetadata
    (unit,) = features.processUnits
    assert unit.optionsType == 1  # NormalizationOptions
    np.testing.assert_allclose(unit.options.mean, mean)
    np.testing.assert_allclose(unit.options.std, [2.0, 0.25, 1.0])  # (x - mean) * scale = (x - mean) / std
    assert context.processUnits is None and (meta.name, meta.license) == (b"shop", b"MIT")


def test_metadata_changes_nothing_the_model_computes(reference_bundle, tiny_data, tmp_path):
    path = reference_bundle / "ranker_int8.tflite"
    bare = tmp_path / "bare.tflite"
    from tensorflow.lite.python import schema_py_generated as tfl
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.convert_bytearray_to_object(bytearray(path.read_bytes()))
    obj.metadata = [m for m in obj.metadata if m.name != metadata.METADATA_NAME.encode()]
    bare.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(obj)))
    assert metadata.read(bare.read_bytes()) is None and isinstance(obj, tfl.ModelT)
    with_meta, without = scorer("tflite", path), scorer("tflite", bare)
    for request in map(tiny_data.test.one, range(3)):
        np.testing.assert_array_equal(with_meta(request), without(request))
