"""Training on several workers with the engine TensorFlow ships: tf.distribute.MultiWorkerMirroredStrategy
(synchronous data parallelism, collective all-reduce over gRPC), the cluster described by TF_CONFIG.

- `TF_CONFIG` set (Kubernetes, Vertex AI, any launcher): this process is one worker of that cluster.
- `edgeship train --workers N`: `launch` starts N worker processes of this command on loopback ports, each with
  its TF_CONFIG, and watches them: a worker that dies fails the whole run with one line naming it.

Every worker reads its own shard files (file i goes to worker i mod N); the statistics the feature contract is
made of are computed per file and exchanged (models/logs.py `per_file`), so every worker, and a single process,
merges the same numbers in the same order: the contract's bytes do not depend on the number of workers. Only
worker 0 (the chief) evaluates, converts, verifies and writes the bundle; the others exit 0 after training.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.errors import CheckFailed, ConfigError, InputError
from .export.manifest import STRATEGY, TrainingRecord

TF_CONFIG = "TF_CONFIG"
TIMEOUT_ENV = "EDGESHIP_WORKER_TIMEOUT"


class WorkerLost(CheckFailed):
    """A worker died or stopped answering: the run failed and wrote no bundle (exit 1)."""


@dataclass(frozen=True)
class Cluster:
    workers: tuple[str, ...]  # host:port of every worker, chief first
    rank: int  # this process's place in `workers`

    @property
    def chief(self) -> bool:
        return self.rank == 0


@dataclass
class Context:
    """What a worker of a cluster carries through data preparation and training."""

    cluster: Cluster
    strategy: object
    shards: object  # models.logs.Shards: this worker's files and the exchange
    assignment: list[list[Path]]  # every worker's files

    def record(self, batch: int, train_rows: int) -> TrainingRecord:
        n = len(self.cluster.workers)
        per = max(1, batch // n)
        return TrainingRecord(STRATEGY, n, [[f.name for f in files] for files in self.assignment], per * n, per,
                              max(1, train_rows // (per * n)))


def cluster_from_env(environ=os.environ) -> Cluster | None:
    """The cluster TF_CONFIG describes (None when it is not set); a malformed one is one line, exit 2."""
    text = environ.get(TF_CONFIG)
    if not text:
        return None
    try:
        config = json.loads(text)
        jobs = config["cluster"]
        task = config["task"]
        workers = tuple(jobs.get("chief", [])) + tuple(jobs.get("worker", []))
        offset = len(jobs.get("chief", [])) if task["type"] == "worker" else 0
        if task["type"] not in ("chief", "worker"):
            raise ValueError(f"task.type {task['type']!r} is not chief or worker")
        rank = offset + int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{TF_CONFIG}: expected {{\"cluster\": {{\"worker\": [\"host:port\", ...]}}, \"task\": "
                          f"{{\"type\": \"worker\", \"index\": i}}}} ({type(e).__name__}: {e})") from None
    if not workers or not 0 <= rank < len(workers) or not all(isinstance(w, str) and ":" in w for w in workers):
        raise ConfigError(f"{TF_CONFIG}: task {task.get('type')} {task.get('index')} is not one of the cluster's "
                          f"{len(workers)} host:port addresses")
    return Cluster(workers, rank)


def check_port(cluster: Cluster) -> None:
    """This worker's own port must be free before TensorFlow's server binds it (a clear line, not a gRPC log)."""
    host, _, port = cluster.workers[cluster.rank].rpartition(":")
    if host not in ("localhost", "127.0.0.1", "0.0.0.0", socket.gethostname()):
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1" if host == "localhost" else host, int(port)))
        except OSError:
            raise InputError(f"{TF_CONFIG}: worker {cluster.rank} ({cluster.workers[cluster.rank]}): port {port} is "
                             "in use") from None


def assign(files: list[Path], workers: int, where: Path) -> list[list[Path]]:
    """File i to worker i mod N: deterministic, and every worker gets a file."""
    if len(files) < workers:
        raise InputError(f"{where}: {len(files)} shard file{'s' if len(files) != 1 else ''} for {workers} workers; "
                         "each worker reads whole files, so give at least as many shards as workers")
    return [files[i::workers] for i in range(workers)]


def start(timeout: float):
    """The strategy, created before any other TensorFlow op (its own rule). A worker waits at most `timeout`
    seconds for the others to join, and notices a worker that stopped sending heartbeats within `timeout`."""
    import tensorflow as tf

    from .export.shims import coordination_timeouts

    coordination_timeouts(timeout)
    return tf.distribute.MultiWorkerMirroredStrategy()


class Exchange:
    """Any picklable object from every worker to every worker, in worker order (an all-gather of its bytes)."""

    def __init__(self, strategy):
        self.strategy = strategy

    def _gather(self, value: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        s = self.strategy
        per_replica = s.experimental_distribute_values_from_function(lambda _: tf.constant(value))
        return s.gather(per_replica, axis=0).numpy()

    def __call__(self, obj) -> list:
        raw = pickle.dumps(obj)
        lengths = self._gather(np.array([len(raw)], np.int64))
        words = self._gather(np.frombuffer(raw + b"\0" * (-len(raw) % 4), "<i4"))  # collectives take int32
        out, at = [], 0
        for n in lengths:
            size = -(-int(n) // 4)
            out.append(pickle.loads(words[at:at + size].astype("<i4").tobytes()[:n]))
            at += size
        return out


def peer_errors() -> tuple[type[Exception], ...]:
    """What a collective raises when a peer is gone (TensorFlow reports it under several codes)."""
    import tensorflow as tf

    return (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError, tf.errors.InternalError)


def lost(e: Exception, cluster: Cluster) -> WorkerLost:
    """The one line for a collective that failed because a peer is gone (TensorFlow names it in its message)."""
    text = str(e)
    peers = sorted(set(int(t) for t in re.findall(r"/job:\w+/replica:\d+/task:(\d+)", text)) - {cluster.rank})
    who = f"worker {', '.join(map(str, peers))}" if peers else "another worker"
    return WorkerLost(f"worker {cluster.rank}: lost the cluster: {who} stopped answering (died or unreachable; "
                      f"{type(e).__name__}); the run failed and wrote no bundle")


def fit(model, strategy, build, make_dataset, valid, steps: int, seed: int, label: str, schedule, cluster: Cluster):
    """Train a copy of `model` built under the strategy (variables mirrored on every worker), then copy the
    trained weights back: what the chief converts is a plain Keras model. Returns how the training ended."""
    from .models.training import convergence, fit_stream

    try:
        with strategy.scope():
            distributed = build()
            distributed.set_weights(model.get_weights())
            fit_stream(distributed, make_dataset, valid, seed, label, schedule, steps_per_epoch=steps)
        model.set_weights(distributed.get_weights())
    except peer_errors() as e:
        raise lost(e, cluster) from None
    return convergence(distributed, schedule)


# --- the local launcher ------------------------------------------------------------------------------------------

def free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch(argv: list[str], workers: int, timeout: float, stream=sys.stderr) -> int:
    """Run `edgeship <argv>` as `workers` local worker processes; 0 when every worker exits 0. The chief's
    output passes through (its error line held back); the others' goes to a log, whose last line is shown
    when that worker is the one that failed. A run that fails says so in one line, naming the worker that
    failed first in substance: bad input (exit 2) or a killed process before the peers that lost it."""
    ports = free_ports(workers)
    addresses = [f"127.0.0.1:{p}" for p in ports]
    logs = Path(tempfile.mkdtemp(prefix="edgeship-workers-"))
    procs, held = [], []
    for i in range(workers):
        env = dict(os.environ, **{TF_CONFIG: json.dumps({"cluster": {"worker": addresses},
                                                         "task": {"type": "worker", "index": i}}),
                                  TIMEOUT_ENV: str(timeout)})
        out = None if i == 0 else open(logs / f"worker{i}.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-m", "edgeship.cli", *argv], env=env, text=True,
                                      stdout=out, stderr=subprocess.PIPE if i == 0 else subprocess.STDOUT))
        print(f"worker {i}: pid {procs[-1].pid} on {addresses[i]}", file=stream, flush=True)
    relay = threading.Thread(target=_relay, args=(procs[0].stderr, stream, held), daemon=True)
    relay.start()
    reported = set()
    try:
        while True:
            codes = [p.poll() for p in procs]
            for i, c in enumerate(codes):
                if i and c == 0 and i not in reported:  # a worker done with its part says so, once
                    reported.add(i)
                    print(_last_line(logs / f"worker{i}.log"), file=stream, flush=True)
            if any(c not in (None, 0) for c in codes):
                time.sleep(1.0)  # the peers of a failed worker fail too, within a moment: choose among them
                codes = [p.poll() for p in procs]
                relay.join(timeout=1.0)
                failed = _first_cause(codes)
                code = codes[failed]
                how = f"was killed by signal {-code}" if code < 0 else f"exited with {code}"
                last = _last_line(logs / f"worker{failed}.log") if failed else (held[-1] if held else "")
                print(f"edgeship {argv[0]}: error: worker {failed} (pid {procs[failed].pid}) {how}"
                      + (f": {last}" if last else "") + "; the run failed and wrote no bundle", file=stream, flush=True)
                _stop(procs)
                return 2 if code == 2 else 1  # a worker's bad input stays bad input
            if all(c == 0 for c in codes):
                relay.join(timeout=5.0)
                shutil.rmtree(logs, ignore_errors=True)  # kept when a worker fails: its whole log is there
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(procs)
        raise


def _relay(source, stream, held: list) -> None:
    """The chief's stderr, line by line, to the user; its error line is held for the launcher's one line."""
    for line in source:
        if "error: " in line and line.startswith("edgeship "):
            held.append(line.strip().split("error: ", 1)[1])
        else:
            stream.write(line)
            stream.flush()


def _first_cause(codes: list[int | None]) -> int:
    """The worker whose failure caused the others': bad input, then a killed process, then the first failure."""
    failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
    return next((i for i in failed if codes[i] == 2), next((i for i in failed if codes[i] < 0), failed[0]))


def _stop(procs: list[subprocess.Popen], grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds (TensorFlow's runtime may not stop on SIGTERM alone). A
    chief stopped mid-write leaves only its staging folder, which the next run removes."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""
