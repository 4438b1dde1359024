"""The exploration part of the suite: rankings, epsilons and the uniforms a client drew, and the slate and
propensities it must show and log (edgeship.ondevice.exploration). Written by `python -m clients.conformance`
into exploration.json; the hand-made cases' outcomes are stated here and checked against the reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "exploration.json"


def _cases() -> list[dict]:
    rng = np.random.default_rng(2026)
    made = [  # (name, order, slots, epsilon, draws, what a reader can check by hand)
        ("greedy: epsilon 0", [2, 0, 1, 3], 3, 0.0, [0.0, 0.5, 0.5, 0.5], {"shown": [2, 0, 1], "explored": False}),
        ("draw equal to epsilon does not explore", [1, 0, 2], 2, 0.25, [0.25, 0.1, 0.1],
         {"shown": [1, 0], "explored": False}),
        # explore with every shuffle draw 0: i=2 swaps with 0 ([2,1,0] from [0,1,2]), i=1 swaps with 0 ([1,2,0])
        ("explore, all shuffle draws 0", [0, 1, 2], 3, 0.5, [0.1, 0.0, 0.0], {"shown": [1, 2, 0], "explored": True}),
        # a draw just below 1 picks j = i: nothing moves
        ("explore, draws near 1 keep the order", [3, 1, 0, 2], 2, 1.0, [0.0, 0.999999, 0.999999, 0.999999],
         {"shown": [3, 1], "explored": True}),
        ("more slots than candidates", [1, 0], 5, 0.2, [0.9, 0.3], {"shown": [1, 0], "explored": False}),
        ("one candidate", [0], 3, 0.3, [0.1], {"shown": [0], "explored": True}),
    ]
    for i in range(8):  # random rankings, epsilons and draws
        n = int(rng.integers(2, 12))
        made.append((f"random {i}", [int(x) for x in rng.permutation(n)], int(rng.integers(1, 5)),
                     float(np.round(rng.uniform(0.05, 0.9), 3)), [float(u) for u in rng.random(n)], {}))
    return [{"name": name, "order": order, "slots": slots, "epsilon": eps, "draws": draws, "hand": hand}
            for name, order, slots, eps, draws, hand in made]


def document() -> dict:
    from edgeship.ondevice.exploration import explore

    cases = []
    for c in _cases():
        slate = explore(c["order"], c["slots"], c["epsilon"], c["draws"])
        expected = {"shown": list(slate.shown), "propensities": list(slate.propensities), "explored": slate.explored}
        for key, value in c.pop("hand").items():
            if expected[key] != value:
                raise AssertionError(f"exploration case {c['name']}: the reference gives {key} {expected[key]}, "
                                     f"worked out by hand: {value}")
        cases.append({**c, "expected": expected})
    from edgeship.ondevice.impressions import events, tap

    logging = []  # what a client writes for a ranked request (items as raw values: numbers, strings, booleans)
    for c, items, extra in ((cases[0], ["sku-2", 7, "sku-0", True], {"latency_ms": 2.5, "bucket": 0.0731}),
                            (cases[2], [12, 12.0 + 1, "x"], {"error": None, "model_version": "1.4.0",
                                                             "shadow": ["1.5.0", ["x", 12, 13.0]]})):
        slate = explore(c["order"], c["slots"], c["epsilon"], c["draws"])
        args = {"request_id": "r-1", "user": "u-9", "arm": "treatment", "policy": "model", "timestamp": 1764720000.5,
                "items": items, "epsilon": c["epsilon"], **extra}
        logging.append({"case": c["name"], "args": args,
                        "expected": events(**args, slate=slate) + [tap("r-1", items[slate.shown[0]], 1764720003.0)]})
    return {"format": "edgeship-exploration-conformance", "cases": cases, "logging": logging}


def write(path: Path = HERE) -> list[Path]:
    from edgeship.core.files import write_json

    write_json(path, document())
    return [path]


def read() -> dict:
    return json.loads(HERE.read_text())
