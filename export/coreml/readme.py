"""The .mlmodel files' part of the bundle README."""

from __future__ import annotations

from ..readme import measured
from . import MINIMUM_DEPLOYMENT, UPDATE


def files(manifest) -> str:
    ios, macos = MINIMUM_DEPLOYMENT["iOS"], MINIMUM_DEPLOYMENT["macOS"]
    return f"""- **iOS / macOS**: `ranker_int8.mlmodel` (8-bit weights, float compute) or `ranker_fp32.mlmodel`; NeuralNetwork
  spec version 4, iOS {ios} / macOS {macos} or newer. Load it with `MLModelConfiguration.computeUnits = .cpuOnly`:
  item ids above 2048 are not exact in float16, which the GPU and Neural Engine use.
"""


def personal(manifest, personal, r) -> str:
    """The app protocol for the updatable Core ML file, with the study's figures (r) when there is one."""
    lr = f"{r.learning_rate:g}" if r else f"{UPDATE.learning_rate:g} (the file's default; tune it on your own users)"
    weighed = ("the ranker's score, the candidate features and the candidate's item vector (from the training "
               "histories, frozen in the file)" if personal.details.user_vector else
               "the ranker's score and the candidate features")
    text = f"""
## Personalization on iOS: `{personal.path}`

An updatable Core ML model (`isUpdatable`): the fp32 ranker frozen, plus one layer (`personal_head`, a 1x1
convolution over the candidates: {weighed}, weighted) that Core ML's own
`MLUpdateTask` trains on the device. Until the first update it ranks exactly like `ranker_fp32.mlmodel`.

- Predict as with the other .mlmodel files: `scores` ranks the candidates (`tap_probability` is their softmax).
- After a request with taps: one training example per tapped candidate: the same four inputs plus
  `{UPDATE.target}` (Int64, the tapped candidate's index 0 .. K-1), as an `MLBatchProvider`, to
  `MLUpdateTask(forModelAt: compiledURL, trainingData: batch, configuration: config, completionHandler: ...)`
  with `config.parameters = [MLParameterKey.learningRate: {lr}]` (mini-batch 1, one epoch, SGD without momentum:
  the file's defaults). Save the updated model the completion handler gives (`context.model.write(to:)`) in the
  app's private storage and load it from there next time; "reset personalization" = load the shipped file again.
- Core ML updates models only in an app: nothing here ran this file's update in Core ML. edgeship checks it
  against Apple's rules for updatable models, and the study below computes Core ML's update step (SGD on the
  cross-entropy of the tapped candidate) in NumPy from the file itself.
"""
    cost = (f"the learned part is {r.trainable_parameters} numbers, but Core ML saves the whole updated model; "
            "the cost of an update on a phone is Core ML's and was not measured here.") if r else ""
    return text + (measured(r, cost) if r else "")
