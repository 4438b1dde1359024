"""The search space maps a point to a ranker and a schedule; a budget says which constraints a point breaks."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from edgeship.models import search
from edgeship.models.settings import RankerConfig, TrainConfig

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_a_point_becomes_a_ranker_and_a_schedule():
    trial = optuna.trial.FixedTrial({"dim_device": 4, "dim_region": 16, "item_dim": 32, "width": 128, "depth": 3,
                                     "attention": False, "history_features": False, "cross_layers": 1, "dropout": 0.2,
                                     "learning_rate": 3e-3, "batch_size": 0, "lr_decay": 0.8})
    params = search.suggest(trial, ["device", "region"])
    model, train = search.configs(params, RankerConfig(), TrainConfig(patience=4))
    assert model.context_dims == {"device": 4, "region": 16} and model.item_dim == 32
    assert model.hidden == (128, 64, 32) and not model.attention and model.cross_layers == 1 and model.dropout == 0.2
    assert not model.history_features
    assert (train.learning_rate, train.batch_size, train.lr_decay, train.patience) == (3e-3, 0, 0.8, 4)


def test_a_budget_names_what_a_point_breaks():
    budget = search.Budget("low-end-android", "tflite", max_bytes=1000, max_macs=None, max_p50_ms=0.5)
    assert budget.violations(500, 10**9, 0.25) == {"max_bytes": -0.5, "max_p50_ms": -0.5}
    assert budget.broken(500, 10**9, 0.25) == []
    assert budget.violations(2000, None, 1.0) == {"max_bytes": 1.0, "max_p50_ms": 1.0}
    assert budget.broken(2000, None, 1.0) == ["bytes 2000 > 1000", "p50 ms 1.0 > 0.5"]


def test_the_configured_model_is_the_first_point_where_it_is_on_the_grid():
    model, train = RankerConfig(context_dims={"region": 16}), TrainConfig()
    start = search.point(model, train, ["device", "region"])
    assert start["dim_device"] == model.context_dim and start["dim_region"] == 16
    again, schedule = search.configs(start, model, train)
    assert again == dataclasses.replace(model, context_dims=again.context_dims)  # every other field kept
    assert (schedule.learning_rate, schedule.batch_size, schedule.lr_decay) == (
        train.learning_rate, train.batch_size, train.lr_decay)
    # Optuna takes it as a trial of the space
    assert search.suggest(optuna.trial.FixedTrial(start), ["device", "region"]) == start
    # off the grid: no first point
    assert search.point(RankerConfig(hidden=(64, 48)), train, ["device"]) is None  # not halving
    assert search.point(model, TrainConfig(batch_size=32), ["device"]) is None
    assert search.point(RankerConfig(context_dim=5), train, ["device"]) is None
    assert search.point(model, TrainConfig(learning_rate=0.1), ["device"]) is None
