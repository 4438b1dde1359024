"""Federated averaging of the on-device head, simulated through the bundle's trainable file.
`python -m studies.federated --bundle artifacts/bundle --out DIR`

Devices are new users of the built-in world (the bundle's own run config and seed, read from its manifest);
each trains the head on its own requests in LiteRT and sends only the clipped change of `get_weights`; the
server averages the changes (plus Gaussian noise when --noise > 0). The global model is scored on the bundle's
test requests after every round, beside the centrally trained ranker as shipped. Writes DIR/federated.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgeship.config import bundle_config
from edgeship.core import typed
from edgeship.export import formats
from edgeship.export.manifest import read_manifest_file
from edgeship.models.data import generate, timelines
from edgeship.ondevice.personalization import federated


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--out", type=Path, default=Path("artifacts/federated"))
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--devices", type=int, default=50, help="devices per round")
    p.add_argument("--requests", type=int, default=20, help="requests each device trains on per round")
    p.add_argument("--population", type=int, default=500, help="users devices are drawn from")
    p.add_argument("--clip", type=float, default=1.0, help="clip norm of one device's change")
    p.add_argument("--noise", type=float, default=0.0, help="noise multiplier (0: none)")
    p.add_argument("--test-requests", type=int, default=300)
    args = p.parse_args(argv)
    manifest = read_manifest_file(args.bundle / "manifest.json")
    cfg = bundle_config(manifest)
    study = next((r for r in manifest.personalization if r.file.endswith(".tflite")), None)
    if study is None:
        print(f"{args.bundle}: no study of a trainable .tflite in this bundle (built-in data only)", file=sys.stderr)
        return 2
    k = manifest.model.candidates
    devices = timelines(cfg.data, k, cfg.seed, args.population, args.requests, stream=3)
    test = generate(cfg.data, k, cfg.seed).test.take(slice(0, args.test_requests))
    trainer = formats.get("tflite").trainer(args.bundle / study.file)
    result = federated(trainer, devices, test, args.rounds, args.devices, study.learning_rate,
                       args.clip, args.noise, cfg.seed, progress=print)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "federated.json").write_text(json.dumps(typed.dump(result), indent=1) + "\n")
    best = max(result.rounds, key=lambda r: r.ndcg)
    print(f"central {result.central_ndcg:.4f}; after {len(result.rounds)} rounds {result.rounds[-1].ndcg:.4f} "
          f"(best {best.ndcg:.4f} at round {best.round}); {args.devices} devices/round, clip {args.clip}, "
          f"noise {args.noise}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
