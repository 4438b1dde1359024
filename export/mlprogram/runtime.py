"""Running a .mlpackage: Core ML itself on macOS; elsewhere the independent NumPy executor of the MIL program
(mil.py), which reads only the saved package, never the Keras model. The session is the .mlmodel's, loaded
otherwise."""

from __future__ import annotations

import platform
from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model
from .. import shims
from ..coreml import runtime as coreml

RUNTIME = "coreml" if platform.system() == "Darwin" else "coreml-mil-numpy"
load_library = coreml.load_library


def version() -> str:
    executor = "Core ML" if platform.system() == "Darwin" else "edgeship NumPy executor of the MIL program"
    return f"{executor}; coremltools {_dist_version('coremltools')}"


class Session(coreml.Session):
    """A loaded package: `run(feeds)` -> outputs by name; `invoke` gives them in the model's order."""

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        from .mil import Executor

        with reading_model(path, "Core ML package", error, "the NumPy executor cannot run it"):
            executor = Executor(path, error)
        self.output_names = executor.output_names
        if platform.system() == "Darwin":
            ct = shims.import_coremltools()
            with reading_model(path, "Core ML package", error, "Core ML cannot load it"):
                model = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)
            self._predict = lambda feeds: {k: np.asarray(v) for k, v in model.predict(feeds).items()}
        else:
            self._predict = executor


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    return Session(path, threads, error)
