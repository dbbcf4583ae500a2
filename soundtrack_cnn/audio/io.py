"""Decode any audio file to one mono float32 signal at a fixed sampling rate.

libsndfile (through soundfile) reads WAV, FLAC, Ogg/Vorbis and MP3 at any bit
depth, channel count and rate; libsoxr resamples.  The file is decoded in
blocks and mixed down to mono *before* resampling, so a long 6-channel 48 kHz
file never sits in memory at its source rate: only the mono output does.
:func:`stream_audio` hands out those mono blocks one by one, so a feature
extractor can consume a 2-hour film without ever holding it whole.
"""
import contextlib
import io
import os
import re
import sys

import numpy as np
import soundfile
import soxr

from ..errors import InputError
from ..files import not_a_file, write_bytes

__all__ = ["AUDIO_EXTENSIONS", "find_audio", "check_source", "load_audio", "stream_audio",
           "write_audio"]

#: File name extensions taken for audio: the formats libsndfile decodes.
AUDIO_EXTENSIONS = frozenset([".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                              ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64"])

#: Samples per write: libsndfile 1.2.2's Vorbis encoder crashes on single writes
#: of more than about a minute of audio.
WRITE_BLOCK = 1 << 16
#: Samples (per channel) decoded per block: about 6 s at 44.1 kHz.
DECODE_BLOCK_SAMPLES = 1 << 18


def find_audio(folder, extensions=AUDIO_EXTENSIONS):
    """Audio files under ``folder``, recursively, sorted; hidden files and folders skipped.

    Parameters
    ----------
    folder : str
    extensions : collection of str
        Lower-case extensions with their dot; by default the formats
        libsndfile decodes.

    Returns
    -------
    paths : list of str
        Files whose extension (any case) is one of ``extensions``, each
        folder's files (by name) before its subfolders' (by name).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("b.FLAC", "a.mp3", "notes.txt", ".hidden.wav"):
    ...     open(os.path.join(folder, name), "wb").close()
    >>> [os.path.basename(path) for path in find_audio(folder)]
    ['a.mp3', 'b.FLAC']
    """
    found = []
    for root, folders, files in os.walk(folder):
        # Hidden entries are never music: ".git", macOS "._song.mp3" resource forks.
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found.extend(os.path.join(root, name) for name in sorted(files)
                     if not name.startswith(".")
                     and os.path.splitext(name)[1].lower() in extensions)
    return found


def load_audio(path, sr=22050):
    """Read an audio file as a mono float32 signal at ``sr`` Hz.

    Channels are averaged; the source rate is converted with soxr's
    high-quality resampler.

    Parameters
    ----------
    path : str
        WAV, FLAC, Ogg/Vorbis or MP3 file (any format libsndfile reads).
    sr : int
        Output sampling rate in Hz.

    Returns
    -------
    signal : ndarray of float32, shape (n_samples,)
        Samples in [-1, 1] (for integer sources).

    Raises
    ------
    InputError
        If the file is missing, empty, not decodable audio, truncated (shorter
        than its container declares), holds no samples or non-finite
        samples; the message names the file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "theme.flac")
    >>> write_audio(path, 0.5 * np.sin(np.arange(44100) / 10.0), 44100)   # 1 s at 44.1 kHz
    >>> signal = load_audio(path, sr=22050)
    >>> signal.dtype, signal.ndim, len(signal)
    (dtype('float32'), 1, 22050)
    """
    signal = np.concatenate(list(stream_audio(path, sr)) or [np.zeros(0, np.float32)])
    if signal.size == 0:
        raise InputError("{}: holds no audio samples".format(path))
    return signal


def stream_audio(path, sr=22050, block_samples=DECODE_BLOCK_SAMPLES):
    """Decode an audio file block by block, as mono float32 at ``sr`` Hz.

    The blocks joined end to end are exactly :func:`load_audio`'s signal (the
    same decoder, mixdown and streaming resampler), so memory is bounded by
    ``block_samples`` instead of the file's length.

    Parameters
    ----------
    path : str
    sr : int
        Output sampling rate in Hz.
    block_samples : int
        Source frames decoded per block.

    Yields
    ------
    block : ndarray of float32, shape (n,)
        Consecutive pieces of the signal (some may be empty).

    Raises
    ------
    InputError
        As :func:`load_audio`, naming the file; a file that breaks in the
        middle raises when its bad block is reached, a truncated one at its
        end.
    """
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InputError("sr must be a positive integer number of Hz, got {!r}".format(sr))
    check_source(path)
    try:
        for block in _decode_mono(path, int(sr), block_samples):
            if not np.isfinite(block).all():
                raise InputError("{}: holds NaN or infinite samples".format(path))
            yield block
    except (soundfile.LibsndfileError, RuntimeError) as error:
        # libsndfile says "File does not exist" of files it cannot identify.
        reason = ("not in an audio format libsndfile reads" if "does not exist" in str(error)
                  else str(error))
        raise InputError("{}: cannot decode audio ({})".format(path, reason)) from error


def check_source(path):
    """Raise :class:`InputError` unless ``path`` is a non-empty regular file, naming what it is.

    Examples
    --------
    >>> check_source("/dev/null")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /dev/null: is a character device, not a regular file
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError("{}: no such file".format(path)) from None
    except OSError as error:
        raise InputError("{}: cannot read it ({})".format(path, error.strerror)) from None
    kind = not_a_file(info.st_mode)
    if kind:
        raise InputError("{}: is {}, not a regular file".format(path, kind))
    if info.st_size == 0:
        raise InputError("{}: empty file (0 bytes)".format(path))


def _decode_mono(path, sr, block_samples):
    # As bytes: soundfile encodes a str name strictly, so a name that is not
    # UTF-8 (held as surrogate escapes) would not even open.
    with _quiet_decoder(path), soundfile.SoundFile(os.fsencode(path)) as source:
        resampler = None
        if source.samplerate != sr:
            resampler = soxr.ResampleStream(source.samplerate, sr, 1, dtype="float32",
                                            quality="HQ")
        # Not SoundFile.blocks(): it ignores a short read and hands out the rest
        # of its buffer (earlier samples) as if decoded, so a truncated MP3 came
        # out at full length.  read() returns only the frames really decoded.
        decoded = 0
        while True:
            with _quiet_decoder(path):
                block = source.read(block_samples, dtype="float32", always_2d=True)
            if not len(block):
                break
            mono = _mixdown(block)
            decoded += len(mono)
            yield mono if resampler is None else resampler.resample_chunk(mono)
        _check_complete(path, source, decoded)
        if resampler is not None:
            yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


@contextlib.contextmanager
def _quiet_decoder(path):
    """Send what libmpg123 prints about damaged frames to /dev/null instead of stderr.

    mpg123 writes its warnings straight to file descriptor 2, a line per bad
    frame; the damage they describe is reported by :func:`_check_complete`
    as one line naming the file.  Only MP3 files are decoded this way, and
    only around each call into the decoder, so nothing else printed meanwhile
    is lost.
    """
    if not path.lower().endswith(".mp3"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: Frames a decoder may deliver short of the declared length: an MP3
#: encoder's delay and padding, at most two MPEG frames of 1,152 samples.
#: Every format libsndfile writes here decodes to exactly its declared length,
#: except a constant-bitrate MP3 without a frame count (:func:`_declared_slack`).
TRUNCATION_TOLERANCE = 2 * 1152
#: libsndfile's log lines of an MP3 whose length is estimated from its size.
_CONSTANT_BITRATE = re.compile(r"^\s*bitrate mode\s*:\s*constant\s*$", re.M)
_FRAME_SIZE = re.compile(r"^\s*framesize\s*:\s*(\d+)\s*$", re.M)

#: libsndfile's log line for a data chunk whose declared size the file does not hold
#: (WAV, WAVEX, W64 ``data``; AIFF ``SSND``; AU ``Data Size``).
_DATA_CHUNK = re.compile(r"^\s*(?:data|SSND|Data Size)\s*:\s*(\d+)\s*(?:\(|$)", re.M)
_FILE_LENGTH = re.compile(r"^Length\s*:\s*(\d+)", re.M)
#: libsndfile's log line when a header's frame count disagrees with the data (AIFF, RF64).
_FRAME_COUNT_MISMATCH = re.compile(r"^\*\*\* .*frame count.*$", re.M | re.I)


def _check_complete(path, source, decoded):
    """Raise :class:`InputError` if ``path`` ends before its container says it should.

    Three signs, for every format libsndfile reads: fewer frames decoded than
    the header declares (a cut FLAC or MP3); a header declaring a data chunk
    longer than the whole file, or a frame count the data does not hold (a
    cut WAV, AIFF, AU, W64, RF64: libsndfile then quietly reports the frames
    present, so the count alone would pass); a cut Ogg file (libsndfile
    measures its length) lacks the end-of-stream flag every encoder sets on
    the last page.
    """
    rate = float(source.samplerate)
    if decoded < source.frames - TRUNCATION_TOLERANCE - _declared_slack(source):
        raise InputError("{}: truncated or damaged: {:.1f} s decoded of the {:.1f} s its header "
                         "declares".format(path, decoded / rate, source.frames / rate))
    log = source.extra_info
    declared, length = _DATA_CHUNK.search(log), _FILE_LENGTH.search(log)
    if declared and length and int(declared.group(1)) > int(length.group(1)):
        raise InputError("{}: truncated: its header declares {} bytes of audio data, the whole "
                         "file has {} ({:.1f} s decoded)".format(
                             path, declared.group(1), length.group(1), decoded / rate))
    mismatch = _FRAME_COUNT_MISMATCH.search(log)
    if mismatch:
        raise InputError("{}: truncated: {} ({:.1f} s decoded)".format(
            path, " ".join(mismatch.group(0).lstrip("* ").split()), decoded / rate))
    if source.format == "OGG" and not _ogg_has_end_of_stream(path):
        raise InputError("{}: truncated: its last Ogg page is not marked end-of-stream "
                         "({:.1f} s decoded)".format(path, decoded / rate))


def _declared_slack(source):
    """How far the declared length of ``source`` may overstate its audio, in frames.

    A constant-bitrate MP3 without a Xing/Info frame count (libsndfile logs
    "bitrate mode : constant") has its length estimated as file size over
    frame size, but an MPEG frame at such a bitrate is one byte longer
    whenever its padding bit is set: the estimate can exceed the audio by one
    frame in ``framesize``.  Real game music decodes 0.3 s short of it in 441 s
    (80 kbps, 261-byte frames); so does a CBR MP3 libsndfile writes itself.
    Such a file's length cannot show a cut (its estimate shrinks with it), so
    only a decoding error can.  Every other file's count is exact.
    """
    log = source.extra_info
    size = _FRAME_SIZE.search(log)
    if source.format != "MP3" or not _CONSTANT_BITRATE.search(log) or not size:
        return 0
    return source.frames // max(int(size.group(1)), 1)


def _ogg_has_end_of_stream(path):
    """Whether the last complete Ogg page header of ``path`` has the EOS flag (0x04)."""
    with open(path, "rb") as stream:
        stream.seek(max(0, os.path.getsize(path) - (1 << 16)))  # pages are at most 64 kB
        tail = stream.read()
    position = tail.rfind(b"OggS")
    while position >= 0 and len(tail) < position + 27:
        position = tail.rfind(b"OggS", 0, position)
    return position >= 0 and bool(tail[position + 5] & 0x04)


def _mixdown(block):
    """Mean of the channels of a (frames, channels) float32 block.

    Under 8 channels numpy's ``mean(axis=1)`` adds the channels left to right,
    so this column loop gives the same bits, 8x faster than that strided
    reduction (0.25 s of a 3-minute stereo track).
    """
    if block.shape[1] >= 8:
        return block.mean(axis=1, dtype=np.float32)
    mono = block[:, 0].copy()
    for channel in range(1, block.shape[1]):
        mono += block[:, channel]
    mono /= np.float32(block.shape[1])
    return mono


def write_audio(path, signal, sr):
    """Write a mono signal atomically, in the format its extension names.

    A signal peaking above full scale is scaled down to peak at 1, so that
    integer formats never clip or wrap.

    Parameters
    ----------
    path : str
        ``.wav``, ``.flac``, ``.ogg`` or ``.mp3``.
    signal : ndarray, shape (n_samples,)
    sr : int

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "silence.flac")
    >>> write_audio(path, np.zeros(22050), 22050)
    >>> len(load_audio(path, sr=22050))
    22050
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim != 1 or not signal.size or not np.isfinite(signal).all():
        raise InputError("{}: can only write a non-empty, finite mono signal".format(path))
    extension = os.path.splitext(path)[1].lstrip(".").upper()
    if extension not in soundfile.available_formats():
        raise InputError("{}: unknown audio format {!r}".format(path, extension))
    signal = signal / max(float(np.abs(signal).max()), 1.0)
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sr, 1, format=extension) as stream:
        # libsndfile 1.2.2's Vorbis encoder crashes on single writes of more
        # than about a minute of audio, so it gets blocks.
        for start in range(0, len(signal), WRITE_BLOCK):
            stream.write(signal[start:start + WRITE_BLOCK])
    write_bytes(path, buffer.getvalue())
