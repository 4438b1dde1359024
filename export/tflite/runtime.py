"""LiteRT: the one place that creates interpreters and signature runners, for verification and benchmarks alike.

One invoke is what an app pays per request: copy the inputs in, run, copy the outputs out. TensorFlow is not
imported here, so a measuring process holds only the runtime it measures.
"""

from __future__ import annotations

from importlib.metadata import version as _dist_version
from pathlib import Path

import numpy as np

from ...core.errors import EdgeshipError, InputError, reading_model
from ..shims import quiet

RUNTIME = "litert"


def version() -> str:
    return f"ai-edge-litert {_dist_version('ai-edge-litert')}"


def load_library():
    """The maintained standalone interpreter class (tf.lite.Interpreter prints a deprecation notice); importing
    it loads the native library, so a benchmark can count that apart from loading a model."""
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def interpreter(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError, problem: str | None = None):
    """An interpreter for a file, made quietly (it announces its XNNPACK delegate on stderr). problem: how a
    failure is worded (default: not a readable file)."""
    with reading_model(path, "tflite", error, problem), quiet():
        return load_library()(model_path=str(path), num_threads=threads)


def signature_names(it) -> tuple[dict[int, str], dict[int, str]]:
    """Raw tensor index -> the signature's name, for inputs and outputs (one tensor can be both)."""
    ins, outs = {}, {}
    for key in it.get_signature_list():
        runner = it.get_signature_runner(key)
        ins.update({d["index"]: name for name, d in runner.get_input_details().items()})
        outs.update({d["index"]: name for name, d in runner.get_output_details().items()})
    return ins, outs


class Session:
    """A loaded file: `invoke(feeds)` -> outputs in file order (the timed path), `run(feeds)` -> by name."""

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        it = interpreter(path, threads, error=error, problem=f"{RUNTIME} cannot load it")
        in_names, out_names = signature_names(it)
        with quiet():  # the XNNPACK delegate announces itself here
            it.allocate_tensors()
        self._inputs = [(in_names.get(d["index"], d["name"]), d["index"]) for d in it.get_input_details()]
        self.output_names = [out_names.get(d["index"], d["name"]) for d in it.get_output_details()]
        self._outputs = [d["index"] for d in it.get_output_details()]
        self._set, self._run, self._get = it.set_tensor, it.invoke, it.get_tensor

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        for name, index in self._inputs:
            self._set(index, feeds[name])
        self._run()
        return [self._get(i) for i in self._outputs]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.invoke(feeds)))


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    """error: what a file LiteRT cannot load is to the caller (bad input, or a broken bundle)."""
    return Session(path, threads, error)
