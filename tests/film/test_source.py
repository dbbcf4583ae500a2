"""The input's files in order, frame loudness, and statistics of the sounding frames."""
import os

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio.features import FeatureSettings, mfcc, signal_to_tiles
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.film.source import expand_film_inputs, level_db, tile_statistics


@pytest.mark.parametrize("db", [0, -20, -40, -60])
def test_loudness_is_in_db_of_full_scale_white_noise(db):
    noise = 10 ** (db / 20.) * np.random.RandomState(0).randn(22050 * 3)
    assert np.median(level_db(mfcc(noise)[:, 0])) == pytest.approx(db, abs=0.5)


def test_statistics_leave_out_silent_frames():
    rng = np.random.RandomState(1)
    sound = 0.1 * rng.randn(22050 * 10).astype(np.float32)
    half = sound.copy()
    half[22050 * 5:] = 0  # the second half digital silence
    tiles = signal_to_tiles(np.r_[sound, half], FeatureSettings())
    loud = tile_statistics(tiles[:1], silence_db=-70)
    # The half-silent tile is summarised by its sounding half: like the sound's.
    np.testing.assert_allclose(tile_statistics(tiles[1:], silence_db=-70)[0, :40], loud[0, :40],
                               atol=1.0)
    everything = tile_statistics(tiles[1:])
    assert everything[0, 40] > 10 * loud[0, 40]  # c0 jumps to log(eps) in the silence


def test_inputs_files_in_order_and_folders_in_name_order(tmp_path):
    album = tmp_path / "album"
    (album / "cd2").mkdir(parents=True)
    for name in ("b.wav", "a.flac", "cd2/c.ogg", ".hidden.wav", "notes.txt"):
        soundfile.write(str(album / name), np.zeros(100), 22050, format="WAV") \
            if name.endswith(".wav") else (album / name).write_bytes(b"x")
    single = str(tmp_path / "z.wav")
    soundfile.write(single, np.zeros(100), 22050)
    paths = expand_film_inputs([single, str(album)])
    assert [p[len(str(tmp_path)) + 1:] for p in paths] == [
        "z.wav", "album/a.flac", "album/b.wav", "album/cd2/c.ogg"]
    with pytest.raises(InputError, match="nowhere.wav"):
        expand_film_inputs([str(tmp_path / "nowhere.wav")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        expand_film_inputs([str(tmp_path / "empty")])
    with pytest.raises(InputError, match="at least one"):
        expand_film_inputs([])


def test_a_fifo_is_refused_alone_or_in_a_folder(tmp_path):
    # Opening a FIFO blocks for ever: film hung on one, alone or in a folder.
    folder = tmp_path / "album"
    folder.mkdir()
    soundfile.write(str(folder / "01.flac"), np.zeros(22050, np.float32), 22050)
    os.mkfifo(str(folder / "02.flac"))
    for inputs in ([str(folder / "02.flac")], [str(folder)]):
        with pytest.raises(InputError, match=r"02.flac: is a FIFO \(named pipe\), not a regular"):
            expand_film_inputs(inputs)
    with pytest.raises(InputError, match="/dev/zero: is a character device"):
        expand_film_inputs(["/dev/zero"])
