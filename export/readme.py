"""The bundle's README.md for the mobile team, rendered from the manifest (the single source of facts)."""

from __future__ import annotations

from ..models.features import FEATURE_CLIP
from .about import meanings
from ..ondevice.fallback import FALLBACK_ORDER
from .manifest import Manifest
from .tflite import L2


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_readme(manifest: Manifest) -> str:
    model = manifest.model
    spec = model.feature_spec
    k = model.candidates
    first = manifest.artifacts[0]
    said = meanings(spec, k)  # the same sentences each file carries in its own metadata
    contract = _table(["name", "dtype", "shape", "meaning"], [
        [t.name, t.dtype, str(list(t.shape)), said.get(t.name, "")] for t in first.inputs + first.outputs])
    files = _table(["file", "format", "precision", "bytes", "sha256", "NDCG@10 ratio", "runtime checked"], [
        [a.path, a.format, a.precision, f"{a.bytes:,}", a.sha256[:16] + "…",
         f"{a.verification.ndcg_ratio:.4f}", a.verification.runtime] for a in manifest.artifacts])
    if manifest.failures:  # said at the top of the file list, so nobody looks for a format that is not there
        files = ("**Not in this bundle** (the run exited non-zero): " + "; ".join(
            f"{f.what} ({f.failed_at.value}: {f.reason})" for f in manifest.failures) + "\n\n" + files)
    if spec.feature_mean is not None:
        rows = [[name, f"{m:.6g}", f"{sc:.6g}"] for name, m, sc in
                zip(spec.item_features, spec.feature_mean, spec.feature_scale)]
        contract += ("\n\n`candidate_features` are standardized by the app, per feature: "
                     f"`clip((x - mean) * scale, -{FEATURE_CLIP:g}, {FEATURE_CLIP:g})` with\n\n"
                     + _table(["feature", "mean", "scale"], rows))
    enc = model.encoding
    rules = _table(["field", "input", "kind", "ids", "rule", "examples"],
                   [[f.name, f.input, f.kind, f"0..{f.size - 1}", f.rule,
                     ", ".join(f"`{k_}` → {v}" for k_, v in f.examples.items()) or "–"] for f in enc.fields])
    return f"""# edgeship ranker bundle

A ranking model that scores **{k} candidate items for one request** in a single call, exported to TensorFlow
Lite, Core ML and ONNX. Every file here was executed by its runtime and compared with the trained model before
this bundle was written; `manifest.json` has the figures, `features.json` is the raw-input contract (everything
your app must do to a request before the model sees it), and `testvectors_raw.json` / `testvectors.json` let your
app check its own integration without Python.

## From a raw request to a ranked list (`features.json`)
1. **context**: one int32 per entry of `features.json` → `context`, in that order. `source` names the value in
   your request; `kind` says how it becomes an id: `vocabulary` (look `str(value)` up in `{model.encoding.file}`
   → the field's `values`; id = `first` + position, anything else → `oov`), `hash` (`fnv1a_32(str(value)) mod
   buckets`), `time` (from the request's unix timestamp in **UTC**, rules under `time`), `index` (the value is
   the id), `constant` (0).
2. **candidates** and **history**: every item id through `items` (the same rule for both); history most recent
   first, cut to its length, padded with 0; a list of n < K candidates is padded with id 0 and features 0.
3. **candidate_features**: per feature `clip((x - mean) * scale, -clip, clip)` (no clip where `clip` is null).
4. Run the model; sort the n real slots by `scores`, highest first (equal scores keep your order); ignore the
   padded slots.

`testvectors_raw.json` holds requests exactly as an app holds them (string item ids, raw context values, a
timestamp, raw features, a list shorter than K, values no vocabulary knows, an empty history), the tensors step 1–3
must give, each file's scores and the ranked item ids: put them in your app's unit tests.

## App code
The steps above are what any client does. edgeship's repository generates code for them from this bundle's
`features.json` (`python -m clients.codegen BUNDLE --out DIR`: Kotlin for Android with LiteRT, Swift for iOS
with Core ML, TypeScript for `onnxruntime-common`), which reads `vocabularies.json`, `rules.json` and
`fallback.json` at start-up, applies `rules.json` to every ranking, and ranks by `fallback.json` when the model
cannot be loaded or run (without it: {FALLBACK_ORDER}). Client packages that read any bundle of this contract
version replace the generated code.

## Contract (identical in every file)
{contract}

- Raw values become ids on the app side, field by field; `{enc.file}` holds every rule and vocabulary
  (sha256 `{enc.sha256[:16]}…` in the manifest). FNV-1a 32-bit: start at 0x811C9DC5; for each UTF-8 byte:
  `h = (h XOR byte) * 0x01000193 mod 2^32`.

{rules}

  Items — {enc.items_line()}.
- `history`: most recent first, padded with 0 at the end; fewer than {spec.history_len} items is fine.
- `candidate_features` are scaled as in training (each about −1..1): {", ".join(spec.item_features)}.
- Inputs and outputs are float32/int32 in every file, including the int8 ones (they quantize inside), so one
  integration serves all precisions. `scores` are click logits: rank candidates by score, highest first; the
  click probability, where you need one, is `1 / (1 + exp(-score))`.

## Files
{files}

- **Android**: `ranker_int8.tflite` (builtin ops only; signature `serving_default`). `ranker_fp32.tflite` is the
  float reference.
- **iOS / macOS**: `ranker_int8.mlmodel` (8-bit weights, float compute) or `ranker_fp32.mlmodel`; NeuralNetwork
  spec version 4, iOS 13 / macOS 10.15 or newer. Load it with `MLModelConfiguration.computeUnits = .cpuOnly`:
  item ids above 2048 are not exact in float16, which the GPU and Neural Engine use.
- **ONNX Runtime** (including ONNX Runtime Mobile): `ranker_int8.onnx` is the int8 .tflite as a QDQ graph (the
  same integer model), `ranker_fp32.onnx` the float one.
- **ONNX Runtime Mobile**: `ranker_int8.ort` is `ranker_int8.onnx` in ORT format (made by ONNX Runtime's own
  converter, optimized for ARM), verified like the other files; `required_operators.config` lists its operators
  for a reduced ORT Mobile build (`--include_ops_by_config`).
- The .onnx and .mlmodel files describe themselves where Netron and Xcode look (ONNX `doc_string` and
  `metadata_props`, Core ML description, author, licence, version, per-input descriptions and user-defined
  metadata with the edgeship and contract versions); set the name, version, author and licence with
  `[export.identity]` in the run config.
{_personal_section(manifest)}{_rules_section(manifest)}{_fallback_section(manifest)}
## Verify a download
1. Check each file's SHA-256 against `manifest.json`: the artifacts under `artifacts`, the contract,
   vocabularies and test vectors under `files` (`sha256sum -c` works on the list `sha256  path`).
2. Run `testvectors_raw.json` in your app's unit tests: encode each `request` with your own code and compare
   with `tensors` (ids exactly, features within 1e-6), then compare the file's scores with `expected[<file>]`
   (in the file's declared output shape) within `atol[<file>]` and your ranking with `ranked[<file>]`.
   `testvectors.json` does the same from ready tensors.
3. Or, with Python and edgeship installed: `edgeship verify <this folder>`.
"""


def _measured(r, cost: str) -> str:
    by_n = {p.n: p for p in r.curve}
    top = by_n[max(by_n)]
    return f"""
Measured on {r.users} simulated new users ([personalization.md](personalization.md)): NDCG@10 on a user's later
requests goes from {top.global_ndcg.estimate:.4f} (shipped model) to {top.personal_ndcg.estimate:.4f} after {top.n} train
calls (gain {top.gain.estimate:+.4f}, 95 % CI {top.gain.low:+.4f} … {top.gain.high:+.4f}); {cost}
"""


def _personal_section(manifest: Manifest) -> str:
    return "".join(_tflite_personal(manifest, a) if a.format == "tflite" else _coreml_personal(manifest, a)
                   for a in manifest.artifacts if a.trainable)


def _fallback_section(manifest: Manifest) -> str:
    f = manifest.fallback
    if f is None:
        return ""
    cold = f.cold_start
    return f"""
## Without a model: `{f.file}` ({f.bytes / 1000:.0f} KB)
A ranking the app computes with no ML runtime, for when the model cannot be loaded or run: the rule baseline
(item popularity{" within the request's context segment" if f.kind == "segment_popularity" else ""}) as a table
keyed by the ids `features.json` computes. Its rule is in the file (`rule`). On the test lists it ranks NDCG@10
{f.ndcg_at_10:.4f}, the model {f.model_ndcg_at_10:.4f}. **Cold start** (the same {cold.requests} lists with the
history removed): the model {cold.model_ndcg_at_10:.4f}, the table {cold.fallback_ndcg_at_10:.4f}, so rank users
with no history with the **{cold.choice}**. `testvectors_raw.json` gives each request's order by this table,
under `rules.json` (`fallback`), for your unit tests; app code ranks with it when the model cannot.
"""


def _rules_section(manifest: Manifest) -> str:
    r = manifest.rules
    if r is None:
        return ""
    if r.rules == 0:
        return f"""
## Business rules: `{r.file}`
Holds no rules (configure them under `[rules]` in the run config). App code applies it to every ranking all
the same, so rules added to a later bundle need no new app code.
"""
    rows = [(name, getattr(r, name)) for name in ("model", "hybrid", "rule_baseline", "fallback")
            if getattr(r, name) is not None]
    table = _table(["ranking", "NDCG@10", *[f"lists breaking: {k}" for k in r.model.lists_breaking]],
                   [[name, f"{q.ndcg_at_10:.4f}", *map(str, q.lists_breaking.values())] for name, q in rows])
    return f"""
## Business rules: `{r.file}` ({r.rules} rules)
Filters, boosts, pins, caps and runs, applied to every ranking (the model's and `fallback.json`'s) in the fixed
order the file states (`order`). On the {r.lists} test lists (hybrid = the model, then the rules):

{table}
{"".join(f"{chr(10)}- {n}" for n in r.notes)}
"""


def _study(manifest: Manifest, path: str):
    return next((r for r in manifest.personalization if r.file == path), None)


def _coreml_personal(manifest: Manifest, personal) -> str:
    """The app protocol for the updatable Core ML file."""
    from .coreml import UPDATE

    r = _study(manifest, personal.path)
    lr = f"{r.learning_rate:g}" if r else f"{UPDATE.learning_rate:g} (the file's default; tune it on your own users)"
    text = f"""
## Personalization on iOS: `{personal.path}`

An updatable Core ML model (`isUpdatable`): the fp32 ranker frozen, plus one layer (`personal_head`, a 1x1
convolution over the candidates: the ranker's score and the candidate features, weighted) that Core ML's own
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
    return text + (_measured(r, cost) if r else "")


def _tflite_personal(manifest: Manifest, personal) -> str:
    """The app protocol for the trainable .tflite, with the study's figures when the run had users to follow."""
    r = _study(manifest, personal.path)
    lr = f"{r.learning_rate:g}" if r else "0.1 (no study on this data: tune it on your own users)"
    rate, l2 = (f"{r.learning_rate:g}", f"{r.l2:g}") if r else ("lr", f"{L2:g}")
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
- `get_weights() -> w, b` and `set_weights(w, b)`: persist the learned state across app restarts (store it in
  the app's private storage; it is the user's data).
- `reset()`: back to the shipped model (the user's "reset personalization").
"""
    if manifest.config.get("export", {}).get("personal_head") == "features":
        text += f"""
The head sees only `candidate_features`, so an app on ONNX Runtime (or Core ML without the updatable file) can
keep it itself beside `ranker_int8.onnx` / `ranker_int8.mlmodel` (measured with ONNX: the same gain): `score_i += features_i · w + b`;
after a request with taps, with `p_i = sigmoid(score_i)`, `g_i = (p_i − label_i) · mask_i / max(Σ mask, 1)`:
`w −= {rate} · (Σ_i g_i · features_i + {l2} · w)`, `b −= {rate} · (Σ_i g_i + {l2} · b)`; `w`, `b` start at 0.
"""
    cost = (f"the learned state is {r.state_bytes} bytes per user; one `train` call took "
            f"{r.train_ms_p50 * 1000:.0f} µs on the build host ({r.runs_in}).") if r else ""
    return text + (_measured(r, cost) if r else "")

