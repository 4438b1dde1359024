"""What a node costs in each runtime, and so how fast a file of this size can be on this host.
`python -m studies.runtime_floor --bundle artifacts/bundle --out DIR`

Issue 22's latency targets are ratios at about 15-40 µs per request, where the runtime's own cost per call and
per node is a large part of the time. This study measures both, with the bench harness, in one interleaved run:
chains of N elementwise Adds (x_{i+1} = x_i + x_{i-1} over the [1, K, F] candidate features: nothing to fold,
almost no arithmetic) for N in --nodes, in LiteRT (XNNPACK, as the bench runs it) and ONNX Runtime, beside the
bundle's shipped files. A least-squares line per runtime gives the cost of one call (intercept) and of one node
(slope); each shipped file's time is then split into that overhead, for the nodes it runs, and the rest (its
arithmetic and data movement). Writes DIR/runtime_floor.json, .md and .png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from edgeship.benchmarks.harness import file_target, run_bench, unique_labels  # noqa: E402
from edgeship.benchmarks.records import BenchConfig, Group  # noqa: E402
from edgeship.core.files import write_figure, write_json, write_text  # noqa: E402
from edgeship.export.manifest import read_manifest_file  # noqa: E402

SHIPPED = ("ranker_fp32.tflite", "ranker_int8.tflite", "ranker_fp32.onnx", "ranker_int8.onnx", "ranker_int8.ort")
RUNTIME = {"tflite": "LiteRT", "onnx": "ONNX Runtime", "ort": "ONNX Runtime"}


def _inputs(bundle: Path):
    """The ranker's inputs (name, dtype, shape), as its fp32 .onnx declares them."""
    from edgeship.export import formats

    signature = formats.get("onnx").signature(bundle / "ranker_fp32.onnx")
    return [(t.name, t.dtype, tuple(t.shape)) for t in signature.inputs]


def chain_onnx(path: Path, nodes: int, inputs) -> Path:
    import onnx
    from onnx import TensorProto, helper

    types = {"int32": TensorProto.INT32, "float32": TensorProto.FLOAT}
    graph_inputs = [helper.make_tensor_value_info(n, types[d], list(s)) for n, d, s in inputs]
    body, prev, cur = [], "candidate_features", "candidate_features"
    for i in range(nodes):
        body.append(helper.make_node("Add", [cur, prev], [f"x{i}"]))
        prev, cur = cur, f"x{i}"
    shape = next(s for n, _, s in inputs if n == "candidate_features")
    graph = helper.make_graph(body, "chain", graph_inputs, [helper.make_tensor_value_info(cur, TensorProto.FLOAT,
                                                                                          list(shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def chain_tflite(path: Path, nodes: int, inputs) -> Path:
    import tensorflow as tf

    spec = [tf.TensorSpec(s, tf.int32 if d == "int32" else tf.float32, name=n) for n, d, s in inputs]

    @tf.function(input_signature=spec)
    def chain(*args):
        prev = cur = args[[n for n, _, _ in inputs].index("candidate_features")]
        for _ in range(nodes):
            prev, cur = cur, cur + prev
        return {"scores": cur}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([chain.get_concrete_function()], chain)
    path.write_bytes(converter.convert())
    return path


def executed_nodes(path: Path) -> int:
    """The nodes the runtime runs: LiteRT's ops; ONNX Runtime's graph after its load-time optimizations (saved
    as ORT saves it); an .ort file's graph as stored (already optimized)."""
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        return len(Interpreter(model_path=str(path))._get_ops_details())
    if path.suffix == ".ort":
        from edgeship.export.shims import ort_format_session

        return ort_format_session(path.read_bytes()).Model().Graph().NodesLength()
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return len(onnx.load(options.optimized_model_filepath).graph.node)


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of p50 µs over nodes."""
    n, t = np.array([p[0] for p in points], float), np.array([p[1] for p in points], float)
    slope, intercept = np.polyfit(n, t, 1)
    return float(intercept), float(slope)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--out", type=Path, default=Path("artifacts/runtime_floor"))
    p.add_argument("--nodes", type=lambda s: tuple(int(x) for x in s.split(",")), default=(1, 8, 16, 32, 64))
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--invokes", type=int, default=100)
    args = p.parse_args(argv)
    manifest = read_manifest_file(args.bundle / "manifest.json")
    inputs, k = _inputs(args.bundle), manifest.model.candidates
    shipped = [args.bundle / name for name in SHIPPED if (args.bundle / name).exists()]
    with tempfile.TemporaryDirectory(prefix="edgeship-floor-") as tmp:
        chains = {}
        for n in args.nodes:
            chains[chain_onnx(Path(tmp) / f"chain_{n:03d}.onnx", n, inputs)] = ("onnx", n)
            chains[chain_tflite(Path(tmp) / f"chain_{n:03d}.tflite", n, inputs)] = ("tflite", n)
        print(f"runtime floor: {len(chains)} chain models and {len(shipped)} shipped files, timed together")
        targets = unique_labels([file_target(path) for path in list(chains) + shipped])
        result = run_bench(targets, BenchConfig(threads=(1,), candidates=(k,), rounds=args.rounds,
                                                invokes=args.invokes, identity=True, profile=False,
                                                second_api=False), {}, progress=print)
        p50 = {m.label: m.latency_ms.p50 * 1000 for m in result.measurements
               if m.latency_ms is not None and m.call == "infer"}
        by_path = {t.path: t.label for t in targets}
        lines = {}
        for runtime in ("tflite", "onnx"):
            points = [(n, p50[by_path[path]]) for path, (fmt, n) in chains.items() if fmt == runtime]
            call, node = fit(points)
            lines[runtime] = {"points": points, "call_us": call, "node_us": node}
        identity = {Path(m.label).suffix[1:]: m.latency_ms.p50 * 1000 for m in result.measurements
                    if m.group == Group.IDENTITY and m.latency_ms is not None}
    files = []
    for path in shipped:
        fmt = "tflite" if path.suffix == ".tflite" else "onnx"
        line, nodes = lines[fmt], executed_nodes(path)
        overhead = line["call_us"] + nodes * line["node_us"]
        files.append({"file": path.name, "runtime": RUNTIME[path.suffix[1:]], "nodes": nodes,
                      "p50_us": round(p50[by_path[path]], 2), "overhead_us": round(overhead, 2),
                      "rest_us": round(p50[by_path[path]] - overhead, 2)})
    record = {"bundle": str(args.bundle), "candidates": k, "host": result.host.cpu,
              "identity_us": {f: round(v, 2) for f, v in identity.items()},
              "runtimes": {r: {"call_us": round(v["call_us"], 2), "node_us": round(v["node_us"], 3),
                               "points": [[n, round(t, 2)] for n, t in v["points"]]} for r, v in lines.items()},
              "files": files}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "runtime_floor.json", record)
    text = markdown(record)
    write_text(args.out / "runtime_floor.md", text)
    plot(record, args.out / "runtime_floor.png")
    print(text)
    return 0


def markdown(r: dict) -> str:
    out = [f"# What a node costs, and how fast a file can be ({r['host']}, K = {r['candidates']})", "",
           "Chains of N elementwise Adds over the candidate features, timed with the shipped files in one "
           "interleaved bench run (1 thread, p50 µs). Fitted line: p50 = call + N × node.", "",
           "| runtime | call µs | node µs | identity floor µs | chain p50 µs by N |", "|---|---:|---:|---:|---|"]
    names = {"tflite": "LiteRT (XNNPACK)", "onnx": "ONNX Runtime"}
    for runtime, v in r["runtimes"].items():
        floor = r["identity_us"].get(runtime, float("nan"))  # the .onnx identity for ONNX Runtime
        out.append(f"| {names[runtime]} | {v['call_us']:.2f} | {v['node_us']:.3f} | {floor:.2f} | "
                   + ", ".join(f"{n}: {t:.1f}" for n, t in v["points"]) + " |")
    out += ["", "Each shipped file: the nodes its runtime runs (ONNX Runtime's after its load-time fusions), the "
            "overhead the line predicts for that many nodes, and the rest (arithmetic and data movement).", "",
            "| file | runtime | nodes | p50 µs | call + nodes overhead µs | rest µs |",
            "|---|---|---:|---:|---:|---:|"]
    for f in r["files"]:
        out.append(f"| {f['file']} | {f['runtime']} | {f['nodes']} | {f['p50_us']:.1f} | {f['overhead_us']:.1f} | "
                   f"{f['rest_us']:.1f} |")
    return "\n".join(out) + "\n"


def plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"tflite": "tab:blue", "onnx": "tab:orange"}
    for runtime, v in r["runtimes"].items():
        n = np.array([p[0] for p in v["points"]])
        ax.plot(n, [p[1] for p in v["points"]], "o", color=colors[runtime], label=f"{runtime} chain of Adds")
        grid = np.linspace(0, max(max(n), max(f["nodes"] for f in r["files"])), 50)
        ax.plot(grid, v["call_us"] + v["node_us"] * grid, "-", color=colors[runtime], alpha=0.5)
    for f in r["files"]:
        c = colors["tflite" if f["file"].endswith(".tflite") else "onnx"]
        ax.plot(f["nodes"], f["p50_us"], "s", color=c, mfc="none")
        ax.annotate(f["file"].replace("ranker_", ""), (f["nodes"], f["p50_us"]), fontsize=7,
                    xytext=(4, 2), textcoords="offset points")
    ax.set_xlabel("nodes the runtime runs")
    ax.set_ylabel("p50 µs per invoke (1 thread)")
    ax.set_title("Per-call and per-node cost vs the shipped files")
    ax.legend(fontsize=8)
    write_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
