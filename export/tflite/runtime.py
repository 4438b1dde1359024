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
from . import L2, SCORING_SIGNATURES, TRAINABLE_SIGNATURES

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


def _load(path: Path, threads: int, error: type[EdgeshipError]):
    """An interpreter to run the file with (a failure here means LiteRT cannot load it, not that it is unreadable)."""
    return interpreter(path, threads, error=error, problem=f"{RUNTIME} cannot load it")


def feed_by_name(it, feeds: dict[str, np.ndarray]) -> None:
    """Set every input of an interpreter built without signatures (a prefix, a file kept whole for inspection)
    from feeds keyed by the contract's names: the converter names each input tensor after its input."""
    for d in it.get_input_details():
        name = next(k for k in feeds if d["name"].split(":")[0].endswith(k))
        it.set_tensor(d["index"], np.asarray(feeds[name]).astype(d["dtype"]))


def signature_names(it) -> tuple[dict[int, str], dict[int, str]]:
    """Raw tensor index -> the signature's name, for inputs and outputs (one tensor can be both)."""
    ins, outs = {}, {}
    for key in it.get_signature_list():
        runner = it.get_signature_runner(key)
        ins.update({d["index"]: name for name, d in runner.get_input_details().items()})
        outs.update({d["index"]: name for name, d in runner.get_output_details().items()})
    return ins, outs


def scoring_signature(it) -> str | None:
    """The signature that scores a request: serving_default, else infer (a trainable file), else the only one."""
    keys = list(it.get_signature_list())
    return next((k for k in SCORING_SIGNATURES if k in keys), keys[0] if keys else None)


def tensor_details(it) -> tuple[list[dict], list[dict]]:
    """Input and output details of the scoring signature, named as that signature names them. A file with one
    signature: the interpreter's own tensors (also where a foreign file has no signature at all)."""
    keys = list(it.get_signature_list())
    if len(keys) > 1:
        runner = it.get_signature_runner(scoring_signature(it))
        return ([{**d, "name": n} for n, d in runner.get_input_details().items()],
                [{**d, "name": n} for n, d in runner.get_output_details().items()])
    in_names, out_names = signature_names(it)
    return ([{**d, "name": in_names.get(d["index"], d["name"])} for d in it.get_input_details()],
            [{**d, "name": out_names.get(d["index"], d["name"])} for d in it.get_output_details()])


class Session:
    """A loaded file with one signature, driven through the interpreter's tensors directly (the cheapest call):
    `invoke(feeds)` -> outputs in file order (the timed path), `run(feeds)` -> by name."""

    def __init__(self, it):
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


class RunnerSession(Session):
    """A file with several signatures (a trainable file): its scoring signature lives in a subgraph of its own,
    reached only through that signature's runner."""

    def __init__(self, it):
        self._runner = it.get_signature_runner(scoring_signature(it))
        self._names = list(self._runner.get_input_details())
        self.output_names = list(self._runner.get_output_details())

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._runner(**{n: feeds[n] for n in self._names})

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.run(feeds).values())


def open_session(path: Path, threads: int = 1, error: type[EdgeshipError] = InputError) -> Session:
    """error: what a file LiteRT cannot load is to the caller (bad input, or a broken bundle)."""
    it = _load(path, threads, error)
    return RunnerSession(it) if len(it.get_signature_list()) > 1 else Session(it)


class Trainer:
    """A trainable file as the app drives it: all signature runners of one interpreter share its variables, so
    `train` followed by `infer` sees the update."""

    runs_in = "LiteRT on the shipped file"
    l2 = L2
    # the study's rates times 0.1: a Newton step's natural rate is 1 (0.03 ... 3 tried by default)
    learning_rate_scale = 0.1

    def __init__(self, path: Path, threads: int = 1, error: type[EdgeshipError] = InputError):
        it = _load(path, threads, error)
        missing = [s for s in TRAINABLE_SIGNATURES if s not in it.get_signature_list()]
        if missing:
            raise error(f"{path}: not a trainable file (no {missing[0]!r} signature)")
        self._infer, self._train, self._reset, self._get, self._set = (
            it.get_signature_runner(s) for s in TRAINABLE_SIGNATURES)
        self._in = list(self._infer.get_input_details())

    def scores(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._infer(**{n: feeds[n] for n in self._in})["scores"]

    def train(self, feeds: dict[str, np.ndarray], labels: np.ndarray, mask: np.ndarray, learning_rate: float
              ) -> float:
        out = self._train(**{n: feeds[n] for n in self._in}, labels=np.asarray(labels, np.float32).reshape(1, -1),
                          mask=np.asarray(mask, np.float32).reshape(1, -1),
                          learning_rate=np.array([learning_rate], np.float32))
        return float(out["loss"][0])

    def reset(self) -> None:
        self._reset()

    def get_weights(self) -> dict[str, np.ndarray]:
        return dict(self._get())

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self._set(**weights)


COMPILED_API = "CompiledModel (ai_edge_litert.compiled_model, CPU)"
_ENVIRONMENT = []  # the one LiteRT environment of this process (each one logs every accelerator it destroys)


def _environment():
    """Made once, quietly, and released quietly at exit: a CompiledModel's environment registers and destroys
    its accelerators (CPU, GPU, NPU) with a line each on stderr, which `edgeship run` would print per file."""
    if not _ENVIRONMENT:
        import atexit

        with quiet():
            from ai_edge_litert.compiled_model import _create_default_environment

            _ENVIRONMENT.append(_create_default_environment())
        atexit.register(_release_environment)
    return _ENVIRONMENT[0]


def _release_environment() -> None:
    """At exit. LiteRT destroys its accelerator registry after Python has finished, with a line per accelerator
    on stderr: once the process is only tearing down, its stderr goes to /dev/null."""
    import gc
    import os
    import sys

    with quiet():
        _ENVIRONMENT.clear()
        gc.collect()
    try:
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    except (OSError, ValueError):  # no real descriptor (a captured stream): nothing to silence
        pass


class CompiledSession:
    """The same file through LiteRT's CompiledModel API, the one LiteRT now recommends (the Interpreter above
    is kept for compatibility): tensor buffers made once, written and read per call."""

    def __init__(self, path: Path, threads: int = 1):
        with quiet():  # it announces every accelerator it registers or cannot find (NPU, OpenVINO) on stderr
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.cpu_options import CpuOptions
            from ai_edge_litert.options import Options

            options = Options(cpu_options=CpuOptions(num_threads=threads))
            self._model = CompiledModel.from_file(str(path), environment=_environment(), options=options)
        signatures = self._model.get_signature_list()
        key = next(k for k in (*SCORING_SIGNATURES, *signatures) if k in signatures)
        self._index = self._model.get_signature_index(key)
        self._names = signatures[key]["inputs"]
        self._in = self._model.create_input_buffers(self._index)
        self._out = self._model.create_output_buffers(self._index)
        details = self._model.get_output_tensor_details(key)
        self._size = int(np.prod(next(iter(details.values()))["shape"]))

    def invoke(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.scores(feeds)]

    def close(self) -> None:
        with quiet():
            self._in = self._out = self._model = None

    def scores(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        for buffer, name in zip(self._in, self._names):
            buffer.write(np.ascontiguousarray(feeds[name]))
        self._model.run_by_index(self._index, self._in, self._out)
        return self._out[0].read(self._size, np.float32)
