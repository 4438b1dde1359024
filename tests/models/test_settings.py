"""How a training run ended, read from its validation scores: converged by early stopping, or cut by the cap."""

import pytest

from edgeship.models.settings import Convergence, ReferenceConfig, TrainConfig

pytestmark = pytest.mark.unit  # TensorFlow-free: `make test-fast`


def test_a_run_still_improving_at_the_cap_is_flagged_and_one_stopped_early_is_not():
    cap = TrainConfig(epochs=4, early_stopping="auc", patience=3)
    rising = Convergence.of([0.9206, 0.9272, 0.9275, 0.9291], cap)  # issue 21's reference on a real log
    assert (rising.epochs_run, rising.best_epoch, rising.best, rising.capped) == (4, 4, 0.9291, True)
    stopped = Convergence.of([0.70, 0.74, 0.73, 0.72, 0.71], TrainConfig(epochs=30, early_stopping="auc", patience=3))
    assert (stopped.epochs_run, stopped.best_epoch, stopped.capped) == (5, 2, False)
    # the cap reached exactly when early stopping would have stopped: converged
    assert not Convergence.of([0.70, 0.74, 0.73, 0.72, 0.71], TrainConfig(epochs=5, early_stopping="auc",
                                                                          patience=3)).capped
    assert Convergence.of([0.70, 0.74, 0.73, 0.72, 0.71], TrainConfig(epochs=5, early_stopping="auc",
                                                                      patience=4)).capped


def test_loss_is_watched_downwards():
    c = Convergence.of([0.52, 0.50, 0.51], TrainConfig(epochs=3, early_stopping="loss", patience=1))
    assert (c.best_epoch, c.best, c.monitor, c.capped) == (2, 0.50, "loss", False)


def test_the_reference_default_is_a_converging_schedule():
    schedule = ReferenceConfig().train
    assert schedule.early_stopping == "auc" and schedule.patience >= 3 and schedule.epochs >= 50
