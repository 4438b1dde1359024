"""Where LiteRT's time goes in a .tflite, per op type, without a profiler (the Python wheel has none).

The file is cut into its N prefixes (the first n ops, the last one's outputs as the model's outputs); all run
in LiteRT with XNNPACK and one thread on the same request, interleaved round by round, and op n is charged the
median invoke of prefix n minus that of prefix n-1. XNNPACK partitions each prefix as a model of its own, and
single differences are noisy (they can be negative): the sums by op type are what to read.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np

from .inspect import nodes
from .runtime import feed_by_name

METHOD = "LiteRT, XNNPACK, 1 thread: median invoke of each prefix of the graph minus the previous prefix's"


def prefixes(data: bytes) -> tuple[list[str], list[bytes]]:
    """The op types of the first subgraph and one model per prefix of its ops (the last one: the whole graph)."""
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.tools import flatbuffer_utils

    kinds = [op for op, _ in nodes(data)]
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    model.signatureDefs, model.metadata = [], []  # a prefix has other outputs than the signature names
    sg = model.subgraphs[0]
    ops = list(sg.operators)
    models = []
    for n in range(1, len(ops) + 1):
        sg.operators, sg.outputs = ops[:n], list(ops[n - 1].outputs)
        models.append(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    return kinds, models


def by_op(path: Path, feeds: dict[str, np.ndarray], rounds: int = 15, invokes: int = 100
          ) -> tuple[float, list[tuple[str, int, float]]]:
    """(µs per invoke of the whole graph, [(op type, ops, µs)] most expensive first)."""
    from ai_edge_litert.interpreter import Interpreter

    kinds, models = prefixes(Path(path).read_bytes())
    interpreters = []
    for data in models:
        it = Interpreter(model_content=data, num_threads=1)
        it.allocate_tensors()
        feed_by_name(it, feeds)
        interpreters.append(it)
    times = [[] for _ in interpreters]
    for _ in range(rounds):
        for i, it in enumerate(interpreters):
            started = time.perf_counter()
            for _ in range(invokes):
                it.invoke()
            times[i].append((time.perf_counter() - started) / invokes * 1e6)
    medians = [float(np.median(t)) for t in times]
    spent, previous = collections.Counter(), 0.0
    for kind, m in zip(kinds, medians):
        spent[kind] += m - previous
        previous = m
    count = collections.Counter(kinds)
    return medians[-1], [(op, count[op], us) for op, us in spent.most_common()]
