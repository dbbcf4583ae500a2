"""The in-distribution flag on the fixture's run: calibrated on held-out tiles, noise and silence out."""
import json
import os

import numpy as np
import pytest

from soundtrack_cnn.audio.features import FeatureSettings, signal_to_tiles
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.tracksets import in_distribution_reference
from soundtrack_cnn.film.novelty import (
    MAX_TRAINING_TILES,
    REFERENCE_FILE,
    Novelty,
    read_reference,
    summaries,
)
from soundtrack_cnn.film.source import tile_statistics


def test_threshold_lets_about_the_quantile_of_held_out_tiles_through():
    rng = np.random.RandomState(0)

    def tiles(n, shift=0.0):
        return np.c_[rng.randn(n, 13) + shift, np.exp(rng.randn(n, 13))]

    groups = np.repeat(np.arange(200), 10)
    novelty = Novelty(quantile=0.95).fit(tiles(2000), tiles(500), groups=groups)
    assert novelty.n_held_out_ == 2500
    assert 0.02 < 1 - novelty.in_distribution(tiles(4000)).mean() < 0.08
    assert not novelty.in_distribution(tiles(50, shift=6)).any()
    with pytest.raises(InputError, match="quantile"):
        Novelty(quantile=1).fit(tiles(10), tiles(5))


def test_a_tile_without_sound_is_infinitely_far():
    rng = np.random.RandomState(0)
    train = np.c_[rng.randn(50, 13), np.exp(rng.randn(50, 13))]
    novelty = Novelty().fit(train, train[:10])
    assert novelty.distance(np.full((1, 26), np.nan))[0] == np.inf
    assert summaries(train).shape == (50, 26)


@pytest.mark.slow
def test_on_a_run_noise_and_silence_are_out_and_held_out_music_in(two_tag_run, two_tag_corpus):
    import soundfile
    settings = FeatureSettings(hop=25)
    before = sorted(os.listdir(two_tag_run))
    novelty = in_distribution_reference(two_tag_run, silence_db=-70)
    assert sorted(os.listdir(two_tag_run)) == before
    # What evaluate wrote is this reference, exactly.
    written = Novelty.from_reference(read_reference(two_tag_run), REFERENCE_FILE)
    assert written.threshold_ == novelty.threshold_
    np.testing.assert_array_equal(written.reference_, novelty.reference_)
    assert novelty.n_train_ <= MAX_TRAINING_TILES and novelty.n_valid_ > 0
    folder = os.path.dirname(two_tag_corpus)
    music = np.concatenate([signal_to_tiles(soundfile.read(os.path.join(
        folder, "track{}.wav".format(i)), dtype="float32")[0], settings) for i in range(30, 36)])
    noise = signal_to_tiles(0.3 * np.random.RandomState(0).randn(22050 * 30), settings)
    flags = lambda tiles: novelty.in_distribution(tile_statistics(tiles, -70, settings))
    assert flags(music).mean() >= 0.8 and not flags(noise).any()
    # One sample at -100 dBFS: near silence, but not what extraction refuses as silence.
    silence = signal_to_tiles(np.r_[np.zeros(22050 * 20), 1e-5], settings)
    assert not flags(silence).any()


def test_a_folder_that_is_not_a_run_has_no_reference(tmp_path):
    with pytest.raises(InputError, match="experiment.json"):
        in_distribution_reference(str(tmp_path))
    with pytest.raises(InputError, match=r"no in-distribution reference .*evaluate_run\("):
        read_reference(str(tmp_path))


def _fitted(quantile=0.99):
    rng = np.random.RandomState(0)

    def tiles(n):
        return np.c_[rng.randn(n, 13), np.exp(rng.randn(n, 13))]
    novelty = Novelty(quantile).fit(tiles(300), tiles(100), groups=np.repeat(np.arange(30), 10))
    return novelty, tiles


@pytest.mark.parametrize("quantile", [0.9, 0.99])
def test_a_reference_read_back_is_the_fitted_one_for_any_quantile(quantile):
    fitted, tiles = _fitted(quantile)
    # Through JSON, as it travels; written at the default quantile, read at another.
    again = Novelty.from_reference(json.loads(json.dumps(_fitted()[0].to_reference())),
                                   "m.onnx", quantile=quantile)
    probe = tiles(80)
    np.testing.assert_array_equal(again.distance(probe), fitted.distance(probe))
    assert again.threshold_ == fitted.threshold_ and again.to_dict() == fitted.to_dict()


def _set(reference, field, value):
    reference = json.loads(json.dumps(reference))
    keys = field.split(".")
    target = reference
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return reference


@pytest.mark.parametrize("field, value, message", [
    ("format", "something else", "it is not one"),
    ("version", 2, "version 2"),
    ("k", 10 ** 6, "field 'k' must be an integer"),
    ("coefficients", 40, "field 'coefficients' must be 13"),
    ("mean", [0.0] * 25, "field 'mean' must be 26 finite numbers"),
    ("scale", [0.0] * 26, "field 'scale' must be positive"),
    ("reference.shape", [10 ** 9, 26], "more than 20000"),
    ("reference.shape", [300, 40], "rows of \\[40\\] values, not \\[26\\]"),
    ("reference.base64", "AAAA", "characters of base64 for an array of"),
    ("held_out.dtype", "<f4", "an array must be"),
    ("valid_distances", [1, 2], "an array must be"),
])
def test_a_damaged_reference_is_refused_before_an_array_is_decoded(field, value, message):
    novelty, _ = _fitted()
    with pytest.raises(InputError, match="m.onnx: its in-distribution reference is damaged: .*"
                                         + message):
        Novelty.from_reference(_set(novelty.to_reference(), field, value), "m.onnx")


def test_a_reference_of_infinite_summaries_is_refused():
    novelty, _ = _fitted()
    novelty.reference_ = novelty.reference_.copy()
    novelty.reference_[0, 0] = np.inf
    with pytest.raises(InputError, match="not all finite"):
        Novelty.from_reference(novelty.to_reference(), "m.onnx")


def test_the_record_names_the_neighbour_with_an_english_ordinal():
    # verdict.json said "3th nearest".
    rng = np.random.RandomState(0)
    novelty = Novelty().fit(np.c_[rng.randn(200, 13), np.exp(rng.randn(200, 13))],
                            np.c_[rng.randn(50, 13), np.exp(rng.randn(50, 13))],
                            groups=np.repeat(np.arange(20), 10))
    for k, word in ((1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (23, "23rd")):
        novelty.k = k
        assert "the {} nearest summary".format(word) in novelty.to_dict()["distance"]
