"""The named profiles: the study's numbers are the study's, the others differ only in numbers."""
import dataclasses

import pytest

from soundtrack_cnn.audio.features import FeatureSettings
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.training.batches import AUGMENTATIONS
from soundtrack_cnn.training.network import build_net
from soundtrack_cnn.experiment.profiles import PROFILES, Profile, get_profile


def test_the_study_profile_overrides_nothing():
    assert get_profile("study").net_params == {} and get_profile("study").settings == {}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_builds_the_studys_network(name):
    # Only hyperparameters differ: the layers are the listing's.
    study = build_net()
    net = build_net(**get_profile(name).net_params)
    assert [layer for layer, _ in net.layers] == [layer for layer, _ in study.layers]
    assert net.objective_loss_function is study.objective_loss_function
    assert net.regression and net.update is study.update


def test_unknown_profiles_are_one_error_and_profiles_pass_through():
    with pytest.raises(InputError, match="unknown profile 'huge'"):
        get_profile("huge")
    custom = dataclasses.replace(get_profile("demo"), name="mine")
    assert get_profile(custom) is custom and isinstance(custom, Profile)


def test_the_demo_profile_is_what_make_train_measured():
    # Its numbers are the evidence of docs/results (demo, real-music).
    assert get_profile("demo").net_params == {"epochs": 20, "batch": 32, "patience": 8,
                                              "rate": .03, "shuffle": "balanced",
                                              "monitor": "valid_auc"}
    assert get_profile("demo").settings == {}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_no_named_profile_turns_on_an_option_beyond_the_study(name):
    # Every option lost to the demo profile on real-music validation tracks (docs/results/real-music.md).
    profile = get_profile(name)
    assert "augment" not in profile.net_params
    assert profile.feature_settings() == FeatureSettings()


def test_options_beyond_the_study_go_on_a_profile_made_from_demo():
    demo = get_profile("demo")
    mine = dataclasses.replace(demo, name="demo-hop25",
                               net_params=dict(demo.net_params, augment={"hop": 25}),
                               settings={"track_norm": "mean"})
    assert set(mine.net_params["augment"]) <= set(AUGMENTATIONS)
    net = build_net(**mine.net_params)
    assert net.batch_iterator_train.hop == 25
    assert net.batch_iterator_train.batch_size == demo.net_params["batch"]
    settings = mine.feature_settings()
    assert settings.track_norm == "mean" and settings.tile_shape == FeatureSettings().tile_shape
