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


def test_zeros_are_derived_from_the_training_rows():
    from edgeship.models.settings import MODEL_BATCH, REFERENCE_BATCH

    assert [REFERENCE_BATCH.size(r) for r in (500, 7_000, 60_000, 6_000_000)] == [64, 64, 512, 4096]
    assert [MODEL_BATCH.size(r) for r in (500, 7_000, 69_000, 6_000_000)] == [32, 32, 128, 128]
    model = TrainConfig()  # the shipped ranker's default: cap, batch and patience from the rows, AUC
    assert (model.epochs, model.batch_size, model.early_stopping, model.patience) == (0, 0, "auc", 0)
    assert [model.for_rows(r).epochs for r in (69_000, 6_000_000, 36_000_000, 100_000_000)] == [50, 6, 3, 3]
    assert [model.for_rows(r).patience for r in (7_000, 999_999, 1_000_000, 5_400_000)] == [3, 3, 2, 2]
    assert TrainConfig(patience=1).for_rows(7_000).patience == 1  # set: kept
    reference = ReferenceConfig().train.for_rows(60_000, REFERENCE_BATCH)
    assert (reference.batch_size, reference.epochs) == (512, 100)
    assert TrainConfig(epochs=2, batch_size=128, patience=2).for_rows(7_000) == TrainConfig(epochs=2, batch_size=128,
                                                                                           patience=2)  # set: kept
    assert Convergence.of([0.7, 0.8, 0.79], reference).batch_size == 512
