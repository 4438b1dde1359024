"""The one registry of model formats: the instances each format's folder defines (export/format.py says what a
format implements). Everything that needs to know which formats exist asks it; nothing else names a format."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import InputError
from .coreml import FORMAT as COREML
from .format import Format
from .mlprogram import FORMAT as MLPROGRAM
from .onnx import FORMAT as ONNX
from .ort import FORMAT as ORT
from .tflite import FORMAT as TFLITE

# In export order: a format comes after the formats it needs.
FORMATS: dict[str, Format] = {f.name: f for f in (TFLITE, ONNX, COREML, MLPROGRAM, ORT)}
NAMES = tuple(FORMATS)


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(f"unknown format {name!r} (expected one of: {', '.join(NAMES)})") from None


def for_path(path: Path) -> Format | None:
    suffix = Path(path).suffix.lower()
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)


def suffixes() -> str:
    """'.tflite, .onnx, .mlmodel, .mlpackage or .ort' for messages."""
    s = [f.suffix for f in FORMATS.values()]
    return ", ".join(s[:-1]) + " or " + s[-1]
