"""TensorFlow Lite: fp32, and full-integer int8 by post-training quantization (PTQ) and from the
quantization-aware model (QAT). Builtin ops only, one named signature, float32 inputs and outputs so that every
format shares one contract (the int8 graph quantizes at its first op and dequantizes before `scores`)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from ..models.features import INPUT_NAMES, SCORES, FeatureSpec
from . import _shims
from .types import Artifact, ExportJob, Inputs, TensorInfo, in_contract_order

FORMAT = "tflite"
RUNTIME = "litert"
SIGNATURE = "serving_default"


def serving_function(model, spec: FeatureSpec, candidates: int):
    """A concrete function with the contract's input names, fixed shapes and a dict output {'scores': ...}."""
    shapes, dtypes = spec.input_shapes(candidates), spec.input_dtypes()
    signature = [tf.TensorSpec(shapes[n], tf.as_dtype(dtypes[n]), name=n) for n in INPUT_NAMES]

    @tf.function(input_signature=signature)
    def serve(context, history, candidates, candidate_features):
        inputs = dict(zip(INPUT_NAMES, (context, history, candidates, candidate_features)))
        return {SCORES: model(inputs, training=False)}

    return serve.get_concrete_function()


def convert(model, spec: FeatureSpec, candidates: int, calibration: Callable | None = None) -> bytes:
    """fp32 when calibration is None, else full-integer int8 calibrated on it."""
    fn = serving_function(model, spec, candidates)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with _shims.quiet():
        return converter.convert()


def export(job: ExportJob, out_dir: Path) -> list[Artifact]:
    """fp32, int8 PTQ and (when the job has a QAT model) int8 QAT; the caller keeps the better int8."""
    made = [("ranker_fp32.tflite", "fp32", None, job.model, None, "float32 reference conversion"),
            ("ranker_int8_ptq.tflite", "int8", "ptq", job.model, job.calibration,
             "full-integer post-training quantization")]
    if job.qat_model is not None:
        made.append(("ranker_int8_qat.tflite", "int8", "qat", job.qat_model, job.calibration,
                     "full-integer, from the quantization-aware trained model"))
    artifacts = []
    for name, precision, method, model, calibration, note in made:
        path = out_dir / name
        path.write_bytes(convert(model, job.spec, job.candidates, calibration))
        artifacts.append(Artifact(path=path, format=FORMAT, precision=precision, runtime=RUNTIME, notes=note,
                                  extra={"signature": SIGNATURE, "operators": operators(path),
                                         "quantization_method": method}))
    return artifacts


_interpreter = _shims.litert_interpreter


def load(path: Path, num_threads: int = 1) -> Callable[[Inputs], np.ndarray]:
    """A callable scoring one request through the model's signature runner."""
    interpreter = _interpreter(path, num_threads)
    runner = interpreter.get_signature_runner(SIGNATURE)

    def run(inputs: Inputs) -> np.ndarray:
        return runner(**inputs)[SCORES]

    return run


def operators(path: Path) -> list[str]:
    """Distinct op names, without XNNPACK folding them into DELEGATE nodes."""
    interpreter = _interpreter(path, with_delegates=False)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


def _tensor_info(detail: dict, name: str) -> TensorInfo:
    scales = detail["quantization_parameters"]["scales"]
    quant = None
    if len(scales) > 0:
        quant = {"scale": float(scales[0]), "zero_point": int(detail["quantization_parameters"]["zero_points"][0])}
    return TensorInfo(name=name, dtype=np.dtype(detail["dtype"]).name, shape=tuple(int(d) for d in detail["shape"]),
                      quantization=quant)


def describe(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    runner = _interpreter(path).get_signature_runner(SIGNATURE)
    ins, outs = runner.get_input_details(), runner.get_output_details()
    return (in_contract_order([_tensor_info(d, n) for n, d in ins.items()]),
            [_tensor_info(d, n) for n, d in outs.items()])


def runtime_version() -> str:
    from importlib.metadata import version

    return f"ai-edge-litert {version('ai-edge-litert')}"
