"""quantization.json / quantization.md: where each int8 candidate loses precision, layer by layer.

A format that can compare an int8 file with its fp32 file op by op (Format.layer_errors) gets one table per
candidate of each int8 slot, on the calibration requests. The Markdown shows the shipped candidate and the
fully quantized one (where a mixed recipe starts) and names the int8 layers below THRESHOLD_DB: the first to
try in a recipe's `float_layers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import typed
from ..core.files import write_json, write_text

REPORT = "quantization"
REPORT_VERSION = 1
INSIDE = "float32 (int8 inside)"  # a layer the quantizer rewrote whose output stays float (ONNX dynamic, tables)
THRESHOLD_DB = 20.0  # an int8 layer whose output keeps less signal than this over its error is named


@dataclass(frozen=True)
class LayerError:
    op: str
    tensor: str = field(metadata={"doc": "the op's output tensor, named as in the fp32 file"})
    dtype: str = field(metadata={"doc": "the output's type in the int8 file (float32 where the recipe kept it; "
                                        f"{INSIDE!r}: rewritten to int8 arithmetic with a float output)"})
    snr_db: float | None = field(metadata={
        "doc": "10 log10(Σ fp32² / Σ (fp32 − int8)²) over the requests; null: no error at all"})
    cosine: float | None
    rmse: float
    max_abs_error: float
    scale: float = field(metadata={"doc": "the output's quantization scale; 0 for a float output"})
    zero_point: int


def measured(op: str, tensor: str, dtype: str, sums, values: int, scale: float, zero_point: int) -> LayerError:
    """One layer's record from its sums over the requests: sums = (Σ fp32², Σ (fp32 − int8)², Σ fp32·int8,
    Σ int8², max |fp32 − int8|) over `values` compared numbers."""
    ff, ee, fq, qq, worst = (float(x) for x in sums)
    return LayerError(
        op=op, tensor=tensor, dtype=dtype,
        # None: no error at all (an exact op), where the SNR is infinite
        snr_db=round(float(10 * np.log10(ff / ee)), 2) if ee > 0 and ff > 0 else None,
        cosine=round(float(fq / np.sqrt(ff * qq)), 6) if ff > 0 and qq > 0 else None,
        rmse=round(float(np.sqrt(ee / max(values, 1))), 6), max_abs_error=round(worst, 6),
        scale=round(float(scale), 8), zero_point=int(zero_point))


@dataclass(frozen=True)
class CandidateLayers:
    candidate: str = field(metadata={"doc": "the recipe's name (manifest.json quantization)"})
    shipped: bool
    layers: list[LayerError]


@dataclass(frozen=True)
class LayerReport:
    schema_version: int = field(metadata={"choices": (REPORT_VERSION,)})
    requests: int = field(metadata={"doc": "calibration requests both files ran"})
    threshold_db: float
    files: dict[str, list[CandidateLayers]] = field(metadata={"doc": "per int8 file name, each candidate"})


def short(tensor: str) -> str:
    """A layer's name as a recipe's float_layers would match it: the first fused name, without the model's."""
    first = tensor.split(";")[0]
    parts = first.split("/")
    return parts[1] if len(parts) > 2 else first


def quantized(x: LayerError) -> bool:
    """Whether the recipe put the layer in int8 (its output, or its arithmetic)."""
    return x.scale > 0 or x.dtype == INSIDE


def weakest(layers: list[LayerError], threshold: float = THRESHOLD_DB) -> list[LayerError]:
    """The quantized layers whose SNR is below the threshold, worst first."""
    return sorted((x for x in layers if quantized(x) and x.snr_db is not None and x.snr_db < threshold),
                  key=lambda x: x.snr_db)


def write(folder: Path, report: LayerReport) -> None:
    write_json(folder / f"{REPORT}.json", typed.dump(report))
    write_text(folder / f"{REPORT}.md", markdown(report))


def _advice(slot: str, weak: list[LayerError], threshold: float) -> str:
    """Which recipe key keeps the weak layers in float, in the words of the slot's format."""
    names = ", ".join(f"`{short(x.tensor)}` ({x.snr_db:.1f} dB)" for x in weak)
    example = "float_layers = [" + ", ".join(f"'{re.escape(short(x.tensor))}'" for x in weak[:3]) + "]"
    if slot.endswith(".onnx"):
        return (f"int8 layers below {threshold:g} dB, worst first: {names}. An ONNX Runtime recipe (qdq, qoperator, "
                f"dynamic) keeps their nodes in float with `{example}` (regular expressions over the fp32 graph's "
                "tensor names, TOML literal strings; the names count positions in the graph, so a changed model "
                "renames them), or by op type with `int8_ops`.\n")
    tf_names = any(short(x.tensor).startswith("tf.") for x in weak)
    return (f"int8 layers below {threshold:g} dB, worst first: {names}. To keep them in float, a mixed recipe lists "
            f"them in `float_layers` (regular expressions over these names), e.g. `{example}` (TOML literal strings)"
            + (", or their op types in `float_ops`: a `tf.*` name carries a counter Keras sets per process, so it "
               "can differ in the next run" if tf_names else "") + ".\n")


def markdown(report: LayerReport) -> str:
    text = [f"# Where int8 loses precision, layer by layer\n\nEach int8 candidate's op outputs against the same "
            f"tensors of the fp32 file, both run on {report.requests} calibration requests: .tflite files in "
            "LiteRT's builtin kernels with every tensor kept, .onnx files by ONNX Runtime's own quantization "
            "debugger (`qdq_loss_debug`, graph optimizations off; a QDQ tensor is compared after its "
            "quantize-dequantize pair). The error accumulates: a layer's figure includes what its inputs brought. "
            "SNR = 10 log10(signal power / error power); \"exact\": no error. Layers whose tensors the fp32 file "
            "names otherwise (a quantization-aware model's, an .onnx converted from the .tflite) are left out. "
            f"Every candidate's table is in `{REPORT}.json`.\n"]
    for slot, candidates in report.files.items():
        shown = [c for c in candidates if c.shipped]
        most = max(candidates, key=lambda c: sum(map(quantized, c.layers)), default=None)
        if most is not None and most not in shown:
            shown.append(most)
        for c in shown:
            role = "ships" if c.shipped else "the most layers in int8"
            text.append(f"\n## `{slot}`: `{c.candidate}` ({role})\n")
            weak = weakest(c.layers, report.threshold_db)
            if weak:
                text.append(_advice(slot, weak, report.threshold_db))
            elif not c.layers:
                text.append("No tensor of this file has its fp32 name: nothing to compare.\n")
                continue
            else:
                text.append(f"No int8 layer below {report.threshold_db:g} dB.\n")
            text.append("\n| # | op | layer | dtype | SNR dB | cosine | RMSE | scale |")
            text.append("|---:|---|---|---|---:|---:|---:|---:|")
            for i, x in enumerate(c.layers):
                snr = "exact" if x.snr_db is None else f"{x.snr_db:.1f}"
                cos = "–" if x.cosine is None else f"{x.cosine:.4f}"
                scale = f"{x.scale:.4g}" if x.scale else ("float" if x.dtype.startswith("float") else "–")
                text.append(f"| {i} | {x.op} | `{short(x.tensor)}` | {x.dtype} | {snr} | {cos} | {x.rmse:.4g} "
                            f"| {scale} |")
    return "\n".join(text) + "\n"
