"""TensorFlow Lite: fp32, and one int8 candidate per tflite recipe (export/recipes/): full-integer, dynamic
range, float16 weights, or mixed (named op types or layers kept in float), each also from the
quantization-aware model when the job has one. Builtin ops only, one named signature, float32 inputs and outputs
so that every format shares one contract. Each file carries TFLite model metadata (metadata.py) when the job
says what to write."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import tensorflow as tf

from ...core.errors import one_line
from ...models.features import INPUT_NAMES, SCORES
from .. import shims
from ..recipes import Recipe
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


def _converter(model, job: ExportJob):
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serving_function(model, job)], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def convert(model, job: ExportJob, calibration: Callable | None = None) -> bytes:
    """fp32 when calibration is None, else full-integer int8 calibrated on it."""
    converter = _converter(model, job)
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with shims.quiet():
        return converter.convert()


def quantize(model, job: ExportJob, recipe: Recipe, fp32: bytes) -> bytes:
    """One recipe's file. `fp32`: the float file of the same model, whose ops and names a mixed recipe picks
    from."""
    if recipe.method == "full_int8":
        return convert(model, job, job.calibration)
    converter = _converter(model, job)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if recipe.method == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif recipe.method == "mixed":
        # the converter's own selective quantization: the debugger calibrates, then quantizes all but the
        # denylisted ops / nodes (a node is named by its output tensor in the float model)
        converter.representative_dataset = job.calibration
        ops = inspect.nodes(fp32)
        types = {op for op, _ in ops}
        deny_ops = sorted(types - set(recipe.int8_ops)) if recipe.int8_ops else sorted(types & set(recipe.float_ops))
        deny_nodes = [name for op, name in ops if op not in deny_ops
                      and any(re.search(p, name) for p in recipe.float_layers)]
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=deny_ops or None,
                                                                denylisted_nodes=deny_nodes or None)
        with shims.quiet():
            debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=job.calibration,
                                                                 debug_options=options)
            return debugger.get_nondebug_quantized_model()
    with shims.quiet():  # dynamic_range: optimizations alone
        return converter.convert()


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    """fp32, and one int8 candidate per recipe (and per recipe from the QAT model too, when there is one), of
    which the export stage ships one as ranker_int8.tflite."""
    fp32 = convert(job.model, job)
    artifacts = [_write(job, out_dir / "ranker_fp32.tflite", fp32, "fp32", None, None, "float32 reference conversion")]
    sources = [("", job.model)] + ([("_qat", job.qat_model)] if job.qat_model is not None else [])
    for recipe in job.recipes_for(FORMAT):
        for suffix, model in sources if recipe.calibrated else sources[:1]:
            name = recipe.name + suffix
            path = out_dir / f"ranker_int8_{name}.tflite"
            note = recipe.note + (" (from the quantization-aware trained model)" if suffix else "")
            try:
                data = quantize(model, job, recipe, fp32)
            except Exception as e:  # one recipe failing loses only itself
                artifacts.append(Artifact(path, FORMAT, "int8", note, quantization_method=name, recipe=recipe,
                                          ships_as=INT8_NAME, failed=one_line(e, 300)))
                continue
            artifacts.append(_write(job, path, data, "int8", name, recipe, note))
    return artifacts


def _write(job: ExportJob, path: Path, data: bytes, precision: str, name: str | None, recipe: Recipe | None,
           note: str) -> Artifact:
    if job.about is not None:
        data = metadata.describe(data, job.about, job.spec.feature_mean, job.spec.feature_scale)
    path.write_bytes(data)
    return Artifact(path=path, format=FORMAT, precision=precision, notes=note, quantization_method=name,
                    recipe=recipe, ships_as=INT8_NAME if recipe is not None else None,
                    details=TFLiteDetails(SIGNATURE, inspect.operators(path)))
