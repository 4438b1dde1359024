"""The bad-input table: every case runs the real CLI entry point (cli.main, in this process: an exception it
does not turn into its one error line reaches the test as an exception) and must give the right exit code,
exactly one error line naming what is wrong (progress lines may precede it; no traceback), and leave nothing
written or overwritten. tests/edgeship/test_cli.py runs the same entry point in a subprocess."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from studies.synthetic_log import write_log

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT.parent / "shared" / "data" / "third_party_models"


@pytest.fixture(scope="module")
def good_log(tmp_path_factory) -> Path:
    return write_log(tmp_path_factory.mktemp("good") / "log", 1000, shards=1, kind="csv", seed=5)


def _frame(good_log: Path) -> pd.DataFrame:
    return pd.read_csv(good_log / "part-00000.csv")


def _csv(tmp: Path, df: pd.DataFrame, name: str = "log.csv") -> Path:
    path = tmp / name
    df.to_csv(path, index=False)
    return path


def _train(data, schema, out, *extra):
    return ["train", "--data", str(data), "--schema", str(schema), "--out", str(out), *extra]


def _bad_cell(good_log, tmp, column, row, value):
    df = _frame(good_log).astype({column: object})
    df.loc[row, column] = value
    return _csv(tmp, df)


def _schema(tmp: Path, text: str) -> Path:
    path = tmp / "schema.toml"
    path.write_text(text)
    return path


# Each case: (tmp, good_log, out) -> (argv, exit code, text the one error line must contain)
CASES = {
    # --- data files ---
    "data missing": lambda t, g, o: (_train(t / "none.csv", g / "schema.toml", o), 2, "data file or folder not found"),
    "data not csv/parquet": lambda t, g, o: (_train(_schema(t, "x"), g / "schema.toml", o), 2,
                                             "expected a .csv or .parquet file"),
    "empty file": lambda t, g, o: (_train((t / "e.csv", (t / "e.csv").write_text(""))[0], g / "schema.toml", o), 2,
                                   "e.csv: empty file"),
    "header only": lambda t, g, o: (_train(_csv(t, _frame(g).iloc[:0]), g / "schema.toml", o), 2, "no data rows"),
    "missing column": lambda t, g, o: (_train(_csv(t, _frame(g).drop(columns=["click"])), g / "schema.toml", o), 2,
                                       "column 'click' (label) not found"),
    "label not a number": lambda t, g, o: (_train(_bad_cell(g, t, "click", 7, "yes"), g / "schema.toml", o), 2,
                                           "data row 8: column 'click' (label): expected a number, got 'yes'"),
    "label negative": lambda t, g, o: (_train(_bad_cell(g, t, "click", 3, -1), g / "schema.toml", o), 2,
                                       "data row 4: column 'click' (label): -1.0; expected a click"),
    "numeric NaN": lambda t, g, o: (_train(_bad_cell(g, t, "price", 11, None), g / "schema.toml", o), 2,
                                    "data row 12: column 'price' (numeric): empty (NaN)"),
    "numeric inf": lambda t, g, o: (_train(_bad_cell(g, t, "quality", 5, "inf"), g / "schema.toml", o), 2,
                                    "data row 6: column 'quality' (numeric): inf; expected a finite number"),
    "numeric text": lambda t, g, o: (_train(_bad_cell(g, t, "price", 2, "cheap"), g / "schema.toml", o), 2,
                                     "column 'price' (numeric): expected a number, got 'cheap'"),
    "timestamp unparseable": lambda t, g, o: (_train(_bad_cell(g, t, "ts", 9, "yesterday"), g / "schema.toml", o), 2,
                                              "data row 10: column 'ts' (timestamp): cannot parse 'yesterday'"),
    "empty item id": lambda t, g, o: (_train(_bad_cell(g, t, "item_id", 4, None), g / "schema.toml", o), 2,
                                      "data row 5: column 'item_id' (item): empty item id"),
    "labels one class": lambda t, g, o: (_train(_csv(t, _frame(g).assign(click=0)), g / "schema.toml", o), 2,
                                         "every row is 0; a ranker needs both"),
    "too few rows": lambda t, g, o: (_train(_csv(t, _frame(g).iloc[:40]), g / "schema.toml", o), 2,
                                     "too few rows for the split"),
    "folder without logs": lambda t, g, o: (_train((t / "d", (t / "d").mkdir())[0], g / "schema.toml", o), 2,
                                            "no .csv or .parquet files in the folder"),
    "mixed shards": lambda t, g, o: _mixed(t, g, o),
    "corrupt parquet": lambda t, g, o: (_train((t / "x.parquet", (t / "x.parquet").write_bytes(b"PAR1 not really"))[0],
                                               g / "schema.toml", o), 2, "cannot be read as PARQUET"),
    "shard lacks a column": lambda t, g, o: _shard_lacks(t, g, o),
    "pattern matches nothing": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text().replace(
        '"quality"', '"score_*"')), o), 2, "numeric column pattern 'score_*' matches no column"),
    # --- schema ---
    "schema missing": lambda t, g, o: (_train(g, t / "none.toml", o), 2, "schema file not found"),
    "schema bad toml": lambda t, g, o: (_train(g, _schema(t, "[columns\n"), o), 2, "not valid TOML"),
    "schema unknown key": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text().replace(
        'label = "click"', 'label = "click"\nlable = "x"')), o), 2, "[columns]: unknown key 'lable'"),
    "schema no item": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text().replace(
        'item = "item_id"\n', '')), o), 2, "[columns] item: required"),
    "vocabulary over its cap": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text().replace(
        "[encoding]", '[encoding]\nitems = "vocabulary"\nmax_item_vocabulary = 50')), o), 2,
        "more than [encoding] max_item_vocabulary = 50"),
    "field with one value": lambda t, g, o: (_train(_csv(t, _frame(g).assign(device="phone")), g / "schema.toml", o), 2,
                                             "column 'device' (context): a single value in the training rows ('phone')"),
    "encoding names a missing column": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text()
                                                                          + '[encoding.fields]\nregoin = "hash"\n'), o),
                                                        2, "[encoding.fields] regoin: not a [columns] context column"),
    "encoding rule unknown": lambda t, g, o: (_train(g, _schema(t, (g / "schema.toml").read_text()
                                                                + '[encoding.fields]\nregion = "hash:1"\n'), o),
                                              2, "[encoding.fields] region: expected \"auto\""),
    # --- run config ---
    "config unknown key": lambda t, g, o: (["run", "--config", str(_schema(t, "[train]\nepoch = 3\n")), "--out",
                                            str(o)], 2, "[train]: unknown key 'epoch'"),
    "config wrong type": lambda t, g, o: (["run", "--config", str(_schema(t, "[export]\ncandidates = 'many'\n")),
                                           "--out", str(o)], 2, "[export] candidates: expected an integer"),
    "config log without schema": lambda t, g, o: (["run", "--config", str(_schema(t, '[log]\ndata = "x.csv"\n')),
                                                   "--out", str(o)], 2, "[log] data and schema go together"),
    "config context_dims unknown field": lambda t, g, o: (
        ["run", "--config", str(_schema(t, "[data]\nusers = 200\nitems = 300\ntrain_requests = 300\n"
                                           "test_requests = 20\n[model.context_dims]\nregoin = 4\n")), "--out", str(o)],
        2, "[model] context_dims: 'regoin' is not a context field of this data"),
    "config missing": lambda t, g, o: (["run", "--config", str(t / "none.toml"), "--out", str(o)], 2,
                                       "config file not found"),
    "rules: a pin a filter removes": lambda t, g, o: (
        ["run", "--config", str(_schema(t, '[[rules.filter]]\nmatch = {attribute = "category", values = ["3", "4"]}\n'
                                           '[[rules.pin]]\nmatch = {attribute = "category", values = ["4"]}\n'
                                           'within = 3\n')), "--out", str(o)],
        2, "[[rules.pin]] #1 pins items that [[rules.filter]] #1 always removes"),
    "rules: an unknown feature": lambda t, g, o: (
        ["run", "--config", str(_schema(t, "[data]\nusers = 200\nitems = 300\ntrain_requests = 300\n"
                                           'test_requests = 20\n[[rules.boost]]\nmatch = {feature = "prise", '
                                           'min = 0.0}\nby = 1.0\n')), "--out", str(o)],
        2, "[[rules.boost]] #1 feature 'prise': expected one of price, quality, freshness, popularity"),
    # --- command line ---
    "train without schema": lambda t, g, o: (["train", "--data", str(g), "--out", str(o)], 2,
                                             "--schema: expected the schema TOML of the log"),
    "unknown flag": lambda t, g, o: (["run", "--fast", "--out", str(o)], 2, "unrecognized arguments: --fast"),
    "seed not a number": lambda t, g, o: (["run", "--seed", "seven", "--out", str(o)], 2,
                                          "argument --seed: invalid int value: 'seven'"),
    "seed negative": lambda t, g, o: (["run", "--seed", "-1", "--out", str(o)], 2,
                                      "--seed: expected an integer in [0, 4294967295], got -1"),
    "bench threads zero": lambda t, g, o: (["bench", str(FOREIGN / "tflite" / "hello_world_float.tflite"),
                                            "--threads", "0", "--out", str(o)], 2, "expected positive integers"),
    # --- model files ---
    "bench corrupt tflite": lambda t, g, o: (["bench", str((t / "m.tflite", (t / "m.tflite").write_bytes(b"\0" * 64))[0]),
                                              "--out", str(o)], 2, "not a readable tflite model"),
    "bench corrupt onnx": lambda t, g, o: (["bench", str((t / "m.onnx", (t / "m.onnx").write_bytes(b"garbage"))[0]),
                                            "--out", str(o)], 2, "not a readable onnx model"),
    "bench corrupt mlmodel": lambda t, g, o: (["bench", str((t / "m.mlmodel", (t / "m.mlmodel").write_bytes(b"\x07x"))[0]),
                                               "--out", str(o)], 2, "not a readable coreml model"),
    "bench onnx data outside its folder": lambda t, g, o: (["bench", str(_onnx_external_outside(t)), "--out", str(o)],
                                                           2, "model.onnx: not a readable onnx model"),
    "bench folder without manifest": lambda t, g, o: (["bench", str(g), "--out", str(o)], 2,
                                                      "not a bundle (no manifest.json)"),
    "bench unknown file type": lambda t, g, o: (["bench", str(g / "schema.toml"), "--out", str(o)], 2,
                                                "expected a .tflite, .onnx, .mlmodel, .mlpackage or .ort file"),
    "gate unknown profile": lambda t, g, o: (["gate", str(FOREIGN / "tflite" / "hello_world_float.tflite"),
                                              "--profile", "pixel-9", "--out", str(o)], 2, "unknown profile 'pixel-9'"),
    "gate budgets bad toml": lambda t, g, o: (["gate", str(FOREIGN / "tflite" / "hello_world_float.tflite"),
                                               "--budgets", str(_schema(t, "[profiles.a\n")), "--profile", "a",
                                               "--out", str(o)], 2, "not valid TOML"),
    "compare not a bench.json": lambda t, g, o: (["compare", str(g / "schema.toml"), str(g / "schema.toml")], 2,
                                                 "not valid JSON"),
    # --- bundles ---
    "verify missing bundle": lambda t, g, o: (["verify", str(t / "nothing")], 2, "bundle directory not found"),
}


def _onnx_external_outside(t: Path) -> Path:
    """A valid ONNX file whose weights live in ../weights.bin: onnx refuses to read outside the model's folder."""
    import numpy as np
    import onnx
    from onnx import external_data_helper, helper, numpy_helper

    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(np.ones((4, 4), np.float32), "w")])
    model = helper.make_model(graph)
    external_data_helper.convert_model_to_external_data(model, location="../weights.bin", size_threshold=0)
    (t / "m").mkdir()
    (t / "m" / "model.onnx").write_bytes(model.SerializeToString())
    (t / "weights.bin").write_bytes(np.ones((4, 4), np.float32).tobytes())
    return t / "m" / "model.onnx"


def _mixed(t, g, o):
    d = t / "mixed"
    d.mkdir()
    shutil.copy(g / "part-00000.csv", d / "a.csv")
    _frame(g).to_parquet(d / "b.parquet")
    return _train(d, g / "schema.toml", o), 2, "mixes CSV and Parquet shards"


def _shard_lacks(t, g, o):
    d = t / "shards"
    d.mkdir()
    df = _frame(g)
    df.iloc[:500].to_csv(d / "a.csv", index=False)
    df.iloc[500:].drop(columns=["price"]).to_csv(d / "b.csv", index=False)
    return _train(d, g / "schema.toml", o), 2, "b.csv: column 'price' (numeric) not found"


def _snapshot(folder: Path) -> dict:
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, good_log, tmp_path, edgeship_cli):
    out = tmp_path / "out"
    argv, code, text = CASES[case](tmp_path, good_log, out)
    before = _snapshot(tmp_path)
    done = edgeship_cli(*argv)
    lines = [line for line in done.stderr.splitlines() if line.startswith("edgeship")]
    assert done.returncode == code, (case, done.stderr[-1500:])
    assert len(lines) == 1 and text in lines[0], (case, lines)
    assert done.stderr.rstrip().endswith(lines[0])  # the error is the last word, not buried in progress
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists() and _snapshot(tmp_path) == before  # nothing written, nothing changed


def test_the_table_is_large_enough():
    assert len(CASES) >= 30


def test_existing_bundle_is_not_overwritten_and_tampering_is_refused(reference_bundle, tmp_path, edgeship_cli):
    copy = tmp_path / "bundle"
    shutil.copytree(reference_bundle, copy)
    before = _snapshot(copy)
    done = edgeship_cli("run", "--out", str(copy))
    assert done.returncode == 2 and "already holds a bundle; pass --force" in done.stderr
    assert _snapshot(copy) == before
    with open(copy / "ranker_int8.tflite", "r+b") as f:  # truncated
        f.truncate(1000)
    done = edgeship_cli("verify", str(copy))
    assert done.returncode == 1 and "ranker_int8.tflite: checksum mismatch" in done.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest)[:-20])  # a manifest cut short
    done = edgeship_cli("verify", str(copy))
    assert done.returncode == 1 and "manifest.json: not valid JSON" in done.stderr
