"""What a profile costs on a collection: the plan printed before training."""
import pytest

from soundtrack_cnn.training.budget import MIN_UPDATES, measure_step_seconds, plan_training
from soundtrack_cnn.training.network import STUDY_HYPERPARAMETERS
from soundtrack_cnn.experiment.profiles import get_profile

DEMO_TRAIN_TILES, DEMO_VALID_TILES = 888, 160


def test_the_study_profile_on_the_demo_corpus_is_warned_about():
    study = dict(STUDY_HYPERPARAMETERS, **get_profile("study").net_params)
    plan = plan_training(DEMO_TRAIN_TILES, DEMO_VALID_TILES, study, n_nets=10)
    assert (plan["updates_per_epoch"], plan["min_updates"]) == (1, 31)
    assert len(plan["warnings"]) == 1 and "one weight update per epoch" in plan["warnings"][0]


def test_the_demo_profile_is_not_warned_about_and_gets_enough_updates():
    demo = dict(STUDY_HYPERPARAMETERS, **get_profile("demo").net_params)
    plan = plan_training(DEMO_TRAIN_TILES, DEMO_VALID_TILES, demo, 10)
    assert plan["warnings"] == []
    assert plan["max_updates"] >= MIN_UPDATES


def test_too_few_epochs_are_warned_about_with_the_numbers():
    plan = plan_training(1000, 100, {"batch": 100, "epochs": 5, "patience": 2}, 1)
    assert plan["max_updates"] == 50 and plan["min_updates"] == 30
    assert any("at most 50 weight updates per net (5 epochs x 10)" in w for w in plan["warnings"])


def test_time_estimate_grows_with_nets_epochs_and_validation():
    params = {"batch": 100, "epochs": 10, "patience": 3}
    one = plan_training(1000, 0, params, 1, step_seconds=0.5)["max_hours"]
    assert one == pytest.approx(10 * 10 * 0.5 / 3600)
    assert plan_training(1000, 0, params, 10, step_seconds=0.5)["max_hours"] == pytest.approx(10 * one)
    assert plan_training(1000, 300, params, 1, step_seconds=0.5)["max_hours"] > one
    assert plan_training(1000, 0, params, 1)["max_hours"] is None


def test_nets_trained_at_once_shorten_the_estimate_by_whole_rounds():
    params = {"batch": 100, "epochs": 10, "patience": 3}
    one = plan_training(1000, 0, params, 1, step_seconds=0.5)["max_hours"]
    # Ten nets, four at a time: three rounds; two at a time: five.
    assert plan_training(1000, 0, params, 10, 0.5, n_parallel=4)["max_hours"] == pytest.approx(3 * one)
    assert plan_training(1000, 0, params, 10, 0.5, n_parallel=2)["max_hours"] == pytest.approx(5 * one)


@pytest.mark.slow
def test_measured_step_time_is_positive_and_leaves_lasagnes_rng_alone():
    import lasagne.random
    before = lasagne.random.get_rng()
    seconds = measure_step_seconds({"batch": 8, "epochs": 1, "patience": 1}, steps=1)
    assert 0 < seconds < 60
    assert lasagne.random.get_rng() is before
