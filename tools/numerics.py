"""How this machine's TensorFlow rounds float32, as a short fingerprint: `python -m tools.numerics [--write]`.

The committed reference bundle (tests/data/reference_bundle) holds trained weights, and training's float32 sums
are ordered by the kernels TensorFlow picks for the CPU (AVX-512 or AVX2 blocking) and by how many cores share a
matmul: the same commit, config and seed wrote other weights in their last bits on an AMD EPYC without AVX-512
than on the machine before it (2026-12-03), and this fingerprint changes when the process is pinned to one of
two cores. The fingerprint is a few matmul-and-update steps shaped like the ranker's training; `make
reference-bundle` records it beside the bundle (--write), and tests/test_reference_bundle.py compares bytes only
on a machine that computes the same fingerprint.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

RECORD = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference_bundle.numerics"


def fingerprint() -> str:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # as training asks (models.training.seed_everything)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((128, 300)), tf.float32)
    w = tf.Variable(rng.standard_normal((300, 64)) * 0.05, dtype=tf.float32)
    v = tf.constant(rng.standard_normal((64, 1)), tf.float32)
    for _ in range(3):  # forward, hand-written backward, update: sums of hundreds of products in each
        h = tf.nn.relu(tf.matmul(x, w))
        back = tf.matmul(tf.matmul(h, v), v, transpose_b=True) * tf.cast(h > 0, tf.float32)
        g = tf.matmul(x, back, transpose_a=True)
        w.assign_sub(1e-4 * g)
    return hashlib.sha256(w.numpy().tobytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    value = fingerprint()
    if "--write" in (argv if argv is not None else sys.argv[1:]):
        RECORD.write_text(value + "\n")
    print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
