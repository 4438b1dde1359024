"""The per-layer comparison of an int8 .onnx with its fp32 file, through ONNX Runtime's qdq_loss_debug."""

import json
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeship.export.formats import FORMATS
from edgeship.export.layer_report import INSIDE, weakest
from edgeship.export.onnx import convert
from edgeship.export.recipes import Recipe, builtin


def _requests(bundle):
    cases = json.loads((bundle / "testvectors.json").read_text())["cases"]
    return [{k: np.asarray(v, np.float32 if k == "candidate_features" else np.int32) for k, v in c["inputs"].items()}
            for c in cases]


def _quantized(bundle, recipe, path):
    """The fp32 file quantized by ONNX Runtime as the export stage does it, names kept where they are shared."""
    fp32 = onnx.load(str(bundle / "ranker_fp32.onnx"))
    int8 = convert._ort_quantized(fp32, recipe, SimpleNamespace(calibration=lambda: iter(_requests(bundle))))
    convert.canonicalize(int8, "q", frozenset(t for n in fp32.graph.node for t in n.output))
    onnx.save(int8, str(path))
    return path


@pytest.fixture(scope="module")
def layers_of(reference_bundle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx_layers")
    fp32 = reference_bundle / "ranker_fp32.onnx"

    def run(recipe, planted=None):
        path = _quantized(reference_bundle, recipe, folder / f"{recipe.name}.onnx")
        if planted:
            planted(path)
        return {x.tensor: x for x in FORMATS["onnx"].layer_errors(fp32, path, _requests(reference_bundle))}
    return run


def _gemms(reference_bundle):
    return [n.output[0] for n in onnx.load(str(reference_bundle / "ranker_fp32.onnx")).graph.node
            if n.op_type == "Gemm"]


def test_a_file_against_itself_is_exact(reference_bundle):
    fp32 = reference_bundle / "ranker_fp32.onnx"
    same = FORMATS["onnx"].layer_errors(fp32, fp32, _requests(reference_bundle))
    assert len(same) > 10 and all(x.snr_db is None and x.rmse == 0 and x.dtype == "float32" for x in same)


def test_a_qdq_file_is_compared_after_each_quantize_dequantize_pair(layers_of, reference_bundle):
    (qdq,) = builtin(("ort_qdq",))
    layers = layers_of(qdq)
    quantized = [x for x in layers.values() if x.scale > 0]
    assert all(x.dtype == "uint8" for x in quantized) and sum(x.snr_db is not None for x in quantized) > 10
    assert all(layers[g].scale > 0 for g in _gemms(reference_bundle) if g in layers)
    # where nothing upstream was rounded, the output is within half a step of the float tensor
    assert min(x.rmse / x.scale for x in quantized) < 0.5
    assert weakest(list(layers.values()), threshold=1e9) == sorted((x for x in quantized if x.snr_db is not None),
                                                                   key=lambda x: x.snr_db)


def test_a_dynamic_file_shows_its_rewritten_products_as_int8_inside(layers_of, reference_bundle):
    (dynamic,) = builtin(("ort_dynamic",))
    layers = layers_of(dynamic)
    gemms = [layers[g] for g in _gemms(reference_bundle)]
    assert gemms and all(x.dtype == INSIDE and x.snr_db is not None and x.snr_db < 80 for x in gemms)
    assert set(weakest(list(layers.values()), threshold=1e9)) >= set(gemms)


def test_float_layers_keep_the_named_nodes_of_an_ort_recipe_in_float(layers_of, reference_bundle):
    first, *rest = _gemms(reference_bundle)
    mixed = Recipe("qdq_first_float", "onnx", "qdq", float_layers=(f"^{first}$",), activations="uint8")
    layers = layers_of(mixed)
    assert layers[first].dtype != "uint8" and layers[first].scale == 0
    assert any(layers[g].dtype == "uint8" for g in rest if g in layers)


def test_a_planted_wrong_weight_shows_in_the_layer_that_holds_it(layers_of, reference_bundle):
    """Triple the int8 weights of the first dense layer: its output loses signal."""
    first = _gemms(reference_bundle)[0]

    def plant(path):
        model = onnx.load(str(path))
        made = {o: n for n in model.graph.node for o in n.output}
        reads = {i: n for n in model.graph.node for i in n.input}
        inits = {i.name: i for i in model.graph.initializer}
        gemm = made[first] if made[first].op_type == "Gemm" else made[reads[first].input[0]]
        weight = made[gemm.input[1]].input[0]  # the int8 constant its DequantizeLinear reads
        values = numpy_helper.to_array(inits[weight]).astype(np.int32)
        inits[weight].CopyFrom(numpy_helper.from_array(np.clip(values * 3, -127, 127).astype(np.int8), weight))
        onnx.save(model, str(path))

    (qdq,) = builtin(("ort_qdq",))
    good, bad = layers_of(qdq)[first], layers_of(qdq, plant)[first]
    assert bad.snr_db < good.snr_db - 3
