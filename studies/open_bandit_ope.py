"""Off-policy evaluation on the Open Bandit logs: train a bundle on the first half of a campaign's week (by time),
then estimate on the second half, which the bundle never saw, what its policies would have earned against the
uniform-random policy that wrote the log. Both halves go through the real commands' Python API
(`edgeship train`, `edgeship evaluate`).
`python -m studies.open_bandit_ope [--out artifacts/open_bandit_ope] [--campaigns men,women] [--resamples 1000]`
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd

from edgeship.config import LogConfig, load_config
from edgeship.offpolicy import evaluate
from edgeship.pipeline import run
from edgeship.progress import Steps
from studies.quality import OPEN_BANDIT, SCHEMA


def split_by_time(campaign: str, out: Path) -> tuple[Path, Path]:
    """The campaign's log in two halves by timestamp: (earlier, later) CSV files."""
    df = pd.read_csv(OPEN_BANDIT / campaign / f"{campaign}.csv", index_col=0)
    df = df.sort_values("timestamp", kind="stable")
    half = len(df) // 2
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train.csv", out / "evaluate.csv"
    df.iloc[:half].to_csv(paths[0], index=False)
    df.iloc[half:].to_csv(paths[1], index=False)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/open_bandit_ope"))
    parser.add_argument("--campaigns", default="men,women")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    step = Steps(sys.stderr)
    for campaign in args.campaigns.split(","):
        folder = args.out / campaign
        train, later = split_by_time(campaign, folder / "log")
        cfg = dataclasses.replace(load_config(None), log=LogConfig(str(train), str(SCHEMA)))
        run(cfg, folder / "bundle", force=True, step=step, config_source=f"studies.open_bandit_ope {campaign}")
        report = evaluate(folder / "bundle", later, SCHEMA, folder / "ope", resamples=args.resamples, force=True,
                          step=step)
        p = {e.policy: e for e in report.policies}
        print(f"{campaign}: {report.rows} rows, {report.clicks} clicks; logging {report.logging.estimate:.5f} "
              f"[{report.logging.low:.5f}, {report.logging.high:.5f}]; "
              + "; ".join(f"{name} DR {e.dr.estimate:.5f} [{e.dr.low:.5f}, {e.dr.high:.5f}]" for name, e in p.items())
              + f"; {report.comparison.recommendation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
