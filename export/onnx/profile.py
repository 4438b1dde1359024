"""Where ONNX Runtime's time goes in an .onnx or .ort file, per operator type: its own profiler, one thread.

The profiler adds its own cost per node, so its µs are above a plain invoke's: read the shares.
"""

from __future__ import annotations

import collections
import json
import tempfile
from pathlib import Path

import numpy as np

METHOD = "ONNX Runtime's profiler, 1 thread: kernel time of every node summed by operator type"


def by_op(path: Path, feeds: dict[str, np.ndarray], rounds: int = 15, invokes: int = 100
          ) -> tuple[float, list[tuple[str, int, float]]]:
    """(kernel µs per run, [(operator type, nodes per run, µs per run)] most expensive first)."""
    import onnxruntime as ort

    runs = rounds * invokes
    with tempfile.TemporaryDirectory(prefix="edgeship-profile-") as scratch:
        options = ort.SessionOptions()
        options.enable_profiling = True
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.profile_file_prefix = str(Path(scratch) / Path(path).name)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
        for _ in range(runs):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    spent, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            spent[e["args"]["op_name"]] += e["dur"]
            count[e["args"]["op_name"]] += 1
    return sum(spent.values()) / runs, [(op, count[op] // runs, us / runs) for op, us in spent.most_common()]
