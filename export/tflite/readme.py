"""The .tflite files' part of the bundle README."""

from __future__ import annotations

from ...ondevice.personalization import ITEM_HEAD, ITEM_PRIOR, VECTOR_HEAD, VECTOR_PRIOR, head_items
from ..readme import measured
from . import L2, SIGNATURE


def files(manifest) -> str:
    return f"""- **Android**: `ranker_int8.tflite` (builtin ops only; signature `{SIGNATURE}`). `ranker_fp32.tflite` is the
  float reference.
"""


def personal(manifest, personal, r) -> str:
    """The app protocol for the trainable .tflite, with the study's figures (r) when the run had users to follow."""
    lr = f"{r.learning_rate:g}" if r else "0.1 (no study on this data: tune it on your own users)"
    rate, l2 = (f"{r.learning_rate:g}", f"{r.l2:g}") if r else ("lr", f"{L2:g}")
    head = manifest.config.get("export", {}).get("personal_head")
    items = head_items(head, manifest.model.feature_spec.item_buckets)
    user = personal.details.user_vector
    state = "w, b, q" + (", v, r" if items else "") + (", u, qu" if user else "")
    text = f"""
## Personalization on the phone: `{personal.path}`

The same ranker, frozen, plus a small linear head that learns this one user from their taps, on the device:
nothing about the user leaves the phone. Until the first `train` call it ranks like the shipped ranker (its
verification is in manifest.json). Signatures (LiteRT `Interpreter` API, builtin ops only; all runners of one
interpreter share the learned state):

- `infer(context, history, candidates, candidate_features) -> scores`: rank with what was learned so far.
- `train(..., labels, mask, learning_rate) -> loss`: after a request whose taps are known, one call with the
  same four inputs, `labels` [1, K] (1 = tapped, 0 = shown and not tapped), `mask` [1, K] (1 = a real
  candidate, 0 = padding) and `learning_rate` [1] = **{lr}**. One call per request with taps.
- `get_weights() -> {state}` and `set_weights({state})`: persist the learned state (the head and each
  weight's curvature so far) across app restarts (store it in the app's private storage; it is the user's data).
- `reset()`: back to the shipped model (the user's "reset personalization").
"""
    if head in ("features", ITEM_HEAD, VECTOR_HEAD):
        text += f"""
The head sees only `candidate_features`{" and the candidate ids" if items else ""}, so an app on ONNX Runtime (or
Core ML without the updatable file) can keep it itself beside `ranker_int8.onnx` / `ranker_int8.mlmodel` (measured
with ONNX: the same gain{" as this file without its user vector; the user vector below needs the item vectors, "
                         "which only the trainable files carry" if user else ""}): `score_i += features_i · w + b{" + v[id_i]" if items else ""}`;
after a request with taps, with `p_i = sigmoid(score_i)`, `g_i = (p_i − label_i) · mask_i` and
`h_i = p_i · (1 − p_i) · mask_i`: first `q += Σ_i h_i · features_i²` (elementwise), then
`w −= {rate} · (Σ_i g_i · features_i + {l2} · w) / q` (elementwise: a Newton step per weight) and
`b −= {rate} · (Σ_i g_i + {l2} · b)`; `w`, `b` start at 0 and `q` at {_prior(manifest, personal)}
(manifest.json: this file's `details.curvature_prior`; what `reset()` restores).
"""
    if items:
        text += f"""`v` and `r` hold one number per item id (`candidates` values, {items:,} of them): with `G[id]` and
`H[id]` the sums of `g_i` and `h_i` over the request's candidates with that id, `r += H`, then
`v −= {rate} · (G + {l2} · v) / r` over every id; `v` starts at 0 and `r` at {ITEM_PRIOR:g}.
"""
    if user:
        text += f"""`u` and `qu` ({user} numbers each) are the user vector and its curvature, learned against the item
vectors `e[id]` frozen in the file (from the training histories: items users keep together, with the item
features' part taken out): `score_i += e[id_i] · u`, and after a request `qu += Σ_i h_i · e[id_i]²`,
`u −= {rate} · (Σ_i g_i · e[id_i] + {l2} · u) / qu` (elementwise); `u` starts at 0 and `qu` at {VECTOR_PRIOR:g}.
"""
    cost = (f"the learned state is {r.state_bytes} bytes per user; one `train` call took "
            f"{r.train_ms_p50 * 1000:.0f} µs on the build host ({r.runs_in}).") if r else ""
    return text + (measured(r, cost) if r else "")


def _prior(manifest, personal) -> str:
    """The starting curvature per candidate feature, grouped by value: "20 for price, quality and 5 for ..."."""
    names = manifest.model.feature_spec.item_features
    prior = personal.details.curvature_prior[-len(names):]  # after the hidden units' (features+hidden)
    groups = {}
    for name, q in zip(names, prior):
        groups.setdefault(q, []).append(f"`{name}`")
    return " and ".join(f"{q:g} for {', '.join(n)}" for q, n in groups.items())
