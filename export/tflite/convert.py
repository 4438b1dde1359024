"""TensorFlow Lite: fp32, and full-integer int8 by post-training quantization (PTQ) and from the
quantization-aware model (QAT). Builtin ops only, one named signature, float32 inputs and outputs so that every
format shares one contract (the int8 graph quantizes at its first op and dequantizes before `scores`). Each file
carries TFLite model metadata (metadata.py) when the job says what to write."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import tensorflow as tf

from ...models.features import INPUT_NAMES, SCORES
from .. import shims
from ..types import Artifact, Derived, ExportJob, tf_signature
from . import SIGNATURE, inspect, metadata
from .record import TFLiteDetails

FORMAT = "tflite"
INT8_NAME = "ranker_int8.tflite"


def serving_function(model, job: ExportJob):
    """A concrete function with the contract's input names, fixed shapes and a dict output {'scores': ...}."""

    @tf.function(input_signature=tf_signature(job.inputs))
    def serve(context, history, candidates, candidate_features):
        inputs = dict(zip(INPUT_NAMES, (context, history, candidates, candidate_features)))
        return {SCORES: model(inputs, training=False)}

    return serve.get_concrete_function()


def convert(model, job: ExportJob, calibration: Callable | None = None) -> bytes:
    """fp32 when calibration is None, else full-integer int8 calibrated on it."""
    fn = serving_function(model, job)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with shims.quiet():
        return converter.convert()


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    """fp32, and int8 by PTQ and (when the job has a QAT model) QAT: two candidates for ranker_int8.tflite,
    of which the export stage ships the better."""
    made = [("ranker_fp32.tflite", "fp32", None, job.model, None, "float32 reference conversion"),
            ("ranker_int8_ptq.tflite", "int8", "ptq", job.model, job.calibration,
             "full-integer post-training quantization")]
    if job.qat_model is not None:
        made.append(("ranker_int8_qat.tflite", "int8", "qat", job.qat_model, job.calibration,
                     "full-integer, from the quantization-aware trained model"))
    artifacts = []
    for name, precision, method, model, calibration, note in made:
        path = out_dir / name
        data = convert(model, job, calibration)
        if job.about is not None:
            data = metadata.describe(data, job.about, job.spec.feature_mean, job.spec.feature_scale)
        path.write_bytes(data)
        artifacts.append(Artifact(path=path, format=FORMAT, precision=precision, notes=note,
                                  quantization_method=method, ships_as=INT8_NAME if method else None,
                                  details=TFLiteDetails(SIGNATURE, inspect.operators(path))))
    return artifacts
