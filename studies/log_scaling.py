"""Does training on a log stay within bounded memory, with time growing linearly?
`python -m studies.log_scaling --out DIR [--events 1000000 10000000]`

For each size: writes a synthetic log as Parquet shards of 500k events (studies/synthetic_log.py), then runs the
real `edgeship train` on it in a child process (one epoch, tflite only, so the fixed export cost stays small) and
reports the child's peak RSS (VmHWM, polled) and wall time, with the phase times from its progress lines.
Target: at most 3 GB peak RSS at 10 M events. Writes DIR/log_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from .synthetic_log import write_log

CONFIG = """
[train]
epochs = 1
batch_size = 1024
[quantization]
qat = false
[export]
formats = ["tflite"]
"""
SHARD_EVENTS = 500_000


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(out_dir: Path, events: int, seed: int) -> dict:
    folder = out_dir / f"log_{events}"
    if not (folder / "schema.toml").is_file():
        t0 = time.perf_counter()
        write_log(folder, events, shards=max(1, events // SHARD_EVENTS), kind="parquet", seed=seed)
        print(f"wrote {events:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    config = out_dir / "config.toml"
    config.write_text(CONFIG)
    out = out_dir / f"bundle_{events}"
    cmd = [sys.executable, "-m", "edgeship.cli", "train", "--data", str(folder), "--schema",
           str(folder / "schema.toml"), "--config", str(config), "--out", str(out), "--force"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _hwm_mb(proc.pid))  # VmHWM is the high-water mark: polling cannot miss the peak
        time.sleep(0.5)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"edgeship train failed on {events:,} events:\n{stderr[-2000:]}")
    stamps = {m.group(2)[:40]: float(m.group(1)) for m in re.finditer(r"\[\s*([\d.]+)s\] (.*)", stderr)}

    def at(prefix: str) -> float | None:
        return next((v for k, v in stamps.items() if k.startswith(prefix)), None)

    validated, trained = at("log "), at("test model")
    result = {"events": events, "wall_s": round(wall, 1), "peak_rss_mb": round(peak, 1),
              "validation_pass_s": validated, "training_s": round(trained - at("training the ranker"), 1)
              if trained else None}
    print(f"{events:>12,} events: wall {wall:6.0f} s, peak RSS {peak:7.0f} MB, validation pass "
          f"{validated} s, one training epoch {result['training_s']} s", flush=True)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("artifacts/log_scaling"), help="where the study writes")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = [measure(args.out, n, args.seed) for n in args.events]
    if len(results) > 1:
        a, b = results[0], results[-1]
        scale = b["events"] / a["events"]
        print(f"\n{scale:.0f}x the events: {b['wall_s'] / a['wall_s']:.1f}x the wall time, "
              f"{b['training_s'] / a['training_s']:.1f}x the training time, "
              f"{b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x the peak RSS")
    (args.out / "log_scaling.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0 if all(r["peak_rss_mb"] <= 3072 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
