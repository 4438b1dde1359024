"""The command line: a thin layer over the Python API. User errors become one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .core.errors import AlreadyExists, ConfigError, EdgeshipError, InputError

DEFAULT_OUT = Path("artifacts/bundle")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, like ours
        print(f"edgeship: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgeship", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train, quantize, convert, verify and write a bundle")
    _bundle_options(run)

    train = sub.add_parser("train", help="the same as run, on your interaction log (CSV/Parquet) and its schema, or "
                                                "on the impression log an edgeship client writes (.jsonl)")
    train.add_argument("--data", type=Path, required=True,
                       help="a .csv/.parquet file or a folder of shards, or an impression log (.jsonl)")
    train.add_argument("--schema", type=Path, help="schema TOML: which column plays which role (not for the "
                       "impression log an edgeship client writes, a .jsonl file: its schema is implied)")
    train.add_argument("--workers", type=int, default=1,
                       help="train on N local worker processes (tf.distribute MultiWorkerMirroredStrategy on loopback "
                            "ports; a cluster of hosts sets TF_CONFIG instead)")
    train.add_argument("--worker-timeout", type=float, default=60.0,
                       help="seconds a worker waits for the others to start, and for a silent worker's heartbeat, "
                            "before the run fails (default 60)")
    _bundle_options(train)

    tune = sub.add_parser("tune", help="search the ranker's shape and training for the best int8 file inside a "
                                       "budget profile, measured on your data, and ship it as a bundle")
    tune.add_argument("--data", type=Path, help="a .csv/.parquet file or a folder of shards (default: built-in data)")
    tune.add_argument("--schema", type=Path, help="schema TOML of --data")
    tune.add_argument("--config", type=Path, help="TOML config: what the search does not vary (defaults built in)")
    tune.add_argument("--profile", default="low-end-android",
                      help="budget profile the shipped file must meet: max_bytes, max_macs, max_p50_ms "
                           "(default low-end-android)")
    tune.add_argument("--budgets", type=Path, help="budgets TOML (default: the built-in profiles)")
    tune.add_argument("--trials", type=int, default=16, help="trials in the search, counting those already in "
                                                             "OUT/search.db (default 16)")
    tune.add_argument("--timeout", type=float, default=1500.0,
                      help="seconds after which no new trial starts (default 1500, leaving the run that ships "
                           "the chosen trial inside half an hour)")
    tune.add_argument("--seed", type=int, help="override the config's seed (also the sampler's)")
    tune.add_argument("--out", type=Path, default=Path("artifacts/tune"),
                      help="search.db, search.json/.md/.png and the shipped bundle/ (default artifacts/tune)")
    tune.add_argument("--force", action="store_true", help="replace an existing OUT/bundle")

    export = sub.add_parser("export", help="your own Keras ranker (.keras/.h5/SavedModel) into a verified bundle")
    export.add_argument("--model", type=Path, required=True, help="a .keras or .h5 file, or a SavedModel folder")
    export.add_argument("--calibration", type=Path, required=True,
                        help=".npz with context, history, candidates, candidate_features [and labels], N rows each")
    _bundle_options(export, trains=False)

    verify = sub.add_parser("verify", help="re-check a bundle (checksums, schemas, test vectors in each runtime), "
                                           "or a release archive: its signature and every file, then its bundle")
    verify.add_argument("bundle", type=Path, help="a bundle directory, or a release archive (.tar)")
    verify.add_argument("--public-key", type=Path, help="the release key's public half (release.pub): needed for a "
                                                        "release")

    abtest = sub.add_parser("abtest", help="read out an online experiment from the app's impression log (JSON Lines)")
    abtest.add_argument("log", type=Path, help="the impression log: request, impression and tap events")
    abtest.add_argument("--control", default="control", help="the control arm's name (default control)")
    abtest.add_argument("--split", help="the planned share of users per arm, e.g. control=0.9,treatment=0.1 "
                                        "(default: equal)")
    abtest.add_argument("--guardrail", action="append", default=[],
                        help="NAME<=VALUE on each treatment arm: fallback_rate, error_rate, latency_p95_ms "
                             "(repeatable)")
    abtest.add_argument("--out", type=Path, default=Path("artifacts/abtest"),
                        help="where ab.json, ab.md and ab.png go (default artifacts/abtest)")
    abtest.add_argument("--force", action="store_true", help="replace an existing report")

    keygen = sub.add_parser("keygen", help="a new Ed25519 key pair for signing releases")
    keygen.add_argument("--out", type=Path, required=True, help="a folder for release.key (private, mode 600) and "
                                                                "release.pub (ships in the app)")

    release = sub.add_parser("release", help="sign a verified bundle into one archive an app downloads and checks")
    release.add_argument("bundle", type=Path)
    release.add_argument("--key", type=Path, required=True, help="release.key from edgeship keygen")
    release.add_argument("--version", required=True, help="the model release, MAJOR.MINOR.PATCH")
    release.add_argument("--min-client", help="the oldest client library that may load it (default: the lowest "
                                              "client version the bundle's contract names)")
    release.add_argument("--rollout", type=float, default=1.0,
                         help="fraction of users who get it, by bucket(user, salt) < rollout (default 1)")
    release.add_argument("--previous", type=Path, help="the release this one replaces (its archive): recorded for "
                                                       "rollback; a version not above it is refused")
    release.add_argument("--allow-downgrade", action="store_true", help="release a version not above --previous")
    release.add_argument("--kill-switch", action="store_true", help="a release that tells clients to stop using "
                                                                    "this model and go back to --previous")
    release.add_argument("--files", help="a per-platform release: only these model files of the bundle, comma-"
                         "separated (e.g. ranker_int8.onnx for a web app), with every data file (default: all)")
    release.add_argument("--out", type=Path, help="the archive (default artifacts/releases/release-VERSION.tar)")
    release.add_argument("--force", action="store_true", help="replace an existing archive")

    bench = sub.add_parser("bench", help="measure size, latency and memory of a bundle or model files")
    bench.add_argument("inputs", type=Path, nargs="+",
                       help="bundle directories and/or .tflite/.onnx/.mlmodel/.mlpackage/.ort models")
    bench.add_argument("--out", type=Path, default=Path("artifacts/bench"), help="where bench.json/.md/plots go")
    _measurement_options(bench)
    bench.add_argument("--force", action="store_true", help="replace an existing bench.json at --out")
    bench.add_argument("--no-profile", dest="profile", action="store_false",
                       help="skip where the time goes per operator type (measured after the timed rounds)")

    gate = sub.add_parser("gate", help="hold a bundle or model file to a budget profile (exit 0 ok, 1 broken, 2 bad input)")
    gate.add_argument("input", type=Path, help="a bundle directory or a .tflite/.onnx/.mlmodel/.mlpackage/.ort model")
    gate.add_argument("--budgets", type=Path, help="budgets TOML (default: the built-in profiles)")
    gate.add_argument("--profile", required=True, help="profile name in the budgets file")
    gate.add_argument("--baseline", type=Path,
                      help="a bundle to measure in the same rounds, or a previous bench.json, for relative budgets")
    gate.add_argument("--out", type=Path, default=Path("artifacts/gate"),
                      help="where gate.xml (JUnit), gate.md and bench.json go (default artifacts/gate)")
    gate.add_argument("--rounds", type=int, help="interleaved rounds (default 20)")
    gate.add_argument("--invokes", type=int, help="timed invokes per round and configuration (default 100)")

    evaluate = sub.add_parser("evaluate", help="off-policy estimates of a bundle's click rate on a logged log, "
                                               "with the logging policy's propensities")
    evaluate.add_argument("bundle", type=Path)
    evaluate.add_argument("--data", type=Path, required=True,
                          help="a .csv/.parquet file or a folder of shards, or the app's impression log (.jsonl)")
    evaluate.add_argument("--schema", type=Path,
                          help="schema TOML with [logging] propensity and position columns (not for a .jsonl log)")
    evaluate.add_argument("--baseline", type=Path, help="a bundle to compare with (default: its own rules and "
                                                        "fallback.json)")
    evaluate.add_argument("--file", help="the bundle file whose scores are the model's (default its int8 .tflite)")
    evaluate.add_argument("--out", type=Path, default=Path("artifacts/ope"),
                          help="where ope.json, ope.md and ope.png go (default artifacts/ope)")
    evaluate.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the cross-fitting folds")
    evaluate.add_argument("--force", action="store_true", help="replace an existing ope.json at --out")

    compare = sub.add_parser("compare", help="what got bigger, slower or worse between two bench.json files")
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    return parser


def _bundle_options(p: argparse.ArgumentParser, trains: bool = True) -> None:
    """What every bundle-writing command takes; `trains`: the command trains the model (not `export`)."""
    p.add_argument("--config", type=Path, help="TOML config (defaults are built in)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"bundle directory (default {DEFAULT_OUT})")
    if trains:
        p.add_argument("--seed", type=int, help="override the config's seed")
        p.add_argument("--reference", action="store_true",
                       help="also train an unconstrained DNN and a logistic regression on the same split and "
                            "report the model against them ([reference] in the config)")
    p.add_argument("--force", action="store_true", help="replace an existing bundle at --out")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _measurement_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_int_list, help="thread counts, e.g. 1,2 (default 1,2)")
    p.add_argument("--candidates", type=_int_list, help="request sizes, e.g. 1,100 (default 1 and the bundle's K)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 20)")
    p.add_argument("--invokes", type=int, help="timed invokes per round and configuration (default 100)")


def _import_tensorflow_quietly() -> None:
    """TensorFlow's C++ start-up logs (CUDA probing, oneDNN notices) bypass TF_CPP_MIN_LOG_LEVEL."""
    from .export.shims import quiet

    with quiet():
        import tensorflow  # noqa: F401


def _run(args) -> int:
    from dataclasses import replace

    from .config import LogConfig, load_config
    from .export.bundle import check_destination
    from .progress import Steps
    from .sources import prepare

    cfg = load_config(args.config, {"seed": args.seed} if args.seed is not None else None)
    if getattr(args, "data", None) is not None:
        if args.schema is None and args.data.suffix != ".jsonl":
            raise InputError("expected the schema TOML of the log (only an impression log, .jsonl, implies its "
                             "own)", option="schema")
        cfg = replace(cfg, log=LogConfig(str(args.data), "" if args.schema is None else str(args.schema)))
    if args.reference:
        cfg = replace(cfg, reference=replace(cfg.reference, enabled=True))
    from . import distributed

    cluster = distributed.cluster_from_env()
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise InputError(f"expected a positive number, got {workers}", option="workers")
    if cluster is not None or workers > 1:
        return _run_distributed(args, cfg, cluster, workers)
    check_destination(args.out, args.force)
    step = Steps(sys.stderr)
    data = prepare(cfg, step)  # every data file read and checked before the slow TensorFlow import
    _import_tensorflow_quietly()
    from .pipeline import run

    result = run(cfg, args.out, force=args.force, data=data, step=step,
                 config_source=str(args.config) if args.config else "built-in defaults")
    print(f"peak RSS {_peak_rss_mb():.0f} MB", file=sys.stderr)
    return _finish(result, args.command)


def _run_distributed(args, cfg, cluster, workers: int) -> int:
    """--workers N: start N local workers of this command. TF_CONFIG: be one worker of that cluster."""
    import os

    from . import distributed
    from .export.bundle import check_destination
    from .models import logs
    from .progress import Steps
    from .sources import prepare

    if cfg.reference.enabled or cfg.quantization.qat:
        raise ConfigError("training on several workers trains the ranker only: --reference and [quantization] qat "
                          "need one process")
    if not cfg.log.enabled:
        raise ConfigError(f"{'TF_CONFIG is set' if cluster else '--workers'}: training on several workers reads a "
                          "sharded log: pass --data and --schema")
    files, _ = logs.log_files(Path(cfg.log.data))
    n = len(cluster.workers) if cluster else workers
    assignment = distributed.assign(files, n, Path(cfg.log.data))
    if cluster is None:  # the launcher: every worker is this command with its own TF_CONFIG
        check_destination(args.out, args.force)
        argv = _without(args.argv, "--workers")
        return distributed.launch(argv, workers, args.worker_timeout)
    distributed.check_port(cluster)
    if cluster.chief:
        check_destination(args.out, args.force)
    step = Steps(sys.stderr)
    _import_tensorflow_quietly()
    from .pipeline import run

    timeout = float(os.environ.get(distributed.TIMEOUT_ENV, getattr(args, "worker_timeout", 60.0)))
    try:  # the exchanges of the data pass; training catches its own (distributed.fit), the export has none
        strategy = distributed.start(timeout)
        dist = distributed.Context(cluster, strategy, logs.Shards(assignment[cluster.rank],
                                                                  distributed.Exchange(strategy)), assignment)
        data = prepare(cfg, step, dist)
    except distributed.peer_errors() as e:
        raise distributed.lost(e, cluster) from None
    result = run(cfg, args.out, force=args.force, data=data, step=step,
                 config_source=str(args.config) if args.config else "built-in defaults")
    peak = _peak_rss_mb()
    if result is None:
        print(f"worker {cluster.rank}: training done; worker 0 writes the bundle (peak RSS {peak:.0f} MB)")
        return 0
    print(f"worker 0: peak RSS {peak:.0f} MB", file=sys.stderr)
    return _finish(result, args.command)


def _tune(args) -> int:
    from dataclasses import replace

    from .benchmarks.budgets import load_profile
    from .config import LogConfig, load_config
    from .export.bundle import check_destination
    from .progress import Steps
    from .sources import prepare
    from .tune import TuneConfig, budget_of

    if args.trials < 1:
        raise InputError(f"expected a positive number of trials, got {args.trials}", option="trials")
    if args.timeout <= 0:
        raise InputError(f"expected a positive number of seconds, got {args.timeout}", option="timeout")
    if (args.data is None) != (args.schema is None):
        raise InputError("expected --data and --schema together (or neither, for the built-in data)",
                         option="schema" if args.data else "data")
    cfg = load_config(args.config, {"seed": args.seed} if args.seed is not None else None)
    if args.data is not None:
        cfg = replace(cfg, log=LogConfig(str(args.data), str(args.schema)))
    budget = budget_of(load_profile(args.budgets, args.profile))
    how = TuneConfig(args.out, args.trials, args.timeout, args.force)
    check_destination(args.out / "bundle", args.force)
    step = Steps(sys.stderr)
    data = prepare(cfg, step)  # every data file read and checked before the slow TensorFlow import
    _import_tensorflow_quietly()
    from .tune import tune

    result = tune(cfg, how, data, budget, step, config_source=f"edgeship tune ({args.config or 'built-in defaults'})")
    print(f"peak RSS {_peak_rss_mb():.0f} MB", file=sys.stderr)
    print(f"search: {args.out / 'search.md'}, {args.out / 'search.png'}")
    return _finish(result, args.command)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _without(argv: list[str], flag: str) -> list[str]:
    """argv without `flag VALUE` or `flag=VALUE`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


def summary_table(manifest) -> str:
    """The bundle's files and the test NDCG, as a person reads them at the end of a run."""
    rows = [("artifact", "bytes", "NDCG@10 ratio", "max |d|", "verified")]
    for a in manifest.artifacts:
        v = a.verification
        rows.append((a.path, f"{a.bytes:,}", f"{v.ndcg_ratio:.4f}", f"{v.max_abs_diff:.1e}",
                     "yes" if v.passed else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    m = manifest.metrics
    lines += ["", manifest.model.encoding.items_line()]
    if m.scorers():
        lines.append("test NDCG@10: " + "  ".join(f"{name} {s.ndcg_at_10:.4f}" for name, s in m.scorers().items()))
        lines.append("test AUC:     " + "  ".join(f"{name} {s.auc:.4f}" for name, s in m.scorers().items()))
    if m.evaluation_lists:
        lines.append(f"  (on every test row: {m.evaluation_lists:,} lists, {m.evaluation_rows:,} candidates; each "
                     f"file was checked against the model on the first {m.test_requests:,} lists)")
    for name in ("reference_dnn", "logistic_regression"):
        ref = getattr(m, name)
        if ref is not None and m.model is not None:
            mine = [c for c in m.comparisons if c.reference == name]
            lines.append(f"vs {name.replace('_', ' ')} (difference, 95% paired interval over lists):")
            lines += [f"  {c.scorer:<22} AUC {c.auc.text(signed=True)}  NDCG@10 {c.ndcg_at_10.text(signed=True)}"
                      for c in mine]
            ended = m.reference_training.get(name)
            if ended is not None and ended.capped:
                lines.append(f"  (not trustworthy: the {name.replace('_', ' ')} was stopped by its cap of {ended.cap} "
                             "epochs while still improving; raise [reference.train] epochs)")
    if not m.reliable and m.model is not None:
        lines.append(f"  (only {m.model.positives} positives in the test lists, fewer than {m.min_positives}: "
                     "these figures are noise, not a measure of the model)")
    return "\n".join(lines)


def _finish(result, command: str) -> int:
    print(summary_table(result.manifest))
    print(f"\nbundle: {result.out}  ({result.seconds:.0f}s)")
    for f in result.manifest.failures:
        print(f"edgeship {command}: error: {f.what}: {f.failed_at.value} failed: {f.reason} "
              "(recorded in manifest.json; the other formats were written)", file=sys.stderr)
    return 1 if result.manifest.failures else 0


def _export(args) -> int:
    from .config import load_config
    from .export.bundle import check_destination
    from .user_model import load_calibration

    cfg = load_config(args.config)
    check_destination(args.out, args.force)
    calib = load_calibration(args.calibration)  # a bad .npz is named before TensorFlow loads
    _import_tensorflow_quietly()
    from .user_export import export_user_model

    result = export_user_model(cfg, args.model, args.calibration, args.out, force=args.force, calib=calib)
    return _finish(result, args.command)


def _verify(args) -> int:
    from .export.reader import check_bundle
    from .export.shims import quiet

    release = None
    if args.bundle.is_file():
        from .release.make import verify_release

        if args.public_key is None:
            raise InputError(f"{args.bundle}: a release archive is checked against its key: pass --public-key")
        with quiet():
            release, results = verify_release(args.bundle, args.public_key)
    elif args.public_key is not None:
        raise InputError(f"{args.bundle}: " + ("release archive not found" if not args.bundle.exists() else
                                               "--public-key is for a release archive, and this is a folder"))
    else:
        with quiet():  # coremltools imports TensorFlow where it is installed, and that logs from C++
            results = check_bundle(args.bundle)
    for r in results:
        print(f"{r.path:<24} test vectors max error {r.max_error:.2e} (atol {r.atol:.1e})  ok")
    if release is not None:
        r = release.record
        print(f"{args.bundle}: release {r.version} signed by key {r.key_id}, {len(r.files)} files, rollout "
              f"{r.rollout:g}{', KILL SWITCH' if r.kill_switch else ''}: signature, checksums, schemas and test "
              "vectors ok")
    else:
        print(f"{args.bundle}: checksums, schemas and test vectors ok")
    return 0


def _abtest(args) -> int:
    from .abtest import AB_JSON, markdown, readout, write

    if (args.out / AB_JSON).exists() and not args.force:
        raise AlreadyExists("already holds an ab.json", option="out", value=args.out)
    report = readout(args.log, args.control, args.split, args.guardrail)
    write(report, args.out, force=True)
    print(markdown(report))
    print(f"report: {args.out / AB_JSON}")
    return 0


def _keygen(args) -> int:
    from .release.keys import key_id, keygen, load_public

    private, public = keygen(args.out)
    print(f"{private} (keep it secret: it signs releases)\n{public} (key id {key_id(load_public(public))}: ship it "
          "in the app)")
    return 0


def _release(args) -> int:
    from .export.shims import quiet
    from .release.make import make_release

    out = args.out or Path("artifacts/releases") / f"release-{args.version}.tar"
    files = None if args.files is None else tuple(f.strip() for f in args.files.split(",") if f.strip())
    if files == ():
        raise InputError("expected model files of the bundle, comma-separated", option="files")
    with quiet():
        made = make_release(args.bundle, args.key, args.version, out, min_client=args.min_client,
                            rollout=args.rollout, previous=args.previous, allow_downgrade=args.allow_downgrade,
                            kill_switch=args.kill_switch, force=args.force, files=files)
    r = made.record
    print(f"{out}: release {r.version} of {args.bundle} ({len(r.files)} files, {out.stat().st_size:,} bytes), "
          f"signed by key {r.key_id}; rollout {r.rollout:g} (salt {r.salt}), min client {r.min_client}"
          + (f", replaces {r.previous.version}" if r.previous else "") + (", KILL SWITCH" if r.kill_switch else "")
          + (f"; model files: {', '.join(r.artifacts)}" if r.artifacts else ""))
    return 0


def _bench_config(args):
    from .benchmarks.records import BenchConfig

    return BenchConfig(**{k: getattr(args, k) for k in ("threads", "candidates", "rounds", "invokes", "profile")
                          if getattr(args, k, None) is not None})


def _bench(args) -> int:
    from .benchmarks import report
    from .benchmarks.harness import collect_targets, run_bench

    cfg = _bench_config(args)
    targets, source = collect_targets(args.inputs)  # bad inputs are named before anything else
    if (args.out / report.BENCH_JSON).exists() and not args.force:
        raise AlreadyExists("already holds a bench.json", option="out", value=args.out)
    result = run_bench(targets, cfg, source, progress=lambda line: print(line, flush=True))
    report.write(result, args.out, force=True)
    print(f"\n{args.out / report.BENCH_MD}, {args.out / report.BENCH_JSON} and plots written "
          f"({result.seconds:.0f}s)")
    return 0


def _gate(args) -> int:
    import os

    from .benchmarks import gate
    from .benchmarks.budgets import load_profile
    from .benchmarks.records import BENCH_JSON
    from .core import typed
    from .core.files import write_json, write_text

    profile = load_profile(args.budgets, args.profile)
    result = gate.run_gate(args.input, profile, args.baseline, _bench_config(args),
                           progress=lambda line: print(line, flush=True))
    args.out.mkdir(parents=True, exist_ok=True)
    replaced = (args.out / "gate.xml").exists()
    summary = gate.markdown(result)
    write_json(args.out / BENCH_JSON, typed.dump(result.bench))
    write_text(args.out / "gate.xml", gate.junit_xml(result).decode("utf-8"))
    write_text(args.out / "gate.md", summary + "\n")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(summary + "\n")
    print()
    for c in result.checks:
        print(c.line())
    failed = result.failed
    print(f"\ngate {'passed' if not failed else 'FAILED'}: profile {profile.name}, {len(result.checks)} checks, "
          f"{len(failed)} failed; reports in {args.out}{' (previous report replaced)' if replaced else ''}")
    return 1 if failed else 0


def _compare(args) -> int:
    from .benchmarks.compare import compare, render
    from .benchmarks.records import read_bench

    print(render(compare(read_bench(args.old), read_bench(args.new))))
    return 0


def _evaluate(args) -> int:

    from .offpolicy import OPE_JSON, evaluate, markdown, read_log
    from .progress import Steps

    if args.resamples < 10:
        raise InputError(f"expected at least 10, got {args.resamples}", option="resamples")
    if (args.out / OPE_JSON).exists() and not args.force:
        raise AlreadyExists("already holds an ope.json", option="out", value=args.out)
    if not (args.bundle / "manifest.json").is_file():
        raise InputError(f"{args.bundle}: not a bundle (no manifest.json)")
    if args.baseline is not None and not (args.baseline / "manifest.json").is_file():
        raise InputError("not a bundle (no manifest.json)", option="baseline", value=args.baseline)
    if args.data.suffix == ".jsonl":  # the app's impression log says what each field is
        if args.schema is not None:
            raise InputError(f"{args.data}: an impression log needs no schema", option="schema")
        from .offpolicy import read_impressions

        logged = read_impressions(args.data)
    elif args.schema is None:
        raise InputError(f"{args.data}: a CSV / Parquet log needs its schema TOML: pass --schema")
    else:
        logged = read_log(args.data, args.schema)  # the whole log checked before any runtime loads
    _import_tensorflow_quietly()
    report = evaluate(args.bundle, args.data, args.schema, args.out, baseline=args.baseline, file=args.file,
                      resamples=args.resamples, seed=args.seed, force=args.force, step=Steps(sys.stderr),
                      logged=logged)
    print(markdown(report))
    print(f"report: {args.out / OPE_JSON}")
    return 0


COMMANDS = {"run": _run, "train": _run, "tune": _tune, "export": _export, "verify": _verify, "bench": _bench,
            "gate": _gate, "compare": _compare, "evaluate": _evaluate, "keygen": _keygen, "release": _release,
            "abtest": _abtest}
# How the library's errors say what to do about them on the command line.
REMEDIES = {AlreadyExists: "pass --force to replace it"}


def error_line(command: str, e: EdgeshipError) -> str:
    """One line: the library's option named as this CLI's flag, and the remedy where there is one."""
    text = e.render(f"--{e.option.replace('_', '-')}" if e.option else None)
    remedy = next((r for cls, r in REMEDIES.items() if isinstance(e, cls)), None)
    return f"edgeship {command}: error: {text}" + (f"; {remedy}" if remedy else "")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        return COMMANDS[args.command](args)
    except EdgeshipError as e:
        print(error_line(args.command, e), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"edgeship {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
