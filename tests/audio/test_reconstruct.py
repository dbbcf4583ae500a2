"""MFCC -> audio: the rebuilt sound has (nearly) the original's MFCCs; the crossfade demo."""
import os

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio.features import FeatureSettings, mfcc
from soundtrack_cnn.audio.io import load_audio
from soundtrack_cnn.audio.reconstruct import crossfade, mfcc_to_audio, reconstruct_file
from soundtrack_cnn.errors import InputError

SR = 22050


def melody(seconds=12.0, seed=0):
    """Harmonic tones with vibrato, a swelling envelope and a little noise."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * SR)) / float(SR)
    bend = 1 + 0.1 * np.sin(2 * np.pi * 0.2 * t)
    tones = sum(np.sin(2 * np.pi * hz * t * bend) / k
                for k, hz in enumerate([220, 440, 660, 1320, 2500], 1))
    return (0.2 * tones * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
            + 0.01 * rng.randn(len(t))).astype(np.float32)


def distance(a, b):
    """Mean absolute difference over coefficients 1..39 (c0 is the log energy)."""
    return float(np.abs(a[:, 1:] - b[:, 1:]).mean())


@pytest.mark.parametrize("settings", [FeatureSettings(), FeatureSettings(nfilt=64)])
def test_rebuilt_audio_has_nearly_the_original_mfccs(settings):
    original = melody()
    frames = mfcc(original, settings)
    rebuilt = mfcc_to_audio(frames, settings)
    assert rebuilt.dtype == np.float32 and len(rebuilt) == len(original)
    assert np.isfinite(rebuilt).all()
    again = mfcc(rebuilt, settings)
    same_loudness_noise = np.random.RandomState(1).randn(len(original)) * original.std()
    # Measured: 4.2-4.4 rebuilt vs 10.0-12.9 for noise of the same loudness.
    assert distance(frames, again) < 5.5
    assert distance(frames, mfcc(same_loudness_noise, settings)) > 8.0
    # c0 is the log frame energy: matched to a few percent, frame by frame.
    assert np.abs(frames[:, 0] - again[:, 0]).mean() < 0.1
    assert np.corrcoef(frames[:, 1:].ravel(), again[:, 1:].ravel())[0, 1] > 0.85


def test_without_energy_term_and_lifter():
    settings = FeatureSettings(append_energy=False, ceplifter=0, preemph=0)
    frames = mfcc(melody(), settings)
    again = mfcc(mfcc_to_audio(frames, settings), settings)
    # Measured: 0.63, and 3.1 for c0 (the mean log mel energy: quiet bands come back louder).
    assert distance(frames, again) < 1.5
    assert np.abs(frames[:, 0] - again[:, 0]).mean() < 4.0


def test_seed_fixes_the_noise():
    frames = mfcc(melody(3.0))
    np.testing.assert_array_equal(mfcc_to_audio(frames, seed=3), mfcc_to_audio(frames, seed=3))
    assert not np.array_equal(mfcc_to_audio(frames, seed=3), mfcc_to_audio(frames, seed=4))


def test_silence_rebuilds_to_near_silence():
    rebuilt = mfcc_to_audio(mfcc(np.zeros(SR * 2, np.float32)))
    assert np.isfinite(rebuilt).all() and np.abs(rebuilt).max() < 1e-6


def test_bad_frames():
    with pytest.raises(InputError, match="frames"):
        mfcc_to_audio(np.zeros((10, 13)))
    with pytest.raises(InputError, match="taper"):
        mfcc_to_audio(np.zeros((10, 40)), taper=0)


def test_crossfade_goes_from_original_to_rebuilt_at_constant_power():
    rng = np.random.RandomState(0)
    a, b = rng.randn(SR * 6), rng.randn(SR * 5)
    mixed = crossfade(a, b, SR, at=2.5, fade=1.0)
    assert len(mixed) == SR * 5 and mixed.dtype == np.float32
    np.testing.assert_allclose(mixed[:2 * SR], a[:2 * SR], atol=1e-6)
    np.testing.assert_allclose(mixed[3 * SR:], b[3 * SR:5 * SR], atol=1e-6)
    assert 0.9 < mixed[int(2.25 * SR):int(2.75 * SR)].std() < 1.1
    with pytest.raises(InputError, match="at="):
        crossfade(a, b, SR, at=9.0)


@pytest.mark.parametrize("fade", [False, True])
def test_reconstruct_file(tmp_path, fade):
    source, target = str(tmp_path / "in.flac"), str(tmp_path / "out.ogg")
    soundfile.write(source, melody(4.0), SR)
    assert reconstruct_file(source, target, crossfade=fade) == pytest.approx(4.0)
    rebuilt = load_audio(target)
    assert abs(len(rebuilt) - 4 * SR) < 10 and np.isfinite(rebuilt).all()
    clip = str(tmp_path / "clip.wav")
    soundfile.write(clip, np.zeros(100, np.float32), SR)
    with pytest.raises(InputError, match="clip.wav"):
        reconstruct_file(clip, target)


def test_reconstruct_never_writes_over_its_input(tmp_path):
    # reconstruct song.flac song.flac used to replace the song by its lossy rebuild.
    song = tmp_path / "song.flac"
    soundfile.write(str(song), melody(2.0), SR)
    before = song.read_bytes()
    os.link(str(song), str(tmp_path / "hard.flac"))
    for out in (str(song), str(tmp_path / "." / "song.flac"), str(tmp_path / "hard.flac")):
        with pytest.raises(InputError, match="is also this command's input"):
            reconstruct_file(str(song), out)
    assert song.read_bytes() == before
