"""Core ML: NeuralNetwork .mlmodel in fp32, and with 8-bit linear weights (compute stays float)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...models.features import SCORES
from .. import shims
from ..about import describe_coreml
from ..types import Artifact, Derived, ExportJob
from . import MINIMUM_DEPLOYMENT
from .record import CoreMLDetails

FORMAT = "coreml"

# The converter stamps the conversion date into the file; dropping it keeps the same config -> same bytes.
_VOLATILE_METADATA = ("com.github.apple.coremltools.conversion_date",)


def _convert(job: ExportJob):
    ct = shims.import_coremltools()
    inputs = [ct.TensorType(name=t.name, shape=t.shape, dtype=np.dtype(t.dtype).type) for t in job.inputs]
    with shims.quiet():
        model = ct.convert(job.model, source="tensorflow", convert_to="neuralnetwork", inputs=inputs,
                           minimum_deployment_target=ct.target.iOS13)
    spec = model.get_spec()
    produced = spec.description.output[0].name
    if produced != SCORES:
        ct.utils.rename_feature(spec, produced, SCORES)
    for key in _VOLATILE_METADATA:
        spec.description.metadata.userDefined.pop(key, None)
    if job.about is not None:
        describe_coreml(spec, job.about)
    else:
        spec.description.metadata.shortDescription = (
            f"edgeship ranker: scores {job.candidates} candidate items of one request")
    return spec


def _quantize_8bit(spec):
    """Linear 8-bit weights for embedding tables and matmuls. Constants are left alone: the context id offsets
    live in a loadConstantND, and 8-bit rounding of them would shift lookups into the wrong field."""
    ct = shims.import_coremltools()
    from coremltools.models.neural_network import quantization_utils as qu

    class WeightsOnly(qu.QuantizedLayerSelector):
        def do_quantize(self, layer, **kwargs):
            return super().do_quantize(layer) and layer.WhichOneof("layer") in ("embeddingND", "batchedMatmul",
                                                                                "innerProduct")

    with shims.quiet():
        model = ct.models.MLModel(spec, skip_model_load=True)
        quantized = qu.quantize_weights(model, nbits=8, quantization_mode="linear", selector=WeightsOnly())
    return quantized.get_spec() if hasattr(quantized, "get_spec") else quantized


def save(spec, path: Path) -> None:
    """ct.utils.save_spec serializes the metadata map in whatever order the process's hash map holds it: two
    runs gave logically equal files with different bytes (measured). Sorted map entries make the bytes
    reproducible."""
    path.write_bytes(spec.SerializeToString(deterministic=True))


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    spec = _convert(job)
    details = CoreMLDetails(int(spec.specificationVersion), MINIMUM_DEPLOYMENT, "cpuOnly")
    fp32_path, int8_path = out_dir / "ranker_fp32.mlmodel", out_dir / "ranker_int8.mlmodel"
    save(spec, fp32_path)
    save(_quantize_8bit(spec), int8_path)
    return [Artifact(path=fp32_path, format=FORMAT, precision="fp32", notes="NeuralNetwork, float32 weights",
                     details=details),
            Artifact(path=int8_path, format=FORMAT, precision="int8", details=details,
                     notes="NeuralNetwork, 8-bit linear weights (per channel), float compute",
                     quantization_method="8-bit linear weights")]
