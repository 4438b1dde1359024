"""Running a .mlmodel: Core ML itself on macOS; elsewhere the independent NumPy executor in numpy_executor.py,
which reads only the saved file, never the Keras model."""

from __future__ import annotations

import platform
from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model
from .. import shims

RUNTIME = "coreml" if platform.system() == "Darwin" else "coreml-numpy"


def version() -> str:
    executor = "Core ML" if platform.system() == "Darwin" else "edgeship NumPy executor of the saved spec"
    return f"{executor}; coremltools {_dist_version('coremltools')}"


def load_library():
    return shims.import_coremltools() if platform.system() == "Darwin" else None


def read_spec(path: Path, error: type[EdgeshipError] = InputError):
    """The file's protobuf `Model`, parsed without importing TensorFlow."""
    spec = shims.coreml_model_proto()()
    with reading_model(path, "coreml", error):
        spec.ParseFromString(Path(path).read_bytes())
        if spec.WhichOneof("Type") is None:
            raise ValueError("no model in the file")
    return spec


class Session:
    """A loaded file: `run(feeds)` -> outputs by name; `invoke` gives them in the file's order."""

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        spec = read_spec(path, error)
        self.output_names = [o.name for o in spec.description.output]
        if platform.system() == "Darwin":
            ct = shims.import_coremltools()
            with reading_model(path, "coreml", error, "Core ML cannot load it"):
                model = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)
            self._predict = lambda feeds: {k: np.asarray(v) for k, v in model.predict(feeds).items()}
        else:
            from .numpy_executor import Executor

            with reading_model(path, "coreml", error, "the NumPy executor cannot run it"):
                self._predict = Executor(spec)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._predict(feeds)

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        out = self.run(feeds)
        return [out[n] for n in self.output_names]


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    return Session(path, threads, error)
