"""The in-distribution flag on the fixture's run: calibrated on held-out tiles, noise and silence out."""
import os

import numpy as np
import pytest

from soundtrack_cnn.audio.features import FeatureSettings, signal_to_tiles
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.film.novelty import Novelty, run_tiles, summaries
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
    novelty = Novelty.from_run(two_tag_run, settings, silence_db=-70)
    assert sorted(os.listdir(two_tag_run)) == before
    store, rows, _ = run_tiles(two_tag_run)
    assert len(rows["train"]) == novelty.n_train_ and len(rows["valid"]) == novelty.n_valid_
    folder = os.path.dirname(two_tag_corpus)
    music = np.concatenate([signal_to_tiles(soundfile.read(os.path.join(
        folder, "track{}.wav".format(i)), dtype="float32")[0], settings) for i in range(30, 36)])
    noise = signal_to_tiles(0.3 * np.random.RandomState(0).randn(22050 * 30), settings)
    flags = lambda tiles: novelty.in_distribution(tile_statistics(tiles, -70, settings))
    assert flags(music).mean() >= 0.8 and not flags(noise).any()
    # One sample at -100 dBFS: near silence, but not what extraction refuses as silence.
    silence = signal_to_tiles(np.r_[np.zeros(22050 * 20), 1e-5], settings)
    assert not flags(silence).any()


def test_an_export_is_not_a_run(tmp_path):
    with pytest.raises(InputError, match="experiment.json"):
        run_tiles(str(tmp_path))


def test_the_record_names_the_neighbour_with_an_english_ordinal():
    # verdict.json said "3th nearest".
    rng = np.random.RandomState(0)
    novelty = Novelty().fit(np.c_[rng.randn(200, 13), np.exp(rng.randn(200, 13))],
                            np.c_[rng.randn(50, 13), np.exp(rng.randn(50, 13))],
                            groups=np.repeat(np.arange(20), 10))
    for k, word in ((1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (23, "23rd")):
        novelty.k = k
        assert "the {} nearest summary".format(word) in novelty.to_dict()["distance"]
