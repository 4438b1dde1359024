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

from ..core import typed
from ..core.files import write_json, write_text

REPORT = "quantization"
REPORT_VERSION = 1
THRESHOLD_DB = 20.0  # an int8 layer whose output keeps less signal than this over its error is named


@dataclass(frozen=True)
class LayerError:
    op: str
    tensor: str = field(metadata={"doc": "the op's output tensor, named as in the fp32 file"})
    dtype: str = field(metadata={"doc": "the output's type in the int8 file (float32 where the recipe kept it)"})
    snr_db: float | None = field(metadata={
        "doc": "10 log10(Σ fp32² / Σ (fp32 − int8)²) over the requests; null: no error at all"})
    cosine: float | None
    rmse: float
    max_abs_error: float
    scale: float = field(metadata={"doc": "the output's quantization scale; 0 for a float output"})
    zero_point: int


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


def weakest(layers: list[LayerError], threshold: float = THRESHOLD_DB) -> list[LayerError]:
    """The integer layers whose SNR is below the threshold, worst first."""
    return sorted((x for x in layers if x.scale > 0 and x.snr_db is not None and x.snr_db < threshold),
                  key=lambda x: x.snr_db)


def write(folder: Path, report: LayerReport) -> None:
    write_json(folder / f"{REPORT}.json", typed.dump(report))
    write_text(folder / f"{REPORT}.md", markdown(report))


def markdown(report: LayerReport) -> str:
    text = [f"# Where int8 loses precision, layer by layer\n\nEach int8 candidate's op outputs against the same "
            f"tensors of the fp32 file, both run in the runtime's builtin kernels on {report.requests} calibration "
            "requests (the error accumulates: a layer's figure includes what its inputs brought). SNR = 10 log10("
            "signal power / error power); \"exact\": no error. Layers whose tensors the fp32 file names otherwise "
            "(a quantization-aware model's) are left out. Every candidate's table is in "
            f"`{REPORT}.json`.\n"]
    for slot, candidates in report.files.items():
        shown = [c for c in candidates if c.shipped]
        most = max(candidates, key=lambda c: sum(x.scale > 0 for x in c.layers), default=None)
        if most is not None and most not in shown:
            shown.append(most)
        for c in shown:
            role = "ships" if c.shipped else "the most layers in int8"
            text.append(f"\n## `{slot}`: `{c.candidate}` ({role})\n")
            weak = weakest(c.layers, report.threshold_db)
            if weak:
                names = ", ".join(f"`{short(x.tensor)}` ({x.snr_db:.1f} dB)" for x in weak)
                text.append(f"int8 layers below {report.threshold_db:g} dB, worst first: {names}. To keep them in "
                            "float, a mixed recipe lists them in `float_layers` (regular expressions over these "
                            "names), e.g. `float_layers = [" + ", ".join(
                                f"'{re.escape(short(x.tensor))}'" for x in weak[:3]) + "]` (TOML literal strings)"
                            + (", or their op types in `float_ops`: a `tf.*` name carries a counter Keras sets per "
                               "process, so it can differ in the next run" if any(
                                   short(x.tensor).startswith("tf.") for x in weak) else "") + ".\n")
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
