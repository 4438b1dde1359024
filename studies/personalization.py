"""The personalization study at any size on an existing bundle's trainable file.
`python -m studies.personalization --bundle artifacts/bundle --out DIR [--users 2000]`

The same study `edgeship run` puts in every built-in-data bundle (export/personalization.py), with the
bundle's own run config and seed read from its manifest; --users / --tune-users override its size. Writes
DIR/personalization.json, .md and .png.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgeship.config import bundle_config
from edgeship.core import typed
from edgeship.core.files import write_json, write_text
from edgeship.export import formats
from edgeship.export.manifest import read_manifest_file
from edgeship.export.tflite import L2
from edgeship.models.data import timelines
from edgeship.ondevice import personalization

LEGACY_PRIOR = 5.0  # every head weight's starting curvature before 2026-12-03


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    p.add_argument("--out", type=Path, default=Path("artifacts/personalization"))
    p.add_argument("--users", type=int, help="users the curve is reported on (default: the bundle's)")
    p.add_argument("--tune-users", type=int, help="users the learning rate is chosen on (default: the bundle's)")
    p.add_argument("--file", metavar="NAME", help="the trainable file of the bundle to study (default: the one the "
                   "bundle's study used; ranker_personal.mlmodel: the updatable Core ML file)")
    p.add_argument("--learning-rates", type=lambda s: tuple(float(x) for x in s.split(",")),
                   help="comma-separated rates to choose from (default: the bundle's, times the file's scale)")
    p.add_argument("--app-side", metavar="FILE", help="instead of the trainable .tflite: this scoring file of the "
                   "bundle (e.g. ranker_int8.onnx) plus a head over the candidate features that the app updates "
                   "itself (the ONNX path)")
    args = p.parse_args(argv)
    manifest = read_manifest_file(args.bundle / "manifest.json")
    if not manifest.personalization:
        print(f"{args.bundle}: no personalization study in this bundle (built-in data only)", file=sys.stderr)
        return 2
    cfg = bundle_config(manifest)
    study = replace(cfg.personalization, **{k: v for k, v in (("users", args.users), ("tune_users", args.tune_users),
                                                              ("learning_rates", args.learning_rates))
                                            if v is not None})
    k = manifest.model.candidates
    tune, report = (timelines(cfg.data, k, cfg.seed, n, study.length, stream) for n, stream in
                    ((study.tune_users, 2), (study.users, 1)))
    path = args.bundle / (args.app_side or args.file or manifest.personalization[0].file)
    if args.app_side:
        session = formats.for_path(path).open_session(path)
        # the trainable .tflite's starting curvature; a bundle from before it was per feature: the one prior then
        prior = next((a.details.curvature_prior for a in manifest.artifacts
                      if a.trainable and a.format == "tflite" and a.details.curvature_prior), [LEGACY_PRIOR])
        items = personalization.head_items(cfg.export.personal_head, manifest.model.feature_spec.item_buckets)
        trainer = personalization.AppSideHead(session, len(manifest.model.feature_spec.item_features), L2,
                                              np.asarray(prior, np.float32), items,
                                              f"the app's own head update (NumPy) beside {path.name}")
    else:
        trainer = formats.for_path(path).trainer(path)
    record = personalization.study(trainer, path.name, tune, report, study, cfg.seed, progress=print)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "personalization.json", typed.dump(record))
    write_text(args.out / "personalization.md", personalization.markdown(record))
    personalization.plot([record], args.out / "personalization.png")
    print(personalization.markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
