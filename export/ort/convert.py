"""The shipped int8 .onnx in ORT format, made by ONNX Runtime's own converter, plus required_operators.config.

The converter writes its outputs and a temporary folder beside its input, and names the source path in the
config's comments: it runs on a copy in a temporary folder, and the config is rewritten without those paths so
that the same model gives the same bytes. Its kernel type table comes out in an order that follows addresses in
the process (a hash map's); canonical.py writes it sorted, so the same model gives the same file from any process
and installation."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ...core.errors import EdgeshipError, one_line
from ...core.files import sha256
from .. import shims
from ..types import Artifact, Derived, ExportJob
from . import REQUIRED_OPERATORS, TARGET_PLATFORM
from .canonical import canonical
from .record import OrtDetails

FORMAT = "ort"


def convert_file(source: Path, out: Path, config: Path | None = None) -> None:
    """source .onnx -> out .ort (and the operator config, when asked), through onnxruntime.tools."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.onnx"
        shutil.copyfile(source, src)
        try:
            with shims.quiet():  # it prints a line per step
                convert_onnx_models_to_ort(src, output_dir=Path(tmp) / "out", target_platform=TARGET_PLATFORM,
                                           optimization_styles=[OptimizationStyle.Fixed])
        except Exception as e:
            raise EdgeshipError(f"ONNX Runtime's ORT-format converter failed on {source.name}: {one_line(e)}") from None
        out.write_bytes(canonical((Path(tmp) / "out" / "model.ort").read_bytes()))
        if config is not None:
            made = (Path(tmp) / "out" / "model.required_operators.config").read_text().splitlines()
            ops = [line for line in made if line and not line.startswith("#")]
            config.write_text(f"# Operators of {out.name}: build ONNX Runtime Mobile with "
                              f"--include_ops_by_config {config.name}\n" + "\n".join(ops) + "\n")


def export(job: ExportJob, out_dir: Path, derived: Derived) -> list[Artifact]:
    source = derived.shipped("onnx", "int8")
    if source is None:
        return []
    path, config = out_dir / "ranker_int8.ort", out_dir / REQUIRED_OPERATORS
    convert_file(source, path, config)
    details = OrtDetails(derived_from=source.name, target_platform=TARGET_PLATFORM, optimization="Fixed, all",
                         required_operators=config.name, required_operators_sha256=sha256(config))
    return [Artifact(path=path, format=FORMAT, precision="int8", details=details,
                     notes=f"ORT format of {source.name} for ONNX Runtime Mobile (optimized for {TARGET_PLATFORM})",
                     quantization_method="as the .onnx it comes from")]
