"""Core ML ML Programs (.mlpackage): fp32, 8-bit weights (W8), and 8-bit weights with 8-bit activations (W8A8)
calibrated on the same requests as the int8 .tflite. Int32 id inputs, output `scores` float32 [1, K]; fp32
compute (the W8A8 file: fp16 between its int8 activations)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...core.errors import one_line
from ...models.features import SCORES
from .. import shims
from ..about import describe_coreml
from ..types import Artifact, Derived, ExportJob
from . import COMPUTE_PRECISION, MINIMUM_DEPLOYMENT
from .package import make_reproducible, read_spec, shorten_names, write_spec
from .record import MLProgramDetails

FORMAT = "mlprogram"
# op types whose float weights become 8-bit (MIL const inputs of these ops), and how: the dense layers per
# output channel; the embedding tables per tensor, as the int8 .tflite does: per row, the item table's scales and
# zero points were 15 KB of the default W8A8 file's 131 KB (iOS 17's affine dequantize stores zero points even for
# symmetric data). The context id offsets are int32 constants and are never touched.
_WEIGHT_OPS = {"gather": "per_tensor", "linear": "per_channel", "matmul": "per_channel"}


def _config(ops: dict[str, str] | None = None, skip: tuple[str, ...] = ()):
    """8-bit symmetric linear quantization: of the weights of the given op types at the given granularity, or
    (no ops) of every activation pattern coremltools knows (the inputs of linear, conv, pools and of an add of two
    live tensors) except the ops named in skip."""
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig

    def config(granularity: str = "per_tensor"):
        return OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity=granularity,
                                       weight_threshold=0)

    return OptimizationConfig(global_config=None if ops else config(),
                              op_type_configs={t: config(g) for t, g in (ops or {}).items()} or None,
                              op_name_configs={name: None for name in skip} or None)


# the activation patterns of coremltools' insert_prefix_quantize_dequantize_pair (coremltools 9.0)
_ACTIVATION_OPS = ("conv", "avg_pool", "max_pool", "linear", "add")


def _integer_ops(executor, feeds) -> tuple[str, ...]:
    """Ops of those patterns that compute on integers (the ids' offset add): an 8-bit float quantize before
    them does not type-check, so they are left alone. A MIL op is named after its output."""
    values = executor.values(feeds)

    def integer(bound) -> bool:
        value = bound[1] if isinstance(bound, tuple) else values[bound]
        return np.issubdtype(np.asarray(value).dtype, np.integer)

    return tuple(outputs[0] for kind, outputs, args in executor.ops
                 if kind in _ACTIVATION_OPS and any(integer(b) for b in args.values() if not isinstance(b, list)))


def _convert(job: ExportJob, precision: str = COMPUTE_PRECISION):
    ct = shims.import_coremltools()
    inputs = [ct.TensorType(name=t.name, shape=t.shape, dtype=np.dtype(t.dtype).type) for t in job.inputs]
    with shims.quiet():
        # the scores stay float32 whatever the compute precision: the contract's output type for every file
        model = ct.convert(job.model, source="tensorflow", convert_to="mlprogram", inputs=inputs,
                           outputs=[ct.TensorType(dtype=np.float32)],
                           compute_precision={"fp32": ct.precision.FLOAT32, "fp16": ct.precision.FLOAT16}[precision],
                           minimum_deployment_target=getattr(ct.target, f"iOS{MINIMUM_DEPLOYMENT['iOS']}"))
        spec = model.get_spec()
        produced = spec.description.output[0].name
        if produced == SCORES:
            return model
        ct.utils.rename_feature(spec, produced, SCORES)
        return ct.models.MLModel(spec, weights_dir=model.weights_dir, skip_model_load=True)


def _save(model, path: Path, job: ExportJob) -> None:
    with shims.quiet():
        model.save(str(path))
    spec = read_spec(path)
    shorten_names(spec)
    if job.about is not None:
        describe_coreml(spec, job.about)
    else:
        spec.description.metadata.shortDescription = (
            f"edgeship ranker: scores {job.candidates} candidate items of one request")
    write_spec(path, spec)
    make_reproducible(path)


def _weights_8bit(model):
    from coremltools.optimize.coreml import linear_quantize_weights

    with shims.quiet():
        return linear_quantize_weights(model, _config(ops=_WEIGHT_OPS))


def _calibrated_by(executor, requests: list[dict[str, np.ndarray]]):
    """coremltools calibrates activations by running the model in Core ML (macOS only), and keeps each tensor's
    range of the last sample only (coremltools 9.0, _update_tensor_range / record_intermediate_output assign
    before they compare), and of integer tensors too, which its pass then wraps in float quantize ops that do
    not type-check (the ids' offset add). Here every float tensor's range is taken over all the requests, in the
    NumPy executor of the same program; coremltools' own rule then gives a concat's inputs and output one shared
    range."""
    from coremltools.optimize.coreml.experimental import _post_training_quantization as experimental
    from coremltools.optimize.coreml.experimental._model_debugger import ModelDebugger

    def stats(fpmodel, sample_data, group_size=-1):
        ranges: dict[str, dict[str, float]] = defaultdict(dict)
        outputs = set(executor.outputs)
        for feeds in requests:
            for name, value in executor.values(feeds).items():
                if name in executor.constants or name in outputs or not np.issubdtype(value.dtype, np.floating):
                    continue
                low, high = float(value.min()), float(value.max())
                r = ranges[name]
                r["rmin"], r["rmax"] = min(low, r.get("rmin", low)), max(high, r.get("rmax", high))
        concats = [group for group in ModelDebugger(fpmodel)._get_concat_op_info() if any(n in ranges for n in group)]
        experimental._adjust_concat_surrounding_activation_stats(concats, ranges)
        return ranges

    return shims.coreml_activation_stats(stats)


def _w8a8(job: ExportJob, requests: list[dict[str, np.ndarray]], scratch: Path):
    """From an fp16-compute program: coremltools' activation passes make fp16 scales whatever the program's
    precision (9.0: an fp32 program fails to type-check), and the Neural Engine, which runs W8A8 int8-int8,
    computes the rest in fp16 anyway."""
    ct = shims.import_coremltools()
    from coremltools.optimize.coreml import linear_quantize_activations

    from .mil import Executor

    with shims.quiet():
        _convert(job, "fp16").save(str(scratch))
    model = ct.models.MLModel(str(scratch), skip_model_load=True)
    executor = Executor(scratch)
    with _calibrated_by(executor, requests), shims.quiet():
        activations = linear_quantize_activations(model, _config(skip=_integer_ops(executor, requests[0])),
                                                  sample_data=requests)
    return _weights_8bit(activations)


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    model = _convert(job)
    requests = [{k: np.asarray(v) for k, v in r.items()} for r in job.calibration()]
    paths = {name: out_dir / f"ranker_{name}.mlpackage" for name in ("fp32", "int8", "w8a8")}
    _save(model, paths["fp32"], job)
    _save(_weights_8bit(model), paths["int8"], job)
    scratch = out_dir / ".ranker_w8a8_fp16.mlpackage"
    try:
        _save(_w8a8(job, requests, scratch), paths["w8a8"], job)
        w8a8_failed = None
    except Exception as e:  # the W8A8 path is experimental in coremltools: its failure loses only this file
        shutil.rmtree(paths["w8a8"], ignore_errors=True)
        w8a8_failed = one_line(e, 300)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    spec_version = int(read_spec(paths["fp32"]).specificationVersion)

    def details(weights: int, activations: int, compute: str = COMPUTE_PRECISION) -> MLProgramDetails:
        return MLProgramDetails(spec_version, MINIMUM_DEPLOYMENT, compute, weights, activations)

    made = [Artifact(path=paths["fp32"], format=FORMAT, precision="fp32", details=details(32, 32),
                     notes="ML Program, float32 weights, fp32 compute, int32 ids"),
            Artifact(path=paths["int8"], format=FORMAT, precision="int8", details=details(8, 32),
                     notes="ML Program, 8-bit symmetric weights (dense layers per channel, tables per tensor), "
                           "fp32 compute",
                     quantization_method="8-bit linear weights")]
    w8a8 = Artifact(path=paths["w8a8"], format=FORMAT, precision="int8", details=details(8, 8, "fp16"),
                    notes=f"ML Program, W8A8: 8-bit weights, 8-bit activations calibrated on {len(requests)} requests "
                          "(quantize / dequantize pairs the Neural Engine may run int8-int8), fp16 compute",
                    quantization_method="W8A8 (8-bit weights, 8-bit activations)", failed=w8a8_failed)
    return made + [w8a8]
