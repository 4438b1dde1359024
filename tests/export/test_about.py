"""Every file describes itself in its own ecosystem's fields, read back here through each format's own reader."""

from __future__ import annotations

import json

import onnx
import onnxruntime as ort
import pytest

from edgeship.export import shims
from edgeship.models.features import CANDIDATES, CONTEXT, INPUT_NAMES, SCORES
from edgeship.ondevice.contract import CONTRACT_VERSION

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def _expected(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    return manifest["generator"].split()[-1], manifest["model"]["candidates"]


def test_onnx_files_carry_doc_string_and_metadata_props(reference_bundle):
    version, k = _expected(reference_bundle)
    for name in ("ranker_fp32.onnx", "ranker_int8.onnx"):
        path = reference_bundle / name
        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
        assert meta.description.startswith(f"Ranks {k} candidate items for one request")
        assert meta.custom_metadata_map["edgeship_version"] == version
        assert meta.custom_metadata_map["contract_version"] == str(CONTRACT_VERSION)
        assert meta.custom_metadata_map["contract_file"] == "features.json"
        assert meta.custom_metadata_map["candidates"] == str(k)
        graph = onnx.load(str(path)).graph
        docs = {v.name: v.doc_string for v in list(graph.input) + list(graph.output)}
        assert set(docs) == {*INPUT_NAMES, SCORES} and all(docs.values())
        assert docs[CONTEXT].startswith("request context, one int32 id per field: hour (0..23)")


def test_mlmodel_files_carry_what_xcode_shows(reference_bundle):
    ct = shims.import_coremltools()
    version, k = _expected(reference_bundle)
    for name in ("ranker_fp32.mlmodel", "ranker_int8.mlmodel"):  # the 8-bit copy keeps its description
        model = ct.models.MLModel(str(reference_bundle / name), skip_model_load=True)
        assert model.short_description.startswith(f"Ranks {k} candidate items")
        assert (model.author, model.license, model.version) == ("unspecified", "unspecified", "1")
        assert model.user_defined_metadata["edgeship_version"] == version
        assert model.user_defined_metadata["contract_version"] == str(CONTRACT_VERSION)
        assert model.input_description[CANDIDATES] == f"ids of the {k} items to score (a shorter list: pad with 0)"
        assert model.output_description[SCORES].startswith("one click logit per candidate")
