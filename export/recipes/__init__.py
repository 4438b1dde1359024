"""Quantization recipes as data: how one int8 candidate of a format is made, read from a small TOML file.

Built-ins ship beside this module (`<name>.toml`); `[quantization] recipes` lists built-in names and paths to a
user's own files. Every listed recipe of a format is converted, verified against the floors, weighed and timed;
`choose` (below) says which candidate ships as that format's int8 file, and the manifest keeps the whole table.

A recipe file:

    name = "int8_float_attention"
    format = "tflite"          # tflite | onnx
    method = "mixed"           # tflite: full_int8, dynamic_range, float16, mixed
                               # onnx: from_tflite, qdq, qoperator, dynamic
    float_ops = ["BATCH_MATMUL", "SOFTMAX"]     # mixed: op types kept in float ...
    float_layers = ["attention"]                # ... and ops whose output name matches one of these regexes
                               # (also onnx qdq / qoperator / dynamic: the fp32 graph's tensor names, as
                               # quantization.md shows them; those nodes stay float)
    int8_ops = []              # mixed, and onnx qdq / qoperator / dynamic: only these op types in int8, every
                               # other op float (instead of float_ops; float_layers still apply)
    activations = "int8"       # onnx qdq / qoperator: int8 or uint8
    per_channel = false        # onnx qdq / qoperator: one scale per output channel of each weight
    note = "why it exists, in one line"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...core import typed
from ...core.errors import ConfigError, EdgeshipError
from ...core.files import read_toml

FOLDER = Path(__file__).parent
METHODS = {"tflite": ("full_int8", "dynamic_range", "float16", "mixed"),
           "onnx": ("from_tflite", "qdq", "qoperator", "dynamic")}
CALIBRATED = {"full_int8", "mixed", "qdq", "qoperator"}  # methods that need calibration requests
CHOICES = ("speed", "size", "quality")
# p50s this close count as equally fast, and quality decides between them: three default runs on this shared
# 2-core host measured the two fastest recipes (int8_float_attention / int8_dense) at 0.90 / 0.84, 0.76 / 0.83
# and 0.88 / 0.79 of fp32, a ratio between them of 0.92 to 1.12 from run to run; a 5 % or 10 % band shipped a
# different file from one run to the next
SPEED_TIE = 0.15
# NDCG@10 this close counts as the same (on the default run the ONNX candidates differed by 0.00003): the
# smaller file then decides, so a negligible quality difference never buys a slower file within the band
QUALITY_TIE = 0.002


@dataclass(frozen=True)
class Recipe:
    name: str
    format: str = field(metadata={"choices": tuple(METHODS)})
    method: str
    float_ops: tuple[str, ...] = ()
    float_layers: tuple[str, ...] = ()
    int8_ops: tuple[str, ...] = ()
    activations: str = field(default="int8", metadata={"choices": ("int8", "uint8")})
    per_channel: bool = False
    note: str = ""

    @property
    def eight_bit(self) -> bool:
        """Whether its weights are 8-bit (float16 keeps 16-bit weights: measured, never shipped as int8)."""
        return self.method != "float16"

    @property
    def calibrated(self) -> bool:
        return self.method in CALIBRATED


def check(recipe: Recipe, where: str, error: type[EdgeshipError] = ConfigError) -> Recipe:
    """The rules a TOML type cannot say; one line naming the file and key."""
    methods = METHODS[recipe.format]
    if recipe.method not in methods:
        raise error(f"{where}: method: {recipe.format} recipes take one of {', '.join(methods)}, got {recipe.method!r}")
    if not re.fullmatch(r"[a-z0-9_+-]+", recipe.name):
        raise error(f"{where}: name: expected lower-case letters, digits, _ + or -, got {recipe.name!r}")
    mixed = recipe.float_ops or recipe.float_layers or recipe.int8_ops
    ort = recipe.format == "onnx" and recipe.method != "from_tflite"
    if (recipe.float_ops or ((recipe.float_layers or recipe.int8_ops) and not ort)) and recipe.method != "mixed":
        raise error(f"{where}: float_ops belong to method \"mixed\", float_layers and int8_ops to \"mixed\" and "
                    f"ONNX Runtime's methods, not {recipe.method!r}")
    if recipe.method == "mixed" and not mixed:
        raise error(f"{where}: method \"mixed\" needs float_ops, float_layers or int8_ops")
    if recipe.int8_ops and recipe.float_ops:
        raise error(f"{where}: int8_ops (every other op type float) and float_ops exclude each other")
    for pattern in recipe.float_layers:
        try:
            re.compile(pattern)
        except re.error as e:
            raise error(f"{where}: float_layers: {pattern!r} is not a regular expression ({e})") from None
    if recipe.format != "onnx" and (recipe.activations != "int8" or recipe.per_channel):
        raise error(f"{where}: activations and per_channel belong to onnx recipes")
    return recipe


def read(path: Path, error: type[EdgeshipError] = ConfigError) -> Recipe:
    return check(typed.load(Recipe, read_toml(path, "quantization recipe"), str(path), error=error), str(path), error)


def builtin_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FOLDER.glob("*.toml")))


def resolve(entries: tuple[str, ...], base: Path | None = None, where: str = "config",
            error: type[EdgeshipError] = ConfigError) -> tuple[Recipe, ...]:
    """`[quantization] recipes`: each entry a built-in name or a path to a recipe file (relative to `base`, the
    config's folder). Names must be unique; every format keeps the order given."""
    recipes = []
    for entry in entries:
        if entry.endswith(".toml"):
            path = Path(entry) if base is None or Path(entry).is_absolute() else base / entry
            if not path.is_file():
                raise error(f"{where}: [quantization] recipes: no recipe file {str(path)!r}")
            recipes.append(read(path, error))
        elif (FOLDER / f"{entry}.toml").is_file():
            recipes.append(read(FOLDER / f"{entry}.toml", error))
        else:
            raise error(f"{where}: [quantization] recipes: {entry!r} is neither a built-in recipe "
                        f"({', '.join(builtin_names())}) nor a .toml file")
    names = [r.name for r in recipes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise error(f"{where}: [quantization] recipes: the name {twice[0]!r} is given twice")
    return tuple(recipes)


def builtin(names: tuple[str, ...]) -> tuple[Recipe, ...]:
    return resolve(names)


def for_format(recipes: tuple[Recipe, ...], fmt: str) -> tuple[Recipe, ...]:
    return tuple(r for r in recipes if r.format == fmt)


DEFAULT = ("full_int8", "dynamic_range", "float16", "int8_float_attention", "int8_dense",
           "onnx_from_tflite", "ort_qdq", "ort_qdq_s8s8", "ort_qoperator", "ort_qoperator_dense", "ort_dynamic")


@dataclass(frozen=True)
class Measured:
    """One candidate of a file as the choice sees it."""

    name: str
    eight_bit: bool
    passed: bool  # held every quality floor in its runtime
    reasons: tuple[str, ...]  # the floors it missed
    bytes: int
    quality: float  # NDCG@10 on the verification requests (score rank correlation when NDCG is not gated)
    p50_ms: float | None  # None: not timed


def choose(candidates: list[Measured], rule: str, size_slack: float) -> tuple[int | None, list[str]]:
    """The candidate that ships, and for every candidate why it won or lost. Eligible: 8-bit weights, every
    floor held, at most `size_slack` times the bytes of the smallest such candidate (an int8 file exists to be
    small: a recipe that keeps the embedding tables in float is not one). Among those: speed -> of those within
    SPEED_TIE of the lowest p50 (an untimed candidate counts as slowest), the ones within QUALITY_TIE of the
    best NDCG@10, and of these the fewest bytes; size -> the fewest bytes; quality -> the highest NDCG@10;
    remaining ties go to the earlier recipe in the list."""
    holding = [c.bytes for c in candidates if c.eight_bit and c.passed]
    max_bytes = int(min(holding) * size_slack) if holding else 0
    why, eligible = [], []
    for i, c in enumerate(candidates):
        if not c.eight_bit:
            why.append("lost: 16-bit weights (measured for the table; the int8 file takes 8-bit weights)")
        elif not c.passed:
            why.append("lost: below the floors (" + "; ".join(c.reasons) + ")")
        elif c.bytes > max_bytes:
            why.append(f"lost: {c.bytes:,} bytes > {size_slack}x the smallest that holds the floors ({max_bytes:,})")
        else:
            why.append("")
            eligible.append(i)
    if not eligible:
        return None, why
    slow = float("inf")
    fastest = min((candidates[i].p50_ms for i in eligible if candidates[i].p50_ms is not None), default=slow)

    def p50(i: int) -> float:
        t = candidates[i].p50_ms
        return slow if t is None else (fastest if t <= fastest * (1 + SPEED_TIE) else t)

    if rule == "speed":  # the fastest within the band; among them the best quality within QUALITY_TIE; then bytes
        band = [i for i in eligible if p50(i) == min(p50(j) for j in eligible)]
        top = max(candidates[i].quality for i in band)
        best = min((i for i in band if candidates[i].quality >= top - QUALITY_TIE),
                   key=lambda i: (candidates[i].bytes, i))
    elif rule == "size":
        best = min(eligible, key=lambda i: (candidates[i].bytes, i))
    elif rule == "quality":
        best = min(eligible, key=lambda i: (-candidates[i].quality, i))
    else:
        raise ValueError(f"unknown choice rule {rule!r}")
    what = {"speed": "p50", "size": "bytes", "quality": "NDCG@10"}[rule]
    for i in eligible:
        why[i] = (f"won: best {what} of {len(eligible)} eligible"
                  + (f" (p50s within {SPEED_TIE:.0%} of the fastest count as equal, then NDCG@10 within "
                     f"{QUALITY_TIE}, then bytes)" if rule == "speed" else "") if i == best
                  else f"lost: {_behind(candidates[i], candidates[best], rule, fastest)}")
    return best, why


def _behind(c: Measured, best: Measured, rule: str, fastest: float | None) -> str:
    if rule == "speed":
        if c.p50_ms is None:
            return "not timed"
        if fastest is not None and c.p50_ms > fastest * (1 + SPEED_TIE):
            return f"p50 {c.p50_ms / best.p50_ms:.2f}x the winner's"
        if c.quality < best.quality - QUALITY_TIE:
            return f"as fast within {SPEED_TIE:.0%}, NDCG@10 {c.quality:.4f} vs the winner's {best.quality:.4f}"
        return (f"as fast within {SPEED_TIE:.0%} and as good within {QUALITY_TIE}: {c.bytes:,} bytes vs the "
                f"winner's {best.bytes:,}")
    if rule == "size":
        return f"{c.bytes / best.bytes:.2f}x the winner's bytes"
    if c.quality == best.quality:
        return f"NDCG@10 {c.quality:.4f}, the same: the earlier recipe in the list wins"
    return f"NDCG@10 {c.quality:.4f} < {best.quality:.4f}"
