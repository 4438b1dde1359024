"""LiteRT's time per op type, from prefixes of the graph (the Python wheel has no op profiler)."""

import json

import numpy as np

from edgeship.export.formats import FORMATS
from edgeship.export.parity import scorer
from edgeship.export.tflite.profile import prefixes


def test_the_prefixes_cut_the_graph_and_the_longest_is_the_file(reference_bundle):
    from ai_edge_litert.interpreter import Interpreter

    path = reference_bundle / "ranker_int8.tflite"
    kinds, models = prefixes(path.read_bytes())
    assert len(kinds) == len(models) > 5
    case = json.loads((reference_bundle / "testvectors.json").read_text())["cases"][0]["inputs"]
    feeds = {k: np.asarray(v, np.float32 if k == "candidate_features" else np.int32) for k, v in case.items()}
    it = Interpreter(model_content=models[-1])
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], feeds[next(k for k in feeds if d["name"].split(":")[0].endswith(k))])
    it.invoke()
    whole = it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)
    np.testing.assert_array_equal(whole, np.asarray(scorer("tflite", path)(feeds)).reshape(-1))
    method, (total, ops) = FORMATS["tflite"].op_profile(path, feeds, rounds=2, invokes=3)
    assert "prefix" in method and total > 0
    assert sum(n for _, n, _ in ops) == len(kinds)  # every op charged to its type
    assert abs(sum(us for _, _, us in ops) - total) < 1e-6  # the differences add up to the whole graph
