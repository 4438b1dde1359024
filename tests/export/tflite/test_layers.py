"""The per-layer comparison of an int8 .tflite with its fp32 file (quantization.json / .md)."""

import json

import numpy as np

from edgeship.export.formats import FORMATS
from edgeship.export.layer_report import weakest


def _requests(bundle, n=4):
    cases = json.loads((bundle / "testvectors.json").read_text())["cases"][:n]
    return [{k: np.asarray(v, np.float32 if k == "candidate_features" else np.int32) for k, v in c["inputs"].items()}
            for c in cases]


def test_a_file_against_itself_is_exact_and_int8_against_fp32_is_not(reference_bundle):
    fp32, int8 = reference_bundle / "ranker_fp32.tflite", reference_bundle / "ranker_int8.tflite"
    same = FORMATS["tflite"].layer_errors(fp32, fp32, _requests(reference_bundle))
    assert len(same) > 10 and all(x.snr_db is None and x.rmse == 0 and x.scale == 0 for x in same)
    layers = FORMATS["tflite"].layer_errors(fp32, int8, _requests(reference_bundle))
    quantized = [x for x in layers if x.dtype == "int8"]
    assert quantized and all(x.scale > 0 and x.snr_db is not None for x in quantized)
    # rounded everywhere but where every value lies on the int8 grid (the mask bias: 0 and -16, scale 16/255)
    assert all(x.rmse > 0 or x.max_abs_error <= 1e-5 for x in quantized)
    assert sum(x.rmse > 0 for x in quantized) >= len(quantized) - 2
    # an int8 output is at least within half a step of its float tensor where nothing upstream was rounded
    assert min(x.rmse / x.scale for x in quantized) < 0.5
    assert all(-1 <= x.cosine <= 1 + 1e-9 for x in quantized)
    assert weakest(quantized, threshold=1e9) == sorted(quantized, key=lambda x: x.snr_db)


def test_a_planted_wrong_weight_shows_in_the_layer_that_holds_it(reference_bundle, tmp_path):
    """Triple the int8 values of the item table: the layer that looks it up loses signal."""
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils

    int8 = reference_bundle / "ranker_int8.tflite"
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(int8.read_bytes(), 0))
    sg = model.subgraphs[0]
    codes = {i: oc.builtinCode for i, oc in enumerate(model.operatorCodes)}
    op = next(o for o in sg.operators if codes[o.opcodeIndex] == fb.BuiltinOperator.GATHER
              and b"item_embedding" in sg.tensors[o.outputs[0]].name)
    buffer = model.buffers[sg.tensors[op.inputs[0]].buffer]
    values = np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), np.int8).astype(np.int32)
    buffer.data = np.clip(values * 3, -127, 127).astype(np.int8).view(np.uint8)
    planted = tmp_path / "planted.tflite"
    planted.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    fp32 = reference_bundle / "ranker_fp32.tflite"
    good = {x.tensor: x for x in FORMATS["tflite"].layer_errors(fp32, int8, _requests(reference_bundle))}
    bad = {x.tensor: x for x in FORMATS["tflite"].layer_errors(fp32, planted, _requests(reference_bundle))}
    hit = sg.tensors[op.outputs[0]].name.decode()
    assert bad[hit].snr_db < good[hit].snr_db - 3
