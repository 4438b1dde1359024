"""`edgeship gate`: hold a bundle (or model file) to a budget profile. Exit 0 all hold, 1 any broken, 2 bad input.

Deterministic budgets (bytes, gzip bytes, MACs, operators, verified quality) are compared exactly. Latency is
noisy on a shared runner, so a latency budget fails only when the whole 95 % bootstrap interval of the
statistic lies above it; an estimate above the budget whose interval still reaches below it passes and is
flagged "marginal". Relative budgets compare with a baseline: another bundle measured in the same interleaved
rounds (paired: shared drift cancels) or a previous bench.json (unpaired: wider intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ..core.errors import InputError
from ..core.outcome import Outcome
from ..export import formats
from .budgets import Profile
from .harness import bundle_targets, file_target, is_bundle, run_bench
from .records import BenchConfig, BenchResult, Group, Measurement, Target, read_bench
from .stats import Interval, percentile_interval, ratio_interval


@dataclass(frozen=True)
class Check:
    budget: str
    artifact: str
    status: Outcome
    message: str
    value: float | None = None
    limit: float | None = None
    interval: Interval | None = None
    marginal: bool = False

    def line(self) -> str:
        mark = {Outcome.PASS: "ok  ", Outcome.FAIL: "FAIL", Outcome.SKIP: "skip"}[self.status]
        return f"{mark} {self.artifact}: {self.budget}: {self.message}"


@dataclass
class GateResult:
    profile: Profile
    checks: list[Check]
    bench: BenchResult  # what this run measured: written beside the gate's reports

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == Outcome.FAIL]

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Baseline:
    """What relative budgets compare with: a bundle measured in the same rounds (paired) or a bench.json."""

    paired: bool
    targets: dict[str, Target]
    rounds: dict[str, list[list[float]]]


# --- inputs ----------------------------------------------------------------------------------------------------

def gate_targets(path: Path, profile: Profile) -> tuple[list[Target], list[Check]]:
    """The artifacts the profile ships; a format the profile ships but the bundle lacks is itself a failure."""
    if not path.exists():
        raise InputError(f"{path}: bundle or model file not found")
    # `verify` calls a changed file a broken bundle (exit 1); to a gate it is bad input (exit 2)
    bundle = is_bundle(path)
    targets = bundle_targets(path, error=InputError)[0] if bundle else [file_target(path)]
    checks = []
    if profile.formats:
        have = {t.format for t in targets}
        for fmt in profile.formats:
            if fmt not in have and bundle:
                checks.append(Check("formats", fmt, Outcome.FAIL,
                                    f"the profile ships {fmt} but {path} has no {fmt} file"))
        targets = [t for t in targets if t.format in profile.formats]
        if not targets and not bundle:
            raise InputError(f"{path}: a {formats.for_path(path).name} file, but profile {profile.name!r} ships "
                             f"only {list(profile.formats)}")
    if profile.precisions and bundle:
        for fmt in {t.format for t in targets}:
            if not any(t.format == fmt and t.precision in profile.precisions for t in targets):
                checks.append(Check("precisions", fmt, Outcome.FAIL,
                                    f"the profile ships {fmt} in {list(profile.precisions)} but {path} has none"))
        targets = [t for t in targets if t.precision in profile.precisions]
    return targets, checks


def _bench_config(profile: Profile, targets: list[Target], base: BenchConfig) -> BenchConfig:
    ks = {t.signature.candidates() for t in targets if t.signature is not None} - {None}
    # a fixed-K file is measured at its K: a smaller request is padded to K, a larger one is a failed check
    candidates = tuple(sorted(ks)) if profile.candidates is not None and ks else None
    return BenchConfig(threads=(profile.threads,), candidates=candidates, rounds=base.rounds,
                       invokes=base.invokes, warmup=base.warmup, identity=True, seed=base.seed,
                       profile=False, second_api=False)  # a gate holds the file as apps run it today


def _too_small(profile: Profile, targets: list[Target]) -> list[Check]:
    out = []
    for t in targets:
        k = t.signature.candidates() if t.signature is not None else None
        if profile.candidates is not None and k is not None and k < profile.candidates:
            out.append(Check("candidates", t.label, Outcome.FAIL,
                             f"scores {k} candidates per call; the profile's requests have {profile.candidates}"))
    return out


# --- checks ----------------------------------------------------------------------------------------------------

def _num(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:.4g}"


def _exact(budget: str, label: str, value: float, limit: float, unit: str, larger_is_worse: bool = True) -> Check:
    ok = value <= limit if larger_is_worse else value >= limit
    rel = "≤" if larger_is_worse else "≥"
    text = f"{_num(value)} {unit} {'' if ok else 'not '}{rel} {_num(limit)} {unit}"
    return Check(budget, label, Outcome.PASS if ok else Outcome.FAIL, " ".join(text.split()), value, limit)


def _interval_check(budget: str, label: str, iv: Interval, limit: float, what: str, over: str, within: str,
                    marginal_note: str) -> Check:
    """Noisy budgets: fail only when the whole interval lies above the limit; flag an interval that straddles."""
    if iv.low > limit:
        return Check(budget, label, Outcome.FAIL, f"{what}{over}", iv.estimate, limit, iv)
    marginal = iv.high > limit
    return Check(budget, label, Outcome.PASS, f"{what}{within}" + (marginal_note if marginal else ""), iv.estimate,
                 limit, iv, marginal)


def _latency(budget: str, label: str, m: Measurement, q: float, limit_ms: float, seed: int) -> Check:
    iv = percentile_interval(np.asarray(m.rounds_ms), q, seed)
    return _interval_check(budget, label, iv, limit_ms,
                           f"p{q:.0f} {iv.estimate:.4f} ms (95% CI {iv.low:.4f}–{iv.high:.4f})",
                           f" is above the budget {limit_ms} ms", f" within {limit_ms} ms",
                           " — marginal: the interval reaches above the budget")


def _relative(budget: str, label: str, new: np.ndarray, old: np.ndarray, q: float, allowed: float, paired: bool,
              seed: int) -> Check:
    iv = ratio_interval(new, old, q, paired, seed)
    return _interval_check(budget, label, iv, 1.0 + allowed,
                           f"p{q:.0f} {iv.estimate:.3f}× baseline (95% CI {iv.low:.3f}–{iv.high:.3f}, "
                           f"{'paired' if paired else 'unpaired'})",
                           f": more than +{allowed:.0%}", f" within +{allowed:.0%}", " — marginal")


def run_checks(profile: Profile, targets: list[Target], measurements: list[Measurement],
             baseline: Baseline | None, seed: int = 0) -> list[Check]:
    """Every budget of the profile against every shipped artifact."""
    checks = []
    by_label = {m.label: m for m in measurements if m.group == Group.MODEL and m.call == "infer"}
    for t in targets:
        f, label = t.facts, t.label
        if profile.max_bytes is not None:
            checks.append(_exact("max_bytes", label, f.bytes, profile.max_bytes, "bytes"))
        if profile.max_download_bytes is not None:
            checks.append(_exact("max_download_bytes", label, f.gzip_bytes, profile.max_download_bytes, "gzip bytes"))
        if profile.max_macs is not None:
            checks.append(_exact("max_macs", label, f.macs, profile.max_macs, "MACs") if f.macs is not None else
                          Check("max_macs", label, Outcome.SKIP, "MACs not countable for this format"))
        if profile.mobile_ops_only:
            checks.append(_mobile_ops(label, f.mobile))
        if profile.min_ndcg_ratio is not None:
            checks.append(_ndcg(label, t.verification, profile.min_ndcg_ratio))
        m = by_label.get(label)
        latency_budgets = [(b, q, lim) for b, q, lim in (("max_p50_ms", 50, profile.max_p50_ms),
                                                        ("max_p90_ms", 90, profile.max_p90_ms)) if lim is not None]
        needs_run = latency_budgets or profile.max_peak_rss_mb is not None or (
            baseline and (profile.max_p50_increase is not None or profile.max_p90_increase is not None))
        if needs_run and (m is None or m.status != Outcome.PASS):
            reason = m.reason if m is not None else "no CPU runtime here executes this format (Core ML needs Apple)"
            status = Outcome.FAIL if m is not None and m.status == Outcome.FAIL else Outcome.SKIP
            checks.append(Check("runs", label, status, reason))
            continue
        for budget, q, limit in latency_budgets:
            checks.append(_latency(budget, label, m, q, limit, seed))
        if profile.max_peak_rss_mb is not None:
            checks.append(_exact("max_peak_rss_mb", label, m.model_rss_mb, profile.max_peak_rss_mb, "MB"))
        if baseline is not None:
            checks += _against_baseline(profile, t, m, baseline, seed)
    return checks


def _ndcg(label: str, v, floor: float) -> Check:
    if not v:
        return Check("min_ndcg_ratio", label, Outcome.SKIP, "no verification record (not from an edgeship bundle)")
    if not v.ndcg_gated:
        return Check("min_ndcg_ratio", label, Outcome.SKIP, "too few positives in the verification lists for an "
                                                            "NDCG ratio to mean anything (see manifest metrics)")
    if v.ndcg_ratio != v.ndcg_ratio:  # NaN in the run (the model ranked no relevant item in any top 10)
        return Check("min_ndcg_ratio", label, Outcome.FAIL, "NDCG ratio undefined in the bundle's verification")
    return _exact("min_ndcg_ratio", label, v.ndcg_ratio, floor, "", False)


def _mobile_ops(label: str, mobile: dict) -> Check:
    if not mobile:
        return Check("mobile_ops_only", label, Outcome.SKIP, "no mobile operator check for this format")
    if "builtin_ops_only" in mobile:
        c = mobile["builtin_ops_only"]
        return Check("mobile_ops_only", label, Outcome.PASS if c["ok"] else Outcome.FAIL,
                     "builtin TFLite ops only" if c["ok"] else f"non-builtin ops: {', '.join(c['non_builtin'])}")
    c = mobile["ort_format"]
    return Check("mobile_ops_only", label, Outcome.PASS if c["ok"] else Outcome.FAIL,
                 "saves to and runs from the ORT format" if c["ok"] else f"ORT format fails: {c['error']}")


def _against_baseline(profile: Profile, t: Target, m: Measurement, baseline: Baseline, seed: int) -> list[Check]:
    label, checks = t.label, []
    old_t, old_rounds = baseline.targets.get(label), baseline.rounds.get(label)
    if old_t is None:
        return [Check("baseline", label, Outcome.SKIP, "no file of this name in the baseline")]
    if profile.max_bytes_increase is not None:
        old_bytes = old_t.facts.bytes
        growth, allowed = t.facts.bytes / old_bytes - 1, profile.max_bytes_increase
        checks.append(Check("max_bytes_increase", label, Outcome.PASS if growth <= allowed else Outcome.FAIL,
                            f"{t.facts.bytes:,} bytes vs baseline {old_bytes:,}: {growth:+.1%} "
                            f"{'within' if growth <= allowed else 'more than'} +{allowed:.0%}", growth, allowed))
    for budget, q, allowed in (("max_p50_increase", 50, profile.max_p50_increase),
                               ("max_p90_increase", 90, profile.max_p90_increase)):
        if allowed is None:
            continue
        if old_rounds is None:
            checks.append(Check(budget, label, Outcome.SKIP, "baseline has no latency for this configuration"))
            continue
        paired = baseline.paired and len(old_rounds) == len(m.rounds_ms)
        checks.append(_relative(budget, label, np.asarray(m.rounds_ms), np.asarray(old_rounds), q, allowed, paired,
                                seed))
    return checks


# --- the whole gate --------------------------------------------------------------------------------------------

def run_gate(path: Path, profile: Profile, baseline_path: Path | None, base_cfg: BenchConfig,
             progress=print) -> GateResult:
    if profile.relative and baseline_path is None:
        raise InputError(f"profile {profile.name!r} has relative budgets (max_*_increase): pass {{option}} "
                         "BUNDLE_OR_BENCH_JSON", option="baseline")
    if baseline_path is not None and not baseline_path.exists():
        raise InputError("not found", option="baseline", value=baseline_path)
    targets, checks = gate_targets(path, profile)
    checks += _too_small(profile, targets)
    cfg = _bench_config(profile, targets, base_cfg)
    baseline_targets, stored = [], None
    if baseline_path is not None:
        if is_bundle(baseline_path):  # a changed baseline file is bad input to a gate, as the bundle's own is
            found = bundle_targets(baseline_path, Group.BASELINE, "baseline/", error=partial(InputError,
                                                                                            option="baseline"))[0]
            baseline_targets = [t for t in found if t.format in {x.format for x in targets}]
        else:
            stored = read_bench(baseline_path)
    # each file directly followed by its baseline twin: the pair runs back to back in every round
    twins = {t.label[len("baseline/"):]: t for t in baseline_targets}
    ordered = [x for t in targets for x in (t, twins.get(t.label)) if x is not None]
    result = run_bench(ordered, cfg,
                       {"gate": str(path), "profile": profile.name,
                        "baseline": str(baseline_path) if baseline_path else None}, progress)
    baseline = None
    if baseline_targets:
        strip = len("baseline/")
        baseline = Baseline(True, {t.label[strip:]: t for t in baseline_targets},
                            {m.label[strip:]: m.rounds_ms for m in result.measurements
                             if m.group == Group.BASELINE and m.status == Outcome.PASS and m.call == "infer"})
    elif stored is not None:
        baseline = Baseline(False, stored.models(),
                            {m.label: m.rounds_ms for m in stored.measurements
                             if m.status == Outcome.PASS and m.group == Group.MODEL and m.threads == profile.threads
                             and m.call == "infer"})
    checks += run_checks(profile, targets, result.measurements, baseline, cfg.seed)
    return GateResult(profile, checks, result)


# --- reports ---------------------------------------------------------------------------------------------------

def junit_xml(result: GateResult) -> bytes:
    suite = ET.Element("testsuite", name=f"edgeship gate: {result.profile.name}", tests=str(len(result.checks)),
                       failures=str(len(result.failed)),
                       skipped=str(sum(c.status == Outcome.SKIP for c in result.checks)))
    for c in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"edgeship.gate.{result.profile.name}.{c.artifact}",
                             name=c.budget)
        if c.status == Outcome.FAIL:
            ET.SubElement(case, "failure", message=c.message).text = c.message
        elif c.status == Outcome.SKIP:
            ET.SubElement(case, "skipped", message=c.message)
        else:
            ET.SubElement(case, "system-out").text = c.message
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def markdown(result: GateResult) -> str:
    verdict = "passed" if result.passed else "FAILED"
    n_fail = len(result.failed)
    lines = [f"### edgeship gate — profile `{result.profile.name}`: {verdict}", "",
             f"{len(result.checks)} checks, {n_fail} failed, {sum(c.status == Outcome.SKIP for c in result.checks)} "
             "skipped. Latency budgets fail only when the whole 95 % interval is above the budget.", "",
             "| | artifact | budget | result |", "|---|---|---|---|"]
    icon = {Outcome.PASS: "✅", Outcome.FAIL: "❌", Outcome.SKIP: "⏭️"}
    order = {Outcome.FAIL: 0, Outcome.PASS: 1, Outcome.SKIP: 2}
    for c in sorted(result.checks, key=lambda c: (order[c.status], c.artifact)):
        lines.append(f"| {icon[c.status]}{' ⚠️' if c.marginal else ''} | {c.artifact} | `{c.budget}` | {c.message} |")
    host = result.bench.host
    lines += ["", f"Host: {host.cpu}, {host.logical_cores} cores; load average {host.load_average_1m}.", ""]
    return "\n".join(lines)
