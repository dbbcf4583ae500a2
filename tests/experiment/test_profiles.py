"""The named profiles: the study's numbers are the study's, the others differ only in numbers."""
import dataclasses

import pytest

from soundtrack_cnn.errors import InputError
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
