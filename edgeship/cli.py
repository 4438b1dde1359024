"""The command line: a thin layer over the Python API. User errors become one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EdgeshipError

DEFAULT_OUT = Path("artifacts/bundle")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2, like ours
        print(f"edgeship: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgeship", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train, quantize, convert, verify and write a bundle")
    run.add_argument("--config", type=Path, help="TOML config (defaults are built in)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"bundle directory (default {DEFAULT_OUT})")
    run.add_argument("--seed", type=int, help="override the config's seed")
    run.add_argument("--force", action="store_true", help="replace an existing bundle at --out")

    verify = sub.add_parser("verify", help="re-check a bundle: checksums, schemas, test vectors in each runtime")
    verify.add_argument("bundle", type=Path)
    return parser


def _import_tensorflow_quietly() -> None:
    """TensorFlow's C++ start-up logs (CUDA probing, oneDNN notices) bypass TF_CPP_MIN_LOG_LEVEL."""
    from .export._shims import quiet

    with quiet():
        import tensorflow  # noqa: F401


def _run(args) -> int:
    _import_tensorflow_quietly()
    from .config import load_config
    from .pipeline import run, summary_table

    overrides = {"seed": args.seed} if args.seed is not None else None
    cfg = load_config(args.config, overrides)
    result = run(cfg, args.out, force=args.force,
                 config_source=str(args.config) if args.config else "built-in defaults")
    print(summary_table(result.manifest))
    print(f"\nbundle: {result.out}  ({result.seconds:.0f}s)")
    return 0


def _verify(args) -> int:
    _import_tensorflow_quietly()  # coremltools imports it when installed
    from .export.check import check_bundle

    for r in check_bundle(args.bundle):
        print(f"{r.path:<24} test vectors max error {r.max_error:.2e} (atol {r.atol:.1e})  ok")
    print(f"{args.bundle}: checksums, schemas and test vectors ok")
    return 0


COMMANDS = {"run": _run, "verify": _verify}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except EdgeshipError as e:
        print(f"edgeship {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"edgeship {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
