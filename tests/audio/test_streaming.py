import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio import features, streaming
from soundtrack_cnn.audio.features import FeatureSettings, signal_to_tiles
from soundtrack_cnn.audio.io import load_audio, stream_audio
from soundtrack_cnn.audio.streaming import stream_tiles, tile_starts
from soundtrack_cnn.errors import InputError


@pytest.fixture(scope="module")
def stereo_ogg(tmp_path_factory):
    """41.3 s of 44.1 kHz stereo Ogg/Vorbis: decoded in several blocks, resampled."""
    path = str(tmp_path_factory.mktemp("long") / "film.ogg")
    rng = np.random.RandomState(3)
    sr = 44100
    t = np.arange(int(41.3 * sr)) / sr
    tone = np.sin(2 * np.pi * (300 + 200 * np.sin(0.3 * t)) * t)
    signal = np.stack([tone, 0.5 * tone], axis=1) * 0.3 + 0.05 * rng.randn(len(t), 2)
    # libsndfile's Vorbis encoder crashes on very large single writes: one second at a time.
    with soundfile.SoundFile(path, "w", sr, 2) as out:
        for start in range(0, len(signal), sr):
            out.write(signal[start:start + sr].astype(np.float32))
    return path


def test_stream_audio_blocks_join_to_load_audio(stereo_ogg):
    blocks = list(stream_audio(stereo_ogg, 22050, block_samples=10000))
    assert len(blocks) > 100
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(stereo_ogg, 22050))


@pytest.mark.parametrize("hop", [100, 25, 130, 37])
def test_streamed_tiles_equal_whole_file_tiles(stereo_ogg, monkeypatch, hop):
    # Small MFCC runs so that a 41 s file crosses many run boundaries.
    monkeypatch.setattr(features, "MFCC_BLOCK_FRAMES", 37)
    monkeypatch.setattr(streaming, "MFCC_BLOCK_FRAMES", 37)
    settings = FeatureSettings(hop=hop)
    whole = signal_to_tiles(load_audio(stereo_ogg, settings.sr), settings, name=stereo_ogg)
    for tiles_per_block in (1, 4, 1000):
        blocks = list(stream_tiles(stereo_ogg, settings, tiles_per_block=tiles_per_block))
        assert max(len(b) for b in blocks) <= tiles_per_block
        np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_short_and_empty_files_are_named(tmp_path):
    short = str(tmp_path / "short.wav")
    soundfile.write(short, np.zeros(22050 * 3, np.float32), 22050)
    with pytest.raises(InputError, match="short.wav: too short"):
        list(stream_tiles(short))
    empty = str(tmp_path / "empty.wav")
    soundfile.write(empty, np.zeros(0, np.float32), 22050)
    with pytest.raises(InputError, match="empty.wav"):
        list(stream_tiles(empty))
    with pytest.raises(InputError, match="tiles_per_block"):
        list(stream_tiles(short, tiles_per_block=0))


def test_tile_starts_follow_the_hop():
    np.testing.assert_allclose(tile_starts(4, FeatureSettings(hop=25)), [0, 2.5, 5, 7.5])


def test_mixdown_equals_numpys_mean_for_any_channel_count():
    from soundtrack_cnn.audio.io import _mixdown
    for channels in range(1, 11):
        block = np.random.RandomState(channels).randn(5000, channels).astype(np.float32)
        np.testing.assert_array_equal(_mixdown(block), block.mean(axis=1, dtype=np.float32))
