"""How `edgeship tune` ranks, prunes and reports trials, on a real in-memory Optuna study (no training)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from edgeship import tune
from edgeship.core.errors import InputError
from edgeship.models.data import Requests
from edgeship.models.search import Budget, TrialRecord

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`

BUDGET = Budget("p", "tflite", max_bytes=100_000, max_p50_ms=0.5)


def _trial(n, auc, p50, size, broken=()):
    return TrialRecord(n, "complete", {}, quality=auc, valid_auc=auc, p50_ms=p50, recipe="int8_dense", bytes=size,
                       feasible=not broken, broken=list(broken))


def test_the_best_feasible_trial_ships_and_the_front_holds_what_nothing_beats():
    trials = [_trial(0, 0.70, 0.05, 50_000), _trial(1, 0.72, 0.08, 60_000), _trial(2, 0.69, 0.04, 40_000),
              _trial(3, 0.75, 0.90, 90_000, ["p50 ms 0.9 > 0.5"]), _trial(4, 0.72, 0.06, 60_000),
              TrialRecord(5, "pruned", {}, epochs=[0.6])]
    chosen, runner_up = tune.choose(trials, BUDGET)
    assert (chosen.number, runner_up.number) == (4, 1)  # equal AUC: the faster first
    assert tune.pareto(trials) == [0, 2, 3, 4]  # 1 is beaten by 4 on p50 and equal elsewhere
    text = tune.markdown(BUDGET, "auc", trials, tune.pareto(trials), chosen.number)
    assert "| ★ 4 | complete | 0.7200 | – | 60 | int8_dense | 60,000 |" in text and "| 3 | complete |" not in text
    assert "p50 ms 0.9 > 0.5" in text and "| 5 | pruned | – |" in text and "validation AUC of the int8" in text


def test_lists_are_judged_by_ndcg_and_single_rows_by_auc():
    def requests(k, real):
        mask = np.zeros((4, k), bool)
        mask[:, :real] = True
        return Requests(context=np.ones((4, 1), np.int32), history=np.zeros((4, 2), np.int32),
                        candidates=np.ones((4, k), np.int32), candidate_features=np.ones((4, k, 1), np.float32),
                        labels=np.zeros((4, k), np.float32), mask=mask)

    assert tune.metric_for(requests(100, 100)) == "ndcg_at_10"  # the built-in data's lists
    assert tune.metric_for(requests(1, 1)) == "auc"  # a log's validation rows
    assert tune.metric_for(requests(100, 3)) == "auc"  # short lists padded to K: NDCG@10 would see them whole
    assert tune.objectives("ndcg_at_10")[0] == "validation NDCG@10 of the int8 file (max)"


def test_no_trial_inside_the_budget_is_one_line_naming_the_closest():
    trials = [_trial(0, 0.7, 0.9, 50_000, ["p50 ms 0.9 > 0.5"]), _trial(1, 0.8, 2.0, 500_000,
                                                                        ["bytes 500000 > 100000", "p50 ms 2.0 > 0.5"])]
    with pytest.raises(InputError, match=r"no trial meets profile 'p': the closest, trial 0, breaks p50 ms 0.9 > 0.5"):
        tune.choose(trials, BUDGET)
    with pytest.raises(InputError, match="no trial finished"):
        tune.choose([TrialRecord(0, "fail", {})], BUDGET)


def test_a_trial_below_the_lower_quartile_after_an_epoch_is_hopeless():
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    assert tune.lower_quartile(study, 0) is None  # nothing finished: nothing to compare with
    for epochs in ([0.60, 0.70], [0.64, 0.71], [0.68], [0.70, 0.72, 0.73]):
        study.add_trial(optuna.trial.create_trial(values=[epochs[-1], 0.1, 1000.0], user_attrs={"epochs": epochs}))
    # after the first epoch: 0.60, 0.64, 0.68, 0.70; after the second a trial that stopped sooner counts with its
    # last epoch (0.68): 0.70, 0.71, 0.68, 0.72 (quartiles by linear interpolation)
    assert tune.lower_quartile(study, 0) == pytest.approx(0.63)
    assert tune.lower_quartile(study, 1) == pytest.approx(0.695)


def test_validation_rows_are_padded_to_the_files_k():
    rows = Requests(context=np.ones((5, 2), np.int32), history=np.zeros((5, 3), np.int32),
                    candidates=np.arange(1, 6, dtype=np.int32)[:, None], candidate_features=np.ones((5, 1, 2), np.float32),
                    labels=np.array([[1], [0], [0], [1], [0]], np.float32))
    k4 = tune.padded(rows, 4, limit=3)
    assert k4.candidates.shape == (3, 4) and k4.candidate_features.shape == (3, 4, 2)
    assert k4.mask.sum() == 3 and k4.mask[:, 0].all() and (k4.candidates[:, 0] == [1, 2, 3]).all()
    assert k4.labels[k4.mask].tolist() == [1, 0, 0] and not k4.candidate_features[:, 1:].any()


def test_a_trial_whose_int8_file_breaks_the_floors_cannot_ship():
    """Found on Open Bandit: the chosen point's int8 file failed the rank-correlation floor when shipped."""
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    for floors in ([], ["score rank correlation 0.9595 < floor 0.98"]):
        study.add_trial(optuna.trial.create_trial(values=[0.7 + 0.1 * len(floors), 0.1, 1000.0],
                                                  user_attrs={"macs": 10, "floors": floors}))
    ok, broken = tune.records(study, BUDGET)
    assert ok.feasible and not broken.feasible and broken.broken == ["int8 score rank correlation 0.9595 < floor 0.98"]
    assert tune.choose([ok, broken], BUDGET)[0].number == ok.number  # the better score does not ship
