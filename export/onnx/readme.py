"""The .onnx files' part of the bundle README."""

from __future__ import annotations


def files(manifest) -> str:
    drift = {a.path: a.verification.max_abs_diff for a in manifest.artifacts}
    q = manifest.quantization.get("ranker_int8.onnx")
    how = "the int8 .tflite converted to a QDQ graph"
    if q is not None and q.selected and q.candidates[q.selected].method != "from_tflite":
        how = f"the fp32 graph quantized by ONNX Runtime's own quantizer (recipe `{q.selected}`)"
    text = f"""- **ONNX Runtime** (including ONNX Runtime Mobile): `ranker_int8.onnx` is {how},
  `ranker_fp32.onnx` the float one."""
    if "ranker_int8.onnx" in drift and "ranker_int8.tflite" in drift:  # converted from it, not the same scores
        text += (f" ONNX Runtime computes the int8 graph its own way: max |Δ| against the trained model\n"
                 f"  {drift['ranker_int8.onnx']:.3g} for the .onnx, {drift['ranker_int8.tflite']:.3g} for the .tflite.")
    return text + "\n"
