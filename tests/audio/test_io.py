"""load_audio: every format, depth, channel count and rate; every bad file; write_audio."""
import os
import re
import struct

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio.io import load_audio, write_audio
from soundtrack_cnn.errors import InputError


def tone(seconds, sr, hz=1000.0, channels=1):
    t = np.arange(int(seconds * sr)) / float(sr)
    mono = 0.5 * np.sin(2 * np.pi * hz * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def peak_hz(signal, sr):
    spectrum = np.abs(np.fft.rfft(signal))
    return np.fft.rfftfreq(len(signal), 1.0 / sr)[spectrum.argmax()]


@pytest.mark.parametrize("name, sr, channels, subtype", [
    ("u8.wav", 22050, 1, "PCM_U8"),
    ("s16.wav", 22050, 1, "PCM_16"),
    ("s24.wav", 44100, 2, "PCM_24"),
    ("s32.wav", 22050, 1, "PCM_32"),
    ("f32.wav", 22050, 1, "FLOAT"),
    ("low.wav", 8000, 1, "PCM_16"),
    ("high.flac", 48000, 2, "PCM_16"),
    ("surround.wav", 48000, 6, "PCM_16"),
    ("vorbis.ogg", 44100, 2, "VORBIS"),
    ("song.mp3", 44100, 2, "MPEG_LAYER_III"),
])
def test_any_format_becomes_mono_float32_at_the_rate_asked(tmp_path, name, sr, channels, subtype):
    path = str(tmp_path / name)
    soundfile.write(path, tone(2.0, sr, channels=channels), sr, subtype=subtype)
    signal = load_audio(path, sr=22050)
    assert signal.dtype == np.float32 and signal.ndim == 1
    # mp3 encoders add a few ms of priming; everything else is exact to a sample or two.
    assert abs(len(signal) - 44100) < (2000 if name.endswith(".mp3") else 3)
    assert abs(peak_hz(signal, 22050) - 1000.0) < 2.0
    assert 0.3 < np.abs(signal).max() < 0.6


def test_channels_are_averaged(tmp_path):
    path = str(tmp_path / "opposite.wav")
    left = tone(1.0, 22050)
    soundfile.write(path, np.hstack([left, -left, left * 0, left]), 22050, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), 0.25 * left[:, 0], atol=1e-6)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"this is not audio at all\n" * 40, "cannot decode"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)), "cannot decode"),
])
def test_bad_files_raise_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        load_audio(str(path))
    assert str(path) in str(caught.value)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file") as caught:
        load_audio(str(tmp_path / "nowhere.flac"))
    assert "nowhere.flac" in str(caught.value)
    with pytest.raises(InputError, match="not a regular file"):
        load_audio(str(tmp_path))


def test_bad_rate(tmp_path):
    with pytest.raises(InputError, match="sr"):
        load_audio(str(tmp_path / "x.wav"), sr=0)


SR = 22050


def test_write_audio_is_atomic_and_keeps_the_signal(tmp_path):
    path = str(tmp_path / "out.wav")
    signal = tone(1.0, SR)[:, 0]
    write_audio(path, signal, SR)
    np.testing.assert_allclose(load_audio(path), signal, atol=1e-4)
    write_audio(path, signal * 10, SR)
    assert np.abs(load_audio(path)).max() == pytest.approx(1.0, abs=1e-3)
    assert os.listdir(str(tmp_path)) == ["out.wav"]
    with pytest.raises(InputError, match="out.xyz"):
        write_audio(str(tmp_path / "out.xyz"), signal, SR)
    with pytest.raises(InputError, match="finite"):
        write_audio(path, np.full(10, np.nan), SR)


def test_write_audio_survives_long_vorbis(tmp_path):
    # One two-minute write crashes libsndfile 1.2.2's Vorbis encoder (segfault).
    path = str(tmp_path / "long.ogg")
    write_audio(path, np.random.RandomState(0).randn(SR * 120) * 0.1, SR)
    assert soundfile.info(path).duration == pytest.approx(120.0)


def test_a_text_file_named_mp3_cannot_be_decoded_rather_than_missing(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("not audio\n" * 100)
    with pytest.raises(InputError, match="cannot decode audio") as caught:
        load_audio(str(path))
    assert "does not exist" not in str(caught.value)


@pytest.mark.parametrize("name, subtype", [("cut.ogg", "VORBIS"), ("cut.flac", "PCM_16"),
                                           ("cut.opus", "OPUS")])
@pytest.mark.parametrize("kept", [0.1, 0.5, 0.77, 0.9, 0.995])
def test_a_truncated_ogg_or_flac_is_refused(tmp_path, name, subtype, kept):
    path = str(tmp_path / name)
    rate = 48000 if subtype == "OPUS" else 44100  # Opus runs at 48 kHz
    t = np.arange(20 * rate) / float(rate)
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate,
                    format="OGG" if subtype == "OPUS" else None, subtype=subtype)
    assert len(load_audio(path)) == 20 * 22050
    data = open(path, "rb").read()
    with open(path, "wb") as stream:
        stream.write(data[:int(len(data) * kept)])
    # Every format says so in the same words (a cut FLAC used to be "flac decoder lost
    # sync"), except an Ogg file cut so short that libsndfile cannot even open it.
    with pytest.raises(InputError, match="truncated|file is malformed") as caught:
        load_audio(path)
    assert str(caught.value).startswith(path + ": ")
    if name != "cut.ogg" or kept > 0.1:
        assert str(caught.value).startswith(path + ": truncated")


# The Ogg CRC, written out as the specification gives it (load_audio computes it
# another way, through zlib): CRC-32, polynomial 0x04C11DB7, unreflected, from 0.
def _ogg_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_pages(data):
    """(start, end) of each page of a whole Ogg file."""
    pages, start = [], 0
    while start < len(data):
        assert data[start:start + 4] == b"OggS"
        count = data[start + 26]
        end = start + 27 + count + sum(data[start + 27:start + 27 + count])
        pages.append((start, end))
        start = end
    return pages


def _overrun_last_granule(path, frames):
    """Move the last page's granule position ``frames`` past the audio, CRC recomputed."""
    data = bytearray(open(path, "rb").read())
    pages = _ogg_pages(bytes(data))
    start, end = pages[-1]
    granule, = struct.unpack_from("<q", data, start + 6)
    previous, = struct.unpack_from("<q", data, pages[-2][0] + 6)
    struct.pack_into("<q", data, start + 6, granule + frames)
    struct.pack_into("<I", data, start + 22, 0)  # the CRC is taken with its own field zeroed
    struct.pack_into("<I", data, start + 22, _ogg_crc(bytes(data[start:end])))
    open(path, "wb").write(bytes(data))
    return granule - previous


@pytest.mark.parametrize("kept", [None, 0.1, 0.5, 0.9, 0.995])
def test_an_ogg_whose_last_granule_overstates_its_audio_is_read_and_cut_ones_refused(tmp_path,
                                                                                     kept):
    # Real game music: the last granule position declares 0.13 s more than
    # libvorbis decodes; the file is whole (end-of-stream flag set, ffmpeg reads
    # it without an error).  A shortfall within the last page is not a cut.
    path = str(tmp_path / "overrun.ogg")
    soundfile.write(path, tone(20.0, 44100), 44100)
    last_page = _overrun_last_granule(path, int(0.13 * 44100))
    with soundfile.SoundFile(path) as source:
        assert source.frames == 20 * 44100 + int(0.13 * 44100)  # what the header now declares
    assert last_page > int(0.13 * 44100)
    if kept is None:
        assert abs(len(load_audio(path)) - 20 * 22050) < 0.01 * 22050
        return
    _cut(path, kept)
    with pytest.raises(InputError, match="truncated|file is malformed"):
        load_audio(path)


def test_an_ogg_whose_last_page_is_damaged_or_not_marked_end_of_stream_is_refused(tmp_path):
    path = str(tmp_path / "a.ogg")
    soundfile.write(path, tone(5.0, 44100), 44100)
    data = bytearray(open(path, "rb").read())
    start, end = _ogg_pages(bytes(data))[-1]
    data[start + 5] &= ~0x04  # the flag cleared, CRC recomputed: a stream that goes on
    struct.pack_into("<I", data, start + 22, 0)
    struct.pack_into("<I", data, start + 22, _ogg_crc(bytes(data[start:end])))
    open(path, "wb").write(bytes(data))
    with pytest.raises(InputError, match="last Ogg page is not marked end-of-stream"):
        load_audio(path)
    data[end - 1] ^= 0xFF  # and now its CRC fails too: libogg drops such a page
    open(path, "wb").write(bytes(data))
    with pytest.raises(InputError, match="truncated"):
        load_audio(path)


def _cut(path, kept):
    data = open(path, "rb").read()
    with open(path, "wb") as stream:
        stream.write(data[:int(len(data) * kept)])


@pytest.mark.parametrize("kept", [0.1, 0.3, 0.5, 0.9, 0.995])
def test_a_truncated_mp3_is_refused_not_padded_with_earlier_samples(tmp_path, kept):
    path = str(tmp_path / "cut.mp3")
    noise = np.random.RandomState(0).randn(60 * 22050) * 0.2
    soundfile.write(path, noise.astype(np.float32), 22050)
    assert len(load_audio(path)) == 60 * 22050  # whole, it decodes to its exact length
    _cut(path, kept)
    with pytest.raises(InputError, match="truncated or damaged: .* s decoded of the 60.0 s "
                                         "its header declares") as caught:
        load_audio(path)
    assert str(caught.value).startswith(path + ": ")


def test_a_constant_bitrate_mp3_whose_length_is_estimated_is_read_whole(tmp_path):
    # Without a frame count, an MP3's length is its size over the frame size,
    # which ignores padding bytes: this one decodes 0.28 s short of it, whole.
    # (Cut, its estimate shrinks with it: such a file's length cannot show a cut.)
    path = str(tmp_path / "cbr.mp3")
    noise = np.random.RandomState(0).randn(60 * 22050) * 0.2
    with soundfile.SoundFile(path, "w", 22050, 1, format="MP3", bitrate_mode="CONSTANT",
                             compression_level=0.9) as out:
        out.write(noise.astype(np.float32))
    with soundfile.SoundFile(path) as source:
        assert re.search(r"bitrate mode\s*:\s*constant", source.extra_info)
        assert source.frames - 60 * 22050 > 2 * 1152  # the estimate overstates the audio
    assert abs(len(load_audio(path)) - 60 * 22050) < 22050


@pytest.mark.parametrize("name, subtype", [("half.wav", "PCM_16"), ("half.wav", "FLOAT"),
                                           ("half.aiff", "PCM_16"), ("half.au", "PCM_16"),
                                           ("half.w64", "PCM_24"), ("half.rf64", "PCM_16")])
def test_a_wav_or_other_pcm_file_cut_in_half_is_refused(tmp_path, name, subtype):
    path = str(tmp_path / name)
    soundfile.write(path, tone(10.0, SR), SR, subtype=subtype)
    assert len(load_audio(path)) == 10 * SR
    _cut(path, 0.5)
    with pytest.raises(InputError, match="truncated") as caught:
        load_audio(path)
    assert str(caught.value).startswith(path + ": ")


@pytest.mark.parametrize("riff_size", [None, 0xFFFFFFFF])
def test_a_wav_whose_data_size_is_the_streaming_placeholder_is_read_whole(tmp_path, riff_size):
    # A writer that streams does not know the length: it declares 0xFFFFFFFF
    # bytes of data (and often of RIFF), and readers take the data to the end.
    path = str(tmp_path / "stream.wav")
    soundfile.write(path, tone(3.0, SR), SR)
    data = bytearray(open(path, "rb").read())
    struct.pack_into("<I", data, data.find(b"data") + 4, 0xFFFFFFFF)
    if riff_size:
        struct.pack_into("<I", data, 4, riff_size)
    open(path, "wb").write(bytes(data))
    assert len(load_audio(path)) == 3 * SR
    _cut(path, 0.5)  # such a file's end is where its bytes end: cut, it is shorter, not refused
    assert len(load_audio(path)) < 2 * SR


def test_a_wav_with_bytes_after_its_data_is_still_read(tmp_path):
    path = str(tmp_path / "tail.wav")
    soundfile.write(path, tone(2.0, SR), SR)
    with open(path, "ab") as stream:
        stream.write(b"LIST\x04\x00\x00\x00INFO")  # a trailing chunk some taggers append
    assert len(load_audio(path)) == 2 * SR


def test_mpg123_warnings_do_not_reach_stderr(tmp_path):
    import subprocess
    import sys
    path = str(tmp_path / "cut.mp3")
    soundfile.write(path, (np.random.RandomState(1).randn(20 * SR) * 0.2).astype(np.float32), SR)
    _cut(path, 0.6)
    code = ("import sys; from soundtrack_cnn.audio.io import load_audio\n"
            "try:\n    load_audio(sys.argv[1])\nexcept ValueError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                            timeout=60)
    assert result.stderr == "" and "truncated" in result.stdout


def test_a_fifo_or_device_is_named_for_what_it_is(tmp_path):
    os.mkfifo(str(tmp_path / "pipe.wav"))
    with pytest.raises(InputError, match=r"pipe.wav: is a FIFO \(named pipe\), not a regular"):
        load_audio(str(tmp_path / "pipe.wav"))
    with pytest.raises(InputError, match="/dev/zero: is a character device"):
        load_audio("/dev/zero")
