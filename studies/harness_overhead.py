"""What the harness itself adds to each measured invoke. `python -m studies.harness_overhead --bundle DIR`

Side by side in one process, with the worker's own timing loop (`worker.timed`), medians of interleaved rounds:
  - a no-op Python callable: the timer reads, the loop and the list append — the harness's cost per invoke;
  - the identity model in each runtime: the runtime's per-call floor (inputs in, run, output out);
  - the bundle's int8 files: the model.
Also the cost of one round's request/reply over the worker pipe, which is outside the timed region.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeship.benchmarks.harness import Worker, bundle_targets
from edgeship.benchmarks.records import Group, Measurement
from edgeship.benchmarks.worker import timed
from edgeship.core.tensors import synthesize
from edgeship.export import formats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--invokes", type=int, default=200)
    args = p.parse_args(argv)
    if not (args.bundle / "manifest.json").is_file():
        print(f"{args.bundle}: no bundle; run `make run` first", file=sys.stderr)
        return 2
    targets = [t for t in bundle_targets(args.bundle)[0] if t.signature is not None and t.precision == "int8"]
    with tempfile.TemporaryDirectory() as tmp:
        calls = {"no-op callable (harness only)": (lambda feeds: None, {})}
        for t in targets:
            fmt = formats.get(t.format)
            runtime = fmt.runtime
            feeds = synthesize(t.signature.inputs)
            ident = fmt.write_identity(t.signature.inputs, Path(tmp) / f"identity{fmt.suffix}")
            calls[f"identity model [{runtime}]"] = (fmt.open_session(ident).invoke, feeds)
            calls[f"{t.label} [{runtime}]"] = (fmt.open_session(t.path).invoke, feeds)
        per_round = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, (invoke, feeds) in calls.items():  # interleaved: drift hits all alike
                timed(invoke, feeds, 5)
                per_round[name].append(np.median(timed(invoke, feeds, args.invokes)))
        worker = Worker(Measurement("no-op", Group.IDENTITY, "onnxruntime", 1, None), Path(), ())
        trips = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            worker.ask({"cmd": "ping"})
            trips.append((time.perf_counter() - t0) * 1e3)
        worker.close()
    harness = float(np.median(per_round["no-op callable (harness only)"]))
    print(f"{'measured call':<40} {'median µs':>10} {'harness share':>14}")
    for name, values in per_round.items():
        med = float(np.median(values))
        print(f"{name:<40} {med * 1e3:>10.3f} {harness / med:>13.1%}")
    print(f"\nround request/reply over the worker pipe (outside the timed region): median "
          f"{np.median(trips) * 1e3:.0f} µs per round of {args.invokes} invokes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
