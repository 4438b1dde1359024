"""Where ONNX Runtime's time goes, per operator type, for each .onnx / .ort file of a bundle.
`python -m studies.ort_profile --bundle artifacts/bundle [--invokes 300] [--out DIR]`

Each file runs the bundle's first test vector `--invokes` times in one thread with ONNX Runtime's own profiler
on; the kernel time of every node is summed by operator type. Prints, and writes DIR/ort_profile.json: per
file, nodes per run, kernel µs per run, and each operator type's µs per run and share. The profiler adds its
own cost per node, so compare shares and files measured together, not these µs with `edgeship bench`'s p50.
A first look at issue 22's "where the time goes"; the bench harness does not run it yet.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgeship.core.files import write_json
from edgeship.export.manifest import read_manifest_file

FORMATS = ("onnx", "ort")


def profile(path: Path, feeds: dict[str, np.ndarray], invokes: int, scratch: Path) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.profile_file_prefix = str(scratch / path.name)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
    for _ in range(invokes):
        session.run(None, feeds)
    events = json.loads(Path(session.end_profiling()).read_text())
    time, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            time[e["args"]["op_name"]] += e["dur"]
            count[e["args"]["op_name"]] += 1
    total = sum(time.values())
    return {"nodes_per_run": sum(count.values()) // invokes, "kernel_us_per_run": round(total / invokes, 1),
            "ops": [{"op": op, "nodes": count[op] // invokes, "us_per_run": round(t / invokes, 1),
                     "share": round(t / total, 4)} for op, t in time.most_common()]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--invokes", type=int, default=300)
    p.add_argument("--out", type=Path, default=Path("artifacts/ort_profile"))
    args = p.parse_args(argv)
    if not (args.bundle / "manifest.json").is_file():
        print(f"{args.bundle}: no bundle; run `make run` first", file=sys.stderr)
        return 2
    if args.invokes < 1:
        print(f"--invokes: expected a positive number, got {args.invokes}", file=sys.stderr)
        return 2
    manifest = read_manifest_file(args.bundle / "manifest.json")
    case = json.loads((args.bundle / "testvectors.json").read_text())["cases"][0]["inputs"]
    feeds = {k: np.asarray(v, np.float32 if k == "candidate_features" else np.int32) for k, v in case.items()}
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for a in manifest.artifacts:
            if a.format in FORMATS and not a.trainable:
                result[a.path] = profile(args.bundle / a.path, feeds, args.invokes, Path(tmp))
    for name, r in result.items():
        print(f"{name}: {r['nodes_per_run']} nodes, {r['kernel_us_per_run']} µs of kernels per run")
        for op in r["ops"][:5]:
            print(f"  {op['op']:<22} {op['us_per_run']:8.1f} µs  {op['share']:6.1%}  ({op['nodes']} nodes)")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "ort_profile.json", {"bundle": str(args.bundle), "invokes": args.invokes, "files": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
