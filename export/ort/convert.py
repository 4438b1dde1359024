"""The shipped int8 .onnx in ORT format, made by ONNX Runtime's own converter, plus required_operators.config.

The converter writes its outputs and a temporary folder beside its input, and names the source path in the
config's comments: it runs on a copy in a temporary folder, and the config is rewritten without those paths so
that the same model gives the same bytes.

It also serializes the kernel type resolver from an absl hash map, whose iteration order follows a hash seed
taken from an address in the process: with address-space randomization, two conversions of the same model
differed in ~1,400 of 133 k bytes (the same entries in another order). So the converter runs in a fresh process
of its own (`python -m edgeship.export.ort.convert SRC OUT_DIR`) with randomization turned off for it alone
(personality(ADDR_NO_RANDOMIZE)), a fixed argv and environment, and one thread: the same model then gives the
same bytes from any caller of one installation. Another installation path (the interpreter's path lies on the
new process's stack) still orders the table differently, and where the kernel refuses the personality (some
sandboxes) the file is made with randomization: only its bytes vary, never what it computes."""

from __future__ import annotations

import contextlib
import ctypes
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ...core.errors import EdgeshipError
from ...core.files import sha256
from ..types import Artifact, Derived, ExportJob
from . import REQUIRED_OPERATORS, TARGET_PLATFORM
from .record import OrtDetails

FORMAT = "ort"


ADDR_NO_RANDOMIZE = 0x0040000  # linux/personality.h


def _without_aslr() -> None:  # runs in the child between fork and exec; the personality survives the exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).personality(ADDR_NO_RANDOMIZE)


def _convert_here(src: Path, out_dir: Path) -> None:
    from onnxruntime.tools import convert_onnx_models_to_ort as tool
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    made = tool._create_session_options

    def one_thread(*args):  # with a thread pool, the order of the heap (and of the table) followed the load
        options = made(*args)
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        return options

    tool._create_session_options = one_thread
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per step
        convert_onnx_models_to_ort(src, output_dir=out_dir, target_platform=TARGET_PLATFORM,
                                   optimization_styles=[OptimizationStyle.Fixed])


def convert_file(source: Path, out: Path, config: Path | None = None) -> None:
    """source .onnx -> out .ort (and the operator config, when asked), through onnxruntime.tools, in a process of
    its own without address randomization (the module docstring says why)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.onnx"
        shutil.copyfile(source, src)
        # the same argv and environment every time: the bytes followed the folder's name and the caller's variables
        done = subprocess.run([sys.executable, "-m", __name__, src.name, "out"], cwd=tmp, env={"PYTHONHASHSEED": "0"},
                              capture_output=True, text=True, preexec_fn=_without_aslr)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise EdgeshipError(f"ONNX Runtime's ORT-format converter failed on {source.name}: {last}")
        shutil.copyfile(Path(tmp) / "out" / "model.ort", out)
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


if __name__ == "__main__":
    _convert_here(Path(sys.argv[1]), Path(sys.argv[2]))
