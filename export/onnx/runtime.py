"""ONNX Runtime: the one place that creates InferenceSessions, with the same options for verification and for
benchmarks. TensorFlow is not imported here."""

from __future__ import annotations

from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model

RUNTIME = "onnxruntime"


def version() -> str:
    return f"onnxruntime {_dist_version('onnxruntime')}"


def load_library():
    import onnxruntime

    return onnxruntime


def _options(threads: int):
    ort = load_library()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # ORT's pool threads spin-wait after a run by default; in an interleaved benchmark that idle spinning would
    # steal the CPU from the worker being timed next, so it is off (a device app may gain a little with it on)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _session(path: Path, options, error: type[EdgeshipError]):
    ort = load_library()
    with reading_model(path, "onnx", error, f"{RUNTIME} cannot load it"):
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Session:
    """A loaded file: `invoke(feeds)` -> outputs in file order (the timed path), `run(feeds)` -> by name."""

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        session = _session(path, _options(threads), error)
        self.inputs, self.outputs = session.get_inputs(), session.get_outputs()  # ORT's NodeArg: name, type, shape
        self.input_names = [i.name for i in self.inputs]
        self.output_names = [o.name for o in self.outputs]
        self._run = session.run

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._run(None, feeds)

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # only the inputs the graph has: a converter may drop one the model never reads
        return dict(zip(self.output_names, self.invoke({n: feeds[n] for n in self.input_names})))


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    """error: what a file ONNX Runtime cannot load is to the caller (bad input, or a broken bundle)."""
    return Session(path, threads, error)


def save_ort_format(path: Path, out: Path) -> None:
    """The file as the ORT format the mobile packages load, then loaded back from it (raises if either fails)."""
    options = _options(1)
    options.optimized_model_filepath = str(out)
    options.add_session_config_entry("session.save_model_format", "ORT")
    _session(path, options, InputError)
    _session(out, _options(1), InputError)
