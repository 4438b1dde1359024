"""Training on several workers (tf.distribute.MultiWorkerMirroredStrategy on loopback): the cluster read from
TF_CONFIG, shards assigned by file, the feature contract byte-identical to one process over the same shards, a
killed worker failing the run with one line and no bundle, and bad cluster input refused with one line."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeship.core.errors import ConfigError, InputError
from edgeship.distributed import Cluster, assign, check_port, cluster_from_env
from studies.synthetic_log import write_log

ROOT = Path(__file__).resolve().parents[2]
FAST = """
[train]
epochs = 1
batch_size = 128
[quantization]
calibration_requests = 30
recipes = ["full_int8"]  # one candidate per int8 slot: the recipe table has tests of its own
[export]
verify_requests = 100
personal = false
formats = ["tflite"]
[floors]
int8_ndcg_ratio = 0.95
int8_top10_overlap = 0.8
"""


def _tf_config(workers: list[str], index: int) -> dict:
    return {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}


def test_tf_config_is_read_or_refused_with_one_line():
    assert cluster_from_env({}) is None
    c = cluster_from_env(_tf_config(["a:1", "b:2"], 1))
    assert c == Cluster(("a:1", "b:2"), 1) and not c.chief
    chief = cluster_from_env({"TF_CONFIG": json.dumps({"cluster": {"chief": ["c:0"], "worker": ["a:1"]},
                                                       "task": {"type": "worker", "index": 0}})})
    assert chief.workers == ("c:0", "a:1") and chief.rank == 1
    for text, message in (("{not json", "TF_CONFIG: expected"), (json.dumps({"cluster": {"worker": ["a:1"]}}),
                                                                  "KeyError: 'task'"),
                          (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}),
                           "task worker 3 is not one of the cluster's 1 host:port addresses"),
                          (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}),
                           "task.type 'ps' is not chief or worker")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            cluster_from_env({"TF_CONFIG": text})


def test_shards_go_to_workers_by_file_and_every_worker_needs_one(tmp_path):
    files = [tmp_path / f"part-{i}.csv" for i in range(5)]
    assert assign(files, 2, tmp_path) == [files[0::2], files[1::2]]
    assert assign(files, 5, tmp_path) == [[f] for f in files]
    with pytest.raises(InputError, match="5 shard files for 6 workers; each worker reads whole files"):
        assign(files, 6, tmp_path)


def test_a_port_in_use_is_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(InputError, match=f"worker 0 \\(127.0.0.1:{port}\\): port {port} is in use"):
            check_port(Cluster((f"127.0.0.1:{port}", "127.0.0.1:1"), 0))


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("distributed")
    log = write_log(folder / "log", 8_000, shards=4, kind="csv", seed=11)
    config = folder / "fast.toml"
    config.write_text(FAST)
    return log, config


def _train(log: Path, config: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(log), "--schema", str(log / "schema.toml"), "--config", str(config),
            "--out", str(out), *extra]


def _cli(args: list[str], env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeship.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=dict(os.environ, **(env or {})))


def test_a_killed_worker_fails_the_run_and_a_rerun_writes_the_same_contract_as_one_process(sharded, tmp_path,
                                                                                          edgeship_cli):
    """One 2-worker run serves both: the rerun after the kill is the bundle compared with one process."""
    log, config = sharded
    out = tmp_path / "bundle"
    proc = subprocess.Popen([sys.executable, "-m", "edgeship.cli", *_train(log, config, out, "--workers", "2",
                                                                           "--worker-timeout", "30")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    pid, lines = None, []
    for line in proc.stderr:
        lines.append(line)
        found = re.match(r"worker 1: pid (\d+)", line)
        pid = int(found.group(1)) if found else pid
        if "steps per epoch" in line:  # the chief starts training: the workers are in their collectives
            os.kill(pid, signal.SIGKILL)
            killed = time.perf_counter()
            break
    rest = proc.stderr.read()
    proc.wait(timeout=120)
    errors = [line for line in lines + rest.splitlines() if "error" in line]
    assert proc.returncode == 1 and len(errors) == 1, lines + [rest]
    assert re.search(r"error: worker 1 \(pid \d+\) was killed by signal 9: .*the run failed and wrote no bundle",
                     errors[0])
    assert time.perf_counter() - killed < 30 and not out.exists()

    # a rerun of the same command succeeds (a stopped chief's staging folder is cleaned up by it) ...
    started = time.perf_counter()
    two = _cli(_train(log, config, out, "--workers", "2"))
    assert two.returncode == 0 and (out / "manifest.json").exists(), two.stderr[-3000:]
    assert "worker 1: pid" in two.stderr and "worker 0 of 2: " in two.stderr
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]
    assert time.perf_counter() - started < 300
    # ... and writes the feature contract of one process over the same shards, byte for byte
    one = tmp_path / "one"
    done = edgeship_cli(*_train(log, config, one))
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("features.json", "vocabularies.json", "fallback.json"):
        assert (one / name).read_bytes() == (out / name).read_bytes(), name
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (one, out))
    ended = a["training"].pop("convergence")
    assert a["training"] == {"strategy": "single process", "workers": 1, "global_batch": 128, "per_worker_batch": 128,
                             "shards": [[f"part-0000{i}.csv" for i in range(4)]], "steps_per_epoch": None}
    assert (ended["epochs_run"], ended["cap"], ended["batch_size"]) == (1, 1, 128)
    # the cluster's copy trained, and how its training ended reached the chief's manifest
    assert b["training"]["convergence"]["epochs_run"] == 1 and b["training"]["convergence"]["batch_size"] == 128
    assert b["training"]["strategy"] == "MultiWorkerMirroredStrategy" and b["training"]["workers"] == 2
    assert b["training"]["shards"] == [["part-00000.csv", "part-00002.csv"], ["part-00001.csv", "part-00003.csv"]]
    assert b["training"]["per_worker_batch"] == 64 and b["training"]["steps_per_epoch"] == a["metrics"]["source"][
        "rows"]["train"] // 128
    # the same model trained two ways ranks alike (a different batch order: not the same weights)
    assert abs(a["metrics"]["model"]["auc"] - b["metrics"]["model"]["auc"]) < 0.03
    assert b["metrics"]["model"]["auc"] > b["metrics"]["rule_baseline"]["auc"]
    from edgeship.export.reader import check_bundle

    assert all(r.passed for r in check_bundle(out))


def test_bad_cluster_input_is_one_line(sharded, tmp_path, edgeship_cli, monkeypatch):
    log, config = sharded
    done = edgeship_cli(*_train(log, config, tmp_path / "b", "--workers", "5"))
    assert done.returncode == 2 and "4 shard files for 5 workers" in done.stderr.strip().splitlines()[-1]
    monkeypatch.setenv("TF_CONFIG", "{oops")
    done = edgeship_cli(*_train(log, config, tmp_path / "b"))
    assert done.returncode == 2 and "error: TF_CONFIG: expected" in done.stderr
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    done = edgeship_cli("run", "--out", str(tmp_path / "c"))
    assert done.returncode == 2 and "TF_CONFIG is set: training on several workers reads a sharded log" in done.stderr


def test_the_kubernetes_example_is_valid_yaml_and_runs_this_command():
    import shlex

    import yaml

    from edgeship.cli import _parser

    docs = list(yaml.safe_load_all((ROOT / "docs" / "examples" / "k8s-train-job.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Service", "Job"]
    job = docs[1]["spec"]
    assert job["completionMode"] == "Indexed" and job["completions"] == job["parallelism"] == 2
    script = job["template"]["spec"]["containers"][0]["args"][0].replace("$JOB_COMPLETION_INDEX", "1")
    export, command = script.split(" && ")
    tf_config = shlex.split(export.removeprefix("export "))[0].removeprefix("TF_CONFIG=")
    cluster = cluster_from_env({"TF_CONFIG": tf_config})
    assert cluster.rank == 1 and len(cluster.workers) == job["completions"]
    assert all(w.endswith(":12345") for w in cluster.workers) and docs[0]["spec"]["ports"][0]["port"] == 12345
    args = _parser().parse_args(shlex.split(command)[1:])
    assert args.command == "train" and args.worker_timeout == 60 and str(args.out) == "/out/bundle"


def test_in_a_tf_config_cluster_the_chief_names_the_dead_worker_within_the_timeout(sharded, tmp_path):
    """No launcher watching (a cluster of hosts): the coordination service's heartbeats tell the chief."""
    log, config = sharded
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in (a, b)]
    out = tmp_path / "bundle"
    procs = [subprocess.Popen([sys.executable, "-m", "edgeship.cli", *_train(log, config, out, "--worker-timeout", "10")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              env=dict(os.environ, **_tf_config(addresses, i))) for i in range(2)]
    for line in procs[0].stderr:
        if "steps per epoch" in line:
            procs[1].kill()
            killed = time.perf_counter()
            break
    rest = procs[0].stderr.read()
    procs[0].wait(timeout=120)
    procs[1].wait(timeout=30)
    errors = [line for line in rest.splitlines() if "error" in line]
    assert procs[0].returncode == 1 and errors == [
        "edgeship train: error: worker 0: lost the cluster: worker 1 stopped answering (died or unreachable; "
        "UnavailableError); the run failed and wrote no bundle"], rest[-2000:]
    assert time.perf_counter() - killed < 10 + 15 and not out.exists()


def test_a_worker_that_cannot_read_its_shard_is_bad_input_named_by_worker(sharded, tmp_path):
    import shutil

    import pandas as pd

    log, config = sharded
    broken = tmp_path / "log"
    shutil.copytree(log, broken)
    part = broken / "part-00003.csv"  # file 3 -> worker 1
    df = pd.read_csv(part).astype({"price": object})
    df.loc[4, "price"] = "cheap"
    df.to_csv(part, index=False)
    done = _cli(_train(broken, config, tmp_path / "bundle", "--workers", "2", "--worker-timeout", "20"))
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-2000:]
    assert re.search(r"worker 1 \(pid \d+\) exited with 2: .*part-00003.csv: data row 5: column 'price' \(numeric\): "
                     r"expected a number, got 'cheap'", errors[0]), errors[0]
    assert not (tmp_path / "bundle").exists()
