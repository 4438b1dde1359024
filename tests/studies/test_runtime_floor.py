"""studies/runtime_floor's parts: the chain models compute what they say in their runtimes, the node count is
the runtime's, and the line fit recovers a known cost. The study's figures are measurements (docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np
import pytest

from studies.runtime_floor import chain_onnx, chain_tflite, executed_nodes, fit

INPUTS = [("context", "int32", (1, 5)), ("candidate_features", "float32", (1, 4, 3))]


def _expected(x: np.ndarray, nodes: int) -> np.ndarray:
    prev = cur = x
    for _ in range(nodes):
        prev, cur = cur, cur + prev
    return cur


@pytest.mark.parametrize("make", [chain_onnx, chain_tflite])
def test_a_chain_of_n_adds_runs_n_nodes_and_computes_the_recurrence(make, tmp_path):
    from edgeship.export import formats

    path = make(tmp_path / f"chain{'.onnx' if make is chain_onnx else '.tflite'}", 5, INPUTS)
    x = np.arange(12, dtype=np.float32).reshape(1, 4, 3) / 7
    session = formats.for_path(path).open_session(path)
    (out,) = session.run({"context": np.zeros((1, 5), np.int32), "candidate_features": x}).values()
    np.testing.assert_allclose(out, _expected(x, 5), rtol=1e-6)
    assert executed_nodes(path) == 5


def test_the_line_fit_recovers_call_and_node_cost():
    call, node = fit([(n, 3.0 + 0.25 * n) for n in (1, 8, 16, 64)])
    assert call == pytest.approx(3.0) and node == pytest.approx(0.25)
