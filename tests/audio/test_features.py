"""Feature settings, MFCC frames, tiles and the normaliser."""
import json
import re

import numpy as np
import pytest
import python_speech_features
import soundfile

from soundtrack_cnn.audio.io import write_audio
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.audio.features import (FeatureSettings, Normalizer, audio_to_tiles,
                                           check_usable, compression_figures, mfcc,
                                           normalise_track, signal_to_tiles, tile)


def noise(seconds, sr=22050, seed=0):
    return (0.1 * np.random.RandomState(seed).randn(int(seconds * sr))).astype(np.float32)


def test_settings_round_trip_through_json():
    settings = FeatureSettings(hop=25, highfreq=8000.0)
    again = FeatureSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings and hash(again) == hash(settings)
    assert again != FeatureSettings()


@pytest.mark.parametrize("changes, field", [
    ({"nfft": 2048}, "nfft"),
    ({"track_norm": "cmvn"}, "track_norm"),
    ({"nfft": 3000}, "nfft"),
    ({"nfilt": 26}, "nfilt"),
    ({"highfreq": 20000}, "highfreq"),
    ({"n_frames": 0}, "n_frames"),
    ({"min_fraction": 0}, "min_fraction"),
    ({"winstep": 0.2}, "winstep"),
])
def test_invalid_settings_name_the_parameter(changes, field):
    with pytest.raises(InputError, match=field):
        FeatureSettings(**changes)


@pytest.mark.parametrize("changes, message", [
    ({"nfft": 2 ** 28}, "nfft must be in [64, 16384] samples, got 268435456"),
    ({"nfft": 2 ** 15}, "nfft must be in [64, 16384] samples"),
    ({"sr": 10 ** 7}, "sr must be in [4000, 96000] Hz"),
    ({"n_frames": 10 ** 6, "hop": 10}, "n_frames must be in [1, 1000] frames"),
    ({"n_mfcc": 4000, "nfilt": 4000}, "n_mfcc must be in [1, 128]"),
    ({"winlen": float("nan")}, "winlen must be in [0.005, 1.0] s, got nan"),
    ({"winstep": float("inf")}, "winstep must be in"),
    ({"preemph": "0.97"}, "preemph must be a number"),
    ({"hop": True}, "hop must be an integer"),
    ({"append_energy": "yes"}, "append_energy must be true or false"),
])
def test_settings_beyond_what_the_package_makes_are_refused_by_name(changes, message):
    # N6: settings travel in shared files and size allocations (nfft = 2**28 asked 334 GiB).
    with pytest.raises(InputError, match=re.escape(message)):
        FeatureSettings.from_dict(dict(FeatureSettings().to_dict(), **changes))


def test_every_bound_admits_the_study_s_settings():
    from soundtrack_cnn.audio.features import SETTINGS_BOUNDS
    study = FeatureSettings()
    for name, (low, high, _) in SETTINGS_BOUNDS.items():
        value = getattr(study, name)
        assert value is None or low <= value <= high, name


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(InputError, match="colour"):
        FeatureSettings.from_dict(dict(FeatureSettings().to_dict(), colour="red"))


def test_check_same_lists_every_differing_field():
    FeatureSettings().check_same(FeatureSettings())
    with pytest.raises(InputError) as caught:
        FeatureSettings().check_same(FeatureSettings(hop=50, nfilt=64), what="store X")
    message = str(caught.value)
    assert "store X" in message and "hop=50" in message and "nfilt=64" in message
    assert "sr=" not in message


def test_mfcc_is_python_speech_features_with_the_documented_parameters():
    # 150 s: more than one block of frames, so the blockwise pre-emphasis is checked too.
    signal = noise(150.0)
    frames = mfcc(signal)
    reference = python_speech_features.mfcc(signal, samplerate=22050, winlen=0.1, winstep=0.1,
                                             numcep=40, nfilt=40, nfft=4096)
    assert frames.shape == (1500, 40) and frames.dtype == np.float32
    np.testing.assert_allclose(frames, reference, rtol=1e-4, atol=1e-3)


def test_only_whole_windows_become_frames():
    assert mfcc(noise(1.0)).shape == (10, 40)
    assert mfcc(noise(1.09)).shape == (10, 40)
    assert mfcc(noise(1.1)).shape == (11, 40)


def test_digital_silence_gives_finite_frames_but_no_tiles(tmp_path):
    frames = mfcc(np.zeros(22050 * 12, np.float32))
    assert np.isfinite(frames).all()
    # Refused in one place, so extraction and predict agree.
    with pytest.raises(InputError, match="silent.wav: digital silence"):
        signal_to_tiles(np.zeros(22050 * 12, np.float32), name="silent.wav")
    path = str(tmp_path / "silent.flac")
    write_audio(path, np.zeros(22050 * 12), 22050)
    with pytest.raises(InputError, match="silent.flac: digital silence"):
        audio_to_tiles(path)
    from soundtrack_cnn.audio.streaming import stream_tiles  # predict's path
    with pytest.raises(InputError, match="silent.flac: digital silence"):
        list(stream_tiles(path))


@pytest.mark.parametrize("level, offset", [(1e-30, 0.0), (0.0, 0.25), (1e-8, -0.5)])
def test_a_dc_offset_or_a_vanishing_signal_is_silence_on_every_path(tmp_path, level, offset):
    import soundfile
    rng = np.random.RandomState(0)
    signal = (offset + level * rng.randn(22050 * 12)).astype(np.float32)
    with pytest.raises(InputError, match="quiet.wav: digital silence"):
        signal_to_tiles(signal, name="quiet.wav")
    # A float WAV keeps 1e-30 and the offset as they are (a 16-bit file would round them).
    path = str(tmp_path / "quiet.wav")
    soundfile.write(path, signal, 22050, subtype="FLOAT")
    with pytest.raises(InputError, match="quiet.wav: digital silence"):
        audio_to_tiles(path)
    from soundtrack_cnn.audio.streaming import stream_tiles  # predict's path
    with pytest.raises(InputError, match="quiet.wav: digital silence"):
        list(stream_tiles(path))


def test_quiet_music_is_not_silence(tmp_path):
    # -60 dBFS noise on a DC offset: quiet, offset, but audio.
    signal = (0.3 + 1e-3 * np.random.RandomState(1).randn(22050 * 12)).astype(np.float32)
    assert len(signal_to_tiles(signal)) == 1


@pytest.mark.parametrize("bad", [np.zeros((100, 2)), np.zeros(100), np.full(22050, np.nan)])
def test_mfcc_rejects_bad_signals(bad):
    with pytest.raises(InputError):
        mfcc(bad)


def test_tiles_put_coefficients_on_axis_2_and_time_on_axis_3():
    frames = np.arange(200 * 40, dtype=np.float32).reshape(200, 40)
    tiles = tile(frames)
    assert tiles.shape == (2, 1, 40, 100)
    np.testing.assert_array_equal(tiles[1, 0, :, 0], frames[100])
    np.testing.assert_array_equal(tiles[0, 0, 3, :], frames[:100, 3])


def test_tail_policy_loops_a_long_enough_tail_and_drops_a_short_one():
    frames = np.arange(260 * 40, dtype=np.float32).reshape(260, 40)
    tiles = tile(frames)
    assert len(tiles) == 3
    np.testing.assert_array_equal(tiles[2, 0].T[:60], frames[200:])
    np.testing.assert_array_equal(tiles[2, 0].T[60:], frames[200:240])
    assert len(tile(frames[:249])) == 2
    assert len(tile(frames[:49])) == 0
    assert len(tile(frames[:50])) == 1


def test_overlapping_hop():
    settings = FeatureSettings(hop=25)
    assert len(tile(np.zeros((200, 40)), settings)) == 5  # all covered: no tail tile
    assert len(tile(np.zeros((140, 40)), settings)) == 3  # 0, 25 whole; 50 looped (90 frames)
    assert len(tile(np.zeros((135, 40)), settings)) == 3


def test_audio_to_tiles_and_too_short_clip(tmp_path):
    path = str(tmp_path / "clip.wav")
    soundfile.write(path, noise(25.0), 22050)
    tiles = audio_to_tiles(path)
    assert tiles.shape == (3, 1, 40, 100) and tiles.dtype == np.float32
    short = str(tmp_path / "half_second.wav")
    soundfile.write(short, noise(0.5), 22050)
    with pytest.raises(InputError, match="too short") as caught:
        audio_to_tiles(short)
    assert short in str(caught.value)


@pytest.mark.parametrize("settings", [FeatureSettings(), FeatureSettings(min_fraction=1.0),
                                      FeatureSettings(n_frames=30, hop=10, min_fraction=.2)])
def test_check_usable_agrees_with_the_tiles_at_the_boundary(settings):
    # check_usable decides "too short" from the length alone, without computing
    # MFCCs; it must say so exactly when tiling the frames gives nothing.
    step = settings.step_samples
    shortest = int(settings.min_seconds * settings.sr)
    for n_samples in range(shortest - 2 * step, shortest + 2 * step, step // 3):
        signal = noise(n_samples / settings.sr, settings.sr)
        frames = mfcc(signal, settings) if n_samples >= settings.window_samples else np.zeros(
            (0, settings.n_mfcc))
        gives_tiles = len(tile(frames, settings)) > 0
        try:
            check_usable(signal, settings)
            usable = True
        except InputError:
            usable = False
        assert usable == gives_tiles, n_samples


def test_too_short_is_named_before_silence():
    with pytest.raises(InputError, match="x.wav: too short"):
        check_usable(np.zeros(1000, np.float32), name="x.wav")
    with pytest.raises(InputError, match="x.wav: digital silence"):
        check_usable(np.zeros(22050 * 20, np.float32), name="x.wav")


class Chunked(object):
    """Array-like that only hands out slices, counting the largest one."""

    def __init__(self, array):
        self.array, self.largest = array, 0

    def __len__(self):
        return len(self.array)

    def __getitem__(self, key):
        piece = self.array[key]
        self.largest = max(self.largest, len(piece))
        return piece


def test_normalizer_fits_in_chunks_to_the_exact_statistics():
    rng = np.random.RandomState(0)
    tiles = (rng.randn(50, 1, 40, 100) * np.arange(1, 41)[:, None] + 100).astype(np.float32)
    tiles[:, :, 5] = 3.0
    source = Chunked(tiles)
    normalizer = Normalizer(chunk=7).fit(source)
    assert source.largest == 7
    per_coefficient = tiles.transpose(2, 0, 1, 3).reshape(40, -1).astype(np.float64)
    np.testing.assert_allclose(normalizer.mean_, per_coefficient.mean(axis=1), rtol=1e-10)
    expected_std = per_coefficient.std(axis=1)
    expected_std[5] = 1.0
    np.testing.assert_allclose(normalizer.std_, expected_std, rtol=1e-8)
    scaled = normalizer.transform(tiles)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=(0, 1, 3)), 0, atol=1e-4)


def test_normalizer_round_trips_through_json():
    tiles = np.random.RandomState(1).randn(4, 1, 40, 100).astype(np.float32)
    fitted = Normalizer().fit(tiles)
    again = Normalizer.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(again.transform(tiles), fitted.transform(tiles))
    with pytest.raises(InputError):
        fitted.transform(np.zeros((2, 1, 13, 100)))
    with pytest.raises(InputError):
        Normalizer().fit(np.zeros((0, 1, 40, 100)))


def test_compression_figures():
    figures = compression_figures()
    assert figures["pcm16_bytes"] == 441000
    assert figures["spectrogram_bytes"] == 2049 * 100 * 4
    assert figures["mfcc_bytes"] == 40 * 100 * 4
    assert figures["saved_vs_pcm16_percent"] == pytest.approx(100 * (1 - 16000 / 441000.0))
    assert figures["saved_vs_spectrogram_percent"] > figures["saved_vs_pcm16_percent"]


def test_track_norm_is_recorded_only_when_used():
    # Stores and models made before the option existed keep equal records.
    assert "track_norm" not in FeatureSettings().to_dict()
    settings = FeatureSettings(track_norm="meanvar")
    assert FeatureSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    with pytest.raises(InputError, match="track_norm"):
        FeatureSettings().check_same(settings)


@pytest.mark.parametrize("track_norm", ["mean", "meanvar"])
def test_track_norm_standardises_each_coefficient_over_the_track(track_norm):
    settings = FeatureSettings(track_norm=track_norm)
    raw = signal_to_tiles(noise(35), FeatureSettings())
    tiles = signal_to_tiles(noise(35), settings)
    np.testing.assert_array_equal(tiles, normalise_track(raw, settings))
    values = tiles[:, 0].transpose(1, 0, 2).reshape(40, -1).astype(np.float64)
    assert np.allclose(values.mean(axis=1), 0, atol=1e-4)
    spread = raw[:, 0].transpose(1, 0, 2).reshape(40, -1).std(axis=1)
    expected = np.ones(40) if track_norm == "meanvar" else spread
    assert np.allclose(values.std(axis=1), expected, rtol=1e-3)


def test_track_mean_removes_the_level_and_keeps_the_rest():
    settings = FeatureSettings(track_norm="mean")
    quiet, loud = noise(25), 4 * noise(25)
    raw_quiet, raw_loud = signal_to_tiles(quiet), signal_to_tiles(loud)
    # A gain moves c0 (the log energy) only, by 2 ln 4 ...
    assert np.allclose(raw_loud[:, :, 0] - raw_quiet[:, :, 0], 2 * np.log(4), atol=1e-4)
    assert np.allclose(raw_loud[:, :, 1:], raw_quiet[:, :, 1:], atol=1e-3)
    # ... which the track's mean takes away.
    assert np.allclose(signal_to_tiles(loud, settings), signal_to_tiles(quiet, settings), atol=1e-3)
    assert normalise_track(raw_quiet, FeatureSettings()) is raw_quiet
