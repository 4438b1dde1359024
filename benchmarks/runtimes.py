"""The two CPU runtimes the harness measures, behind one call shape: open(path, threads) -> invoke(feeds).

One invoke is what an app pays per request: copy the inputs in, run, copy the scores out. Neither TensorFlow nor
the converters are imported here, so a measuring process holds only the runtime it measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..export._shims import litert_interpreter, litert_interpreter_class, quiet

Invoke = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


def open_litert(path: Path, threads: int) -> Invoke:
    interpreter = litert_interpreter(path, threads)
    names = {}
    for sig in interpreter.get_signature_list():
        for name, d in interpreter.get_signature_runner(sig).get_input_details().items():
            names[d["index"]] = name
    with quiet():  # the XNNPACK delegate announces itself here
        interpreter.allocate_tensors()
    inputs = [(names.get(d["index"], d["name"]), d["index"]) for d in interpreter.get_input_details()]
    outputs = [d["index"] for d in interpreter.get_output_details()]
    set_tensor, run, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor

    def invoke(feeds):
        for name, index in inputs:
            set_tensor(index, feeds[name])
        run()
        return [get_tensor(i) for i in outputs]

    return invoke


def open_onnxruntime(path: Path, threads: int) -> Invoke:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # ORT's pool threads spin-wait after a run by default; in an interleaved benchmark that idle spinning would
    # steal the CPU from the worker being timed next, so it is off (a device app may gain a little with it on)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    run = session.run

    def invoke(feeds):
        return run(None, feeds)

    return invoke


OPENERS = {"litert": open_litert, "onnxruntime": open_onnxruntime}


def import_runtime(runtime: str) -> None:
    """Import a runtime's native library up front, so its cost is not counted as the model's load time."""
    if runtime == "litert":
        litert_interpreter_class()
    else:
        import onnxruntime  # noqa: F401


def version(runtime: str) -> str:
    from importlib.metadata import version as dist_version

    return {"litert": f"ai-edge-litert {dist_version('ai-edge-litert')}",
            "onnxruntime": f"onnxruntime {dist_version('onnxruntime')}"}[runtime]
