"""`edgeship evaluate` refuses a log it cannot estimate from with one line and exit 2, before any runtime loads
(tests/edgeship/test_train.py runs it on the Open Bandit log; tests/models/test_ope.py checks the estimators)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

ROOT = Path(__file__).resolve().parents[2]
OPEN_BANDIT = ROOT.parent / "shared" / "data" / "open_bandit" / "random" / "men" / "men.csv"
SCHEMA = ROOT / "docs" / "examples" / "open_bandit_schema.toml"


def _log(tmp: Path, change) -> Path:
    df = pd.read_csv(OPEN_BANDIT, index_col=0, nrows=300)
    df = change(df) if change else df
    path = tmp / "log.csv"
    df.to_csv(path)
    return path


def _set(column, row, value):
    def change(df):
        df = df.astype({column: object}) if isinstance(value, str) else df
        df.loc[df.index[row], column] = value
        return df
    return change


def _with_candidates(text: str) -> str:
    return text.replace("first_position = 1", 'first_position = 1\ncandidates = "cands"')


@pytest.mark.parametrize("change, schema_text, message", [
    (None, lambda s: s.split("[logging]")[0],
     "[logging] is required by `edgeship evaluate`: the columns with the logging policy's propensity"),
    (lambda df: df.drop(columns=["propensity_score"]), None, "column 'propensity_score' (propensity) not found"),
    (_set("propensity_score", 3, 0.0), None,
     "data row 4: column 'propensity_score' (propensity): 0.0; expected a probability in (0, 1]"),
    (_set("propensity_score", 7, 1.5), None,
     "data row 8: column 'propensity_score' (propensity): 1.5; expected a probability in (0, 1]"),
    (_set("position", 2, 0), None,
     "data row 3: column 'position' (position): 0.0; expected a whole number >= 1 ([logging] first_position)"),
    (_set("position", 2, "top"), None, "data row 3: column 'position' (position): expected a number, got 'top'"),
    (lambda df: df.assign(cands=[f"{i}|{(i + 1) % 34}|{(i + 2) % 34}" for i in df["item_id"]]).pipe(
        lambda d: d.assign(cands=d["cands"].where(d.index != d.index[6], "33|32"))), _with_candidates,
     "data row 7: column 'cands' (candidates): the shown item '"),
    (lambda df: df.assign(cands=[str(i) for i in df["item_id"]]), _with_candidates,
     "column 'cands' (candidates): position"),
])
def test_a_log_without_usable_propensities_or_positions_is_refused(tmp_path, reference_bundle, edgeship_cli, change,
                                                                   schema_text, message):
    schema = SCHEMA
    if schema_text is not None:
        schema = tmp_path / "schema.toml"
        schema.write_text(schema_text(SCHEMA.read_text()))
    out = tmp_path / "ope"
    done = edgeship_cli("evaluate", str(reference_bundle), "--data", str(_log(tmp_path, change)), "--schema", str(schema),
                        "--out", str(out))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr
    assert not out.exists()


def test_not_a_bundle_and_too_few_resamples(tmp_path, edgeship_cli):
    done = edgeship_cli("evaluate", str(tmp_path), "--data", str(OPEN_BANDIT), "--schema", str(SCHEMA))
    assert done.returncode == 2 and f"{tmp_path}: not a bundle (no manifest.json)" in done.stderr
    done = edgeship_cli("evaluate", str(tmp_path), "--data", str(OPEN_BANDIT), "--schema", str(SCHEMA),
                        "--resamples", "3")
    assert done.returncode == 2 and "--resamples: expected at least 10, got 3" in done.stderr


@pytest.mark.heavy  # evaluate loads the runtimes (TensorFlow among them) to check the bundle's files
def test_a_bundle_whose_contract_reads_a_column_the_log_lacks_is_refused(tmp_path, reference_bundle, edgeship_cli):
    """The built-in data's bundle reads hour, weekday, device, ...: the Open Bandit log has none of them. The
    same check runs for --baseline (issue: it ended in a KeyError traceback)."""
    out = tmp_path / "ope"
    done = edgeship_cli("evaluate", str(reference_bundle), "--data", str(_log(tmp_path, None)), "--schema", str(SCHEMA),
                        "--out", str(out))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"the bundle {reference_bundle} reads the context column 'hour', which the log's schema does not name" in \
        lines[0]
    assert not out.exists()
