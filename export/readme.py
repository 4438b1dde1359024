"""The bundle's README.md for the mobile team, rendered from the manifest (the single source of facts)."""

from __future__ import annotations

from pathlib import Path

from ..models.features import FEATURE_CLIP
from ..ondevice.contract import CONTRACT_VERSION as CONTRACT
from ..ondevice.fallback import FALLBACK_ORDER
from . import formats
from .about import meanings
from .manifest import Manifest


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
    contract += _other_io(manifest)
    files = _table(["file", "format", "precision", "bytes", "sha256", "NDCG@10 ratio", "runtime checked"], [
        [a.path, a.format, a.precision, f"{a.bytes:,}", a.sha256[:16] + "…",
         f"{a.verification.ndcg_ratio:.4f}", a.verification.runtime] for a in manifest.artifacts])
    shipped = {a.format for a in manifest.artifacts}
    formats_section = "".join(f.readme_files(manifest) for f in formats.FORMATS.values() if f.name in shipped)
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
1. **context**: one id per entry of `features.json` → `context`, in that order. `source` names the value in
   your request; `kind` says how it becomes an id: `vocabulary` (look `canonical(value)` up in
   `{model.encoding.file}` → the field's `values`; id = `first` + position, anything else → `oov`), `hash`
   (`offset + fnv1a_32(canonical(value)) mod (buckets - offset)`), `time` (from the request's unix timestamp in
   **UTC**, rules under `time`), `index` (the value is the id: `raw_values.index` says what parses), `constant`
   (0). `canonical` is `raw_values.canonical`: one string form of a value that is not a string (12.0 → "12",
   true → "true"), the same in every client.
2. **candidates** and **history**: every item id through `items` (the same rule for both, with its own
   `offset`, `oov` and `padding`); history most recent first, cut to its length, padded with `padding`; a list of
   n < K candidates is padded with `padding` and features 0; n > K: `candidates.merge`.
   A value the contract needs and the request lacks is an error (`errors` lists the codes), never a default.
3. **candidate_features**: per feature `clip((x - mean) * scale, -clip, clip)` (no clip where `clip` is null).
4. Run the model, feeding the inputs by name; `files` in `features.json` gives each file's inputs in its own
   positional order with their dtypes and shapes (the .mlmodel files take float32 ids, every other file int32),
   and its output's shape. Sort the n real slots by `scores`, highest first (equal scores keep your order);
   ignore the padded slots.

`testvectors_raw.json` holds requests exactly as an app holds them (string item ids, raw context values, a
timestamp, raw features, a list shorter than K, values no vocabulary knows, an empty history), the tensors step 1–3
must give, each file's scores and the ranked item ids: put them in your app's unit tests.

## App code
The steps above are what any client does. JavaScript and TypeScript apps (web, Node, React Native) use the
`@edgeship/client` package of edgeship's repository (`clients/web`), which reads any bundle of contract version
{CONTRACT} and scores the .onnx or .ort file through any ONNX Runtime JavaScript API; Kotlin apps (Android, any
JVM) the `dev.edgeship:edgeship-client` library (`clients/android`), with ONNX Runtime's Java API or LiteRT;
Swift apps (iOS) the `EdgeshipClient` package (`clients/ios`, with Core ML; not yet compiled anywhere but a Mac
can). Each reads `vocabularies.json`,
`rules.json` and `fallback.json`, applies `rules.json` to every ranking, and ranks by `fallback.json` when the
model cannot be loaded or run (without it: {FALLBACK_ORDER}). Every client passes the repository's conformance
suite (`clients/conformance`).

## Contract (the inputs and output of `{first.path}`)
{contract}

- Raw values become ids on the app side, field by field; `{enc.file}` holds every rule and vocabulary
  (sha256 `{enc.sha256[:16]}…` in the manifest). FNV-1a 32-bit: start at 0x811C9DC5; for each UTF-8 byte:
  `h = (h XOR byte) * 0x01000193 mod 2^32`.

{rules}

  Items — {enc.items_line()}.
- `history`: most recent first, padded with 0 at the end; fewer than {spec.history_len} items is fine.
- `candidate_features` are scaled as in training (each about −1..1): {", ".join(spec.item_features)}.
- The int8 files take and return the same dtypes as the fp32 ones (they quantize inside), so one integration
  serves both precisions of a format. `scores` are click logits: rank candidates by score, highest first; the
  click probability, where you need one, is `1 / (1 + exp(-score))`.

## Files
{files}

{formats_section}- The .onnx and .mlmodel files describe themselves where Netron and Xcode look (ONNX `doc_string` and
  `metadata_props`, Core ML description, author, licence, version, per-input descriptions and user-defined
  metadata with the edgeship and contract versions); set the name, version, author and licence with
  `[export.identity]` in the run config.
{_quantization_section(manifest)}{_personal_section(manifest)}{_rules_section(manifest)}{_fallback_section(manifest)}
## Verify a download
1. Check each file's SHA-256 against `manifest.json`: the artifacts under `artifacts`, the contract,
   vocabularies and test vectors under `files` (`sha256sum -c` works on the list `sha256  path`).
2. Run `testvectors_raw.json` in your app's unit tests: encode each `request` with your own code and compare
   with `tensors` (ids exactly, features within 1e-6), then compare the file's scores with `expected[<file>]`
   (in the file's declared output shape) within `atol[<file>]` and your ranking with `ranked[<file>]`.
   `testvectors.json` does the same from ready tensors.
3. Or, with Python and edgeship installed: `edgeship verify <this folder>`.
"""


def _other_io(manifest: Manifest) -> str:
    """The files whose inputs or output differ from the first file's in dtype or declared shape, said per file."""
    first = manifest.artifacts[0]
    declared = {x.name: (x.dtype, list(x.shape)) for x in first.inputs + first.outputs}
    lines = []
    for a in manifest.artifacts[1:]:
        differ = [f"`{x.name}` {x.dtype} {list(x.shape)}" for x in a.inputs + a.outputs
                  if x.name in declared and declared[x.name] != (x.dtype, list(x.shape))]
        if differ:
            lines.append(f"- `{a.path}` takes or returns otherwise: {', '.join(differ)}")
    return "\n\n" + "\n".join(lines) if lines else ""


def study(manifest: Manifest, path: str):
    """The personalization study of one trainable file, if the run had users to follow."""
    return next((r for r in manifest.personalization if r.file == path), None)


def measured(r, cost: str) -> str:
    """The study's figures in a sentence, for a format's personalization section."""
    by_n = {p.n: p for p in r.curve}
    top = by_n[max(by_n)]
    return f"""
Measured on {r.users} simulated new users ([personalization.md](personalization.md)): NDCG@10 on a user's later
requests goes from {top.global_ndcg.estimate:.4f} (shipped model) to {top.personal_ndcg.estimate:.4f} after {top.n} train
calls (gain {top.gain.estimate:+.4f}, 95 % CI {top.gain.low:+.4f} … {top.gain.high:+.4f}); {cost}
"""


def _quantization_section(manifest: Manifest) -> str:
    """Each int8 file's recipe table: what was tried, measured here, and why one ships."""
    if not manifest.quantization:
        return ""
    text = """
## The int8 files: one recipe of several, chosen by measurement
Every recipe (`[quantization] recipes`) was converted, verified against the floors, weighed and timed on the
build host (bench harness, one thread, all candidates and the fp32 file interleaved). Latency on this x86 host
is a proxy: ARM's int8 kernels differ, so a team whose phones disagree can rebuild with `[quantization] choose =
"size"` or `"quality"`.
"""
    if any(formats.for_path(Path(slot)).layers for slot in manifest.quantization):
        text += ("Where each int8 candidate loses precision, layer by layer (and which layers a recipe would keep in "
                 "float): [quantization.md](quantization.md).\n")
    for slot, q in manifest.quantization.items():
        rows = [[f"`{name}`", c.method, f"{c.bytes:,}", f"{c.size_ratio:.2f}",
                 "–" if c.p50_us is None else f"{c.p50_us:.1f} µs",
                 "–" if c.p50_ratio is None else f"{c.p50_ratio:.2f}",
                 "–" if c.verification is None else f"{c.verification.ndcg_ratio:.4f}",
                 "–" if c.verification is None else f"{c.verification.top10_overlap:.3f}",
                 c.outcome.split(" (")[0]] for name, c in q.candidates.items()]
        head = (f"`{slot}`: **{q.selected}** ships, by {q.choose} ({q.rule}). Eligible: {q.eligible}."
                if q.selected else f"`{slot}`: nothing ships: no candidate was eligible ({q.eligible}).")
        text += "\n" + head + "\n\n" + _table(["recipe", "method", "bytes", "× fp32 bytes", "p50", "× fp32 p50",
                                               "NDCG ratio", "top-10 overlap", "outcome"], rows) + "\n"
    return text


def _personal_section(manifest: Manifest) -> str:
    return "".join(formats.get(a.format).readme_personal(manifest, a, study(manifest, a.path))
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
