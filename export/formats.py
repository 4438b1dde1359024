"""The one registry of model formats. Everything that needs to know which formats exist asks it.

Each format has a home, `edgeship.export.<name>`, with the same parts:
  convert   export(job, out_dir, derived) -> list[Artifact]     (imports the heavy converter)
  runtime   RUNTIME, version(), load_library(), open_session(path, threads) -> Session  (the one way to run a file)
  inspect   signature(path) -> Signature, facts(path) -> ModelFacts                 (read from the file alone)
  identity  write(inputs, path): a model with the same inputs and no computation   (formats benchmarks can time)
  personal  export(job, out_dir, derived) -> Artifact: the file that learns on the device; its runtime then has
            Trainer(path) with scores / train / reset / get_weights / set_weights   (formats with personal=True)
Parts are imported lazily: a benchmark worker holds only the runtime it measures, never TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from ..core.errors import InputError


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    title: str  # how people call it
    needs: tuple[str, ...] = ()  # formats whose shipped files this one converts from (exported before it)
    timed: bool = True  # benchmarks can time it on this host (has an identity model and a CPU runtime here)
    personal: bool = False  # has a part `personal`: a file that learns its user on the device

    def part(self, name: str):
        return import_module(f"{__package__}.{self.name}.{name}")

    @property
    def convert(self):
        return self.part("convert")

    @property
    def runtime(self):
        return self.part("runtime")

    @property
    def inspect(self):
        return self.part("inspect")

    @property
    def identity(self):
        return self.part("identity")


# In export order: a format comes after the formats it needs (the int8 .onnx is the shipped int8 .tflite).
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("tflite", ".tflite", "TensorFlow Lite", personal=True),
    Format("onnx", ".onnx", "ONNX", needs=("tflite",)),
    # Core ML predicts only on Apple platforms; elsewhere its files are checked by a NumPy executor of the
    # saved spec, which is exact but says nothing about Core ML's speed, so benchmarks do not time it
    Format("coreml", ".mlmodel", "Core ML", timed=False, personal=True),
    Format("ort", ".ort", "ORT format (ONNX Runtime Mobile)", needs=("onnx",)),
)}
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
    """'.tflite, .onnx, .mlmodel or .ort' for messages."""
    s = [f.suffix for f in FORMATS.values()]
    return ", ".join(s[:-1]) + " or " + s[-1]
