"""`edgeship abtest LOG`: the readout of an online experiment from the app's impression log (ondevice/impressions.py):
per arm the click rate per impression and per user, each arm's lift over control with a 95 % interval over users,
the sample-ratio-mismatch check against the planned split, guardrails, and the verdict -> ab.json, ab.md, ab.png."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core import typed
from .core.errors import AlreadyExists, InputError
from .core.files import write_figure, write_json, write_text
from .models.experiment import Z95, ArmStats, Lift, SampleRatio, arm_stats, lift, sample_ratio
from .ondevice.impressions import ImpressionLog, read

AB_JSON, AB_MD, AB_PNG = "ab.json", "ab.md", "ab.png"
SRM_ALPHA = 0.001  # the usual threshold: a mismatch this unlikely means the assignment or the logging is broken
GUARDRAILS = {"fallback_rate": "share of requests ranked by fallback.json or the given order",
              "error_rate": "share of requests with a client error code",
              "latency_p95_ms": "95th percentile of the logged latency_ms"}


@dataclass(frozen=True)
class Guardrail:
    name: str
    arm: str
    value: float
    limit: float
    control: float
    passed: bool


@dataclass(frozen=True)
class AbReport:
    log: str
    control: str
    arms: dict[str, ArmStats]
    lifts: list[Lift]
    sample_ratio: SampleRatio
    srm_alpha: float
    guardrails: list[Guardrail]
    verdicts: dict[str, str]
    schema_version: int = 1


SCHEMAS = {AB_JSON.replace(".json", ".schema.json"): (AbReport, "edgeship ab.json: an online experiment's readout")}


def parse_split(text: str, arms: list[str]) -> dict[str, float]:
    """"control=0.9,treatment=0.1" -> shares; every arm of the log must be named."""
    planned = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition("=")
        try:
            planned[name.strip()] = float(share)
        except ValueError:
            raise InputError(f"expected ARM=SHARE,..., got {part!r}", option="split") from None
    if any(v <= 0 for v in planned.values()) or set(planned) != set(arms):
        raise InputError(f"expected a positive share for each arm of the log ({', '.join(arms)}), got "
                         f"{', '.join(planned) or 'none'}", option="split")
    return planned


def parse_guardrail(text: str) -> tuple[str, float]:
    match = re.fullmatch(r"\s*([a-z_0-9]+)\s*<=\s*([0-9.eE+-]+)\s*", text)
    if match is None or match.group(1) not in GUARDRAILS:
        raise InputError(f"expected NAME<=VALUE with NAME one of {', '.join(GUARDRAILS)}, got {text!r}",
                         option="guardrail")
    return match.group(1), float(match.group(2))


def _guardrail_value(name: str, log: ImpressionLog, arm: str) -> float:
    mine = log.arms == arm
    if name == "fallback_rate":
        return float(np.mean(log.policies[mine] != "model"))
    if name == "error_rate":
        return float(np.mean(log.errors[mine]))
    latency = log.latency_ms[mine]
    latency = latency[~np.isnan(latency)]
    return float(np.percentile(latency, 95)) if len(latency) else float("nan")


def readout(path: Path, control: str, split: str | None, guardrails: list[str]) -> AbReport:
    log = read(path)
    arms = sorted(set(log.arms))
    if control not in arms:
        raise InputError(f"no arm {control!r} in the log (arms: {', '.join(arms)})", option="control")
    if len(arms) < 2:
        raise InputError(f"{path}: one arm only ({arms[0]}): nothing to compare")
    planned = parse_split(split, arms) if split else {a: 1.0 for a in arms}
    limits = [parse_guardrail(g) for g in guardrails]
    stats = {}
    for arm in arms:
        requests = np.flatnonzero(log.arms == arm)
        shown = np.isin(log.request, requests)
        stats[arm] = arm_stats(log.users[log.request[shown]], len(requests), log.tapped[shown])
    users = {arm: len(set(log.users[log.arms == arm])) for arm in arms}
    srm = sample_ratio(users, planned)
    lifts = [lift(arm, stats[arm], stats[control]) for arm in arms if arm != control]
    checks = []
    for arm in arms:
        for name, limit in limits if arm != control else ():
            value = _guardrail_value(name, log, arm)
            checks.append(Guardrail(name, arm, value, limit, _guardrail_value(name, log, control), bool(value <= limit)))
    verdicts = {}
    for lf in lifts:
        broken = [g.name for g in checks if g.arm == lf.arm and not g.passed]
        verdicts[lf.arm] = (
            f"sample ratio mismatch (p = {srm.p_value:.2g} < {SRM_ALPHA}): the assignment or the logging is "
            "broken; do not read the lift" if srm.p_value < SRM_ALPHA else
            f"stop: guardrail {', '.join(broken)} broken" if broken else
            f"ship: click rate {lf.relative:+.1%} (95% CI {lf.low:+.1%} to {lf.high:+.1%})" if lf.low > 0 else
            f"stop: click rate {lf.relative:+.1%} (95% CI {lf.low:+.1%} to {lf.high:+.1%})" if lf.high < 0 else
            f"inconclusive: click rate {lf.relative:+.1%} (95% CI {lf.low:+.1%} to {lf.high:+.1%}); run longer")
    return AbReport(str(path), control, stats, lifts, srm, SRM_ALPHA, checks, verdicts)


def markdown(r: AbReport) -> str:
    lines = [f"# A/B readout of `{r.log}`", "", "| arm | users | requests | impressions | taps | CTR | ± (95%) | "
             "CTR per user |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for arm, s in r.arms.items():
        lines.append(f"| {arm}{' (control)' if arm == r.control else ''} | {s.users:,} | {s.requests:,} | "
                     f"{s.impressions:,} | {s.taps:,} | {s.ctr:.4f} | {Z95 * s.ctr_se:.4f} | {s.ctr_per_user:.4f} |")
    lines += ["", "| arm | lift over control | 95% CI (users as the unit) | verdict |", "|---|---:|---|---|"]
    lines += [f"| {lf.arm} | {lf.relative:+.2%} | {lf.low:+.2%} … {lf.high:+.2%} | {r.verdicts[lf.arm]} |"
              for lf in r.lifts]
    s = r.sample_ratio
    lines += ["", f"Sample ratio: users {s.observed} against the planned {s.planned}: chi-square {s.chi2:.2f}, "
                  f"p = {s.p_value:.3g} ({'mismatch' if s.p_value < r.srm_alpha else 'no mismatch'} at "
                  f"{r.srm_alpha})."]
    if r.guardrails:
        lines += ["", "| guardrail | arm | value | limit | control | |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| {g.name} | {g.arm} | {g.value:.4g} | {g.limit:.4g} | {g.control:.4g} | "
                  f"{'ok' if g.passed else 'BROKEN'} |" for g in r.guardrails]
    return "\n".join(lines) + "\n"


def _plot(r: AbReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = list(r.arms)
    left.bar(names, [r.arms[a].ctr for a in names], yerr=[Z95 * r.arms[a].ctr_se for a in names], capsize=4,
             color=["#888" if a == r.control else "#2a6" for a in names])
    left.set_title("click rate per impression (95% CI)")
    for i, lf in enumerate(r.lifts):
        right.errorbar([lf.relative * 100], [i], xerr=[[(lf.relative - lf.low) * 100], [(lf.high - lf.relative) * 100]],
                       fmt="o", capsize=4)
    right.axvline(0, color="#999", lw=1)
    right.set_yticks(range(len(r.lifts)), [lf.arm for lf in r.lifts])
    right.set_title(f"lift over {r.control}, % (95% CI)")
    fig.tight_layout()
    write_figure(fig, path, dpi=100)


def write(r: AbReport, out: Path, force: bool) -> None:
    if (out / AB_JSON).exists() and not force:
        raise AlreadyExists("already holds an ab.json", option="out", value=out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / AB_JSON, typed.dump(r))
    write_text(out / AB_MD, markdown(r))
    _plot(r, out / AB_PNG)
