"""Core ML: NeuralNetwork .mlmodel in fp32, and with 8-bit linear weights (compute stays float).

Prediction with Core ML itself exists only on macOS. Elsewhere `load` executes the saved file with the
independent NumPy executor in coreml_numpy.py, which reads only the .mlmodel: never the Keras model.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Callable

import numpy as np

from ..models.features import INPUT_NAMES, SCORES
from . import _shims
from .types import Artifact, ExportJob, Inputs, TensorInfo, in_contract_order

FORMAT = "coreml"
MINIMUM_DEPLOYMENT = {"iOS": "13", "macOS": "10.15"}  # NeuralNetwork spec version 4 (ND layers)

# The converter stamps the conversion date into the file; dropping it keeps the same config -> same bytes.
_VOLATILE_METADATA = ("com.github.apple.coremltools.conversion_date",)

def runtime_name() -> str:
    return "coreml" if platform.system() == "Darwin" else "coreml-numpy"


RUNTIME = runtime_name()


def _convert(job: ExportJob):
    ct = _shims.import_coremltools()
    shapes, dtypes = job.spec.input_shapes(job.candidates), job.spec.input_dtypes()
    inputs = [ct.TensorType(name=n, shape=shapes[n], dtype=np.dtype(dtypes[n]).type) for n in INPUT_NAMES]
    with _shims.quiet():
        model = ct.convert(job.model, source="tensorflow", convert_to="neuralnetwork", inputs=inputs,
                           minimum_deployment_target=ct.target.iOS13)
    spec = model.get_spec()
    produced = spec.description.output[0].name
    if produced != SCORES:
        ct.utils.rename_feature(spec, produced, SCORES)
    for key in _VOLATILE_METADATA:
        spec.description.metadata.userDefined.pop(key, None)
    spec.description.metadata.shortDescription = (
        f"edgeship ranker: scores {job.candidates} candidate items of one request")
    return spec


def _quantize_8bit(spec):
    """Linear 8-bit weights for embedding tables and matmuls. Constants are left alone: the context id offsets
    live in a loadConstantND, and 8-bit rounding of them would shift lookups into the wrong field."""
    ct = _shims.import_coremltools()
    from coremltools.models.neural_network import quantization_utils as qu

    class WeightsOnly(qu.QuantizedLayerSelector):
        def do_quantize(self, layer, **kwargs):
            return super().do_quantize(layer) and layer.WhichOneof("layer") in ("embeddingND", "batchedMatmul",
                                                                                "innerProduct")

    with _shims.quiet():
        model = ct.models.MLModel(spec, skip_model_load=True)
        quantized = qu.quantize_weights(model, nbits=8, quantization_mode="linear", selector=WeightsOnly())
    return quantized.get_spec() if hasattr(quantized, "get_spec") else quantized


def _save(spec, path: Path) -> None:
    """ct.utils.save_spec serializes the metadata map in whatever order the process's hash map holds it: two
    runs gave logically equal files with different bytes (measured). Sorted map entries make the bytes
    reproducible."""
    path.write_bytes(spec.SerializeToString(deterministic=True))


def export(job: ExportJob, out_dir: Path) -> list[Artifact]:
    spec = _convert(job)
    extra = {"spec_version": int(spec.specificationVersion), "minimum_deployment": MINIMUM_DEPLOYMENT,
             "compute_units": "cpuOnly"}
    artifacts = []
    fp32_path = out_dir / "ranker_fp32.mlmodel"
    _save(spec, fp32_path)
    artifacts.append(Artifact(path=fp32_path, format=FORMAT, precision="fp32", runtime=RUNTIME,
                              notes="NeuralNetwork, float32 weights", extra=dict(extra)))
    int8_path = out_dir / "ranker_int8.mlmodel"
    _save(_quantize_8bit(spec), int8_path)
    artifacts.append(Artifact(path=int8_path, format=FORMAT, precision="int8", runtime=RUNTIME,
                              notes="NeuralNetwork, 8-bit linear weights (per channel), float compute",
                              extra=dict(extra, quantization_method="8-bit linear weights")))
    return artifacts


def load(path: Path, num_threads: int = 1) -> Callable[[Inputs], np.ndarray]:
    if platform.system() == "Darwin":
        ct = _shims.import_coremltools()
        model = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)
        return lambda inputs: np.asarray(model.predict(inputs)[SCORES])
    from .coreml_numpy import load as load_numpy

    executor = load_numpy(path)
    return lambda inputs: executor(inputs)[SCORES]


def describe(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    ct = _shims.import_coremltools()
    spec = ct.utils.load_spec(str(path))

    def info(feature) -> TensorInfo:
        array = feature.type.multiArrayType
        dtype = {ct.proto.FeatureTypes_pb2.ArrayFeatureType.INT32: "int32",
                 ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32: "float32",
                 ct.proto.FeatureTypes_pb2.ArrayFeatureType.DOUBLE: "float64"}.get(array.dataType, str(array.dataType))
        return TensorInfo(name=feature.name, dtype=dtype, shape=tuple(int(d) for d in array.shape))

    return (in_contract_order([info(f) for f in spec.description.input]),
            [info(f) for f in spec.description.output])


def runtime_version() -> str:
    from importlib.metadata import version

    executor = "Core ML" if platform.system() == "Darwin" else "edgeship NumPy executor of the saved spec"
    return f"{executor}; coremltools {version('coremltools')}"
