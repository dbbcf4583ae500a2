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
import struct
import sys
import zlib

import numpy as np
import soundfile
import soxr

from ..errors import InputError
from ..files import input_path, write_bytes

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

    :func:`soundtrack_cnn.files.input_path`'s rule, plus: not empty.

    Examples
    --------
    >>> check_source("/dev/null")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /dev/null: is a character device, not a regular file; give the path of a regular file to read
    """
    input_path(path)
    if os.path.getsize(path) == 0:
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
            try:
                with _quiet_decoder(path):
                    block = source.read(block_samples, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError) as error:
                # The file opened, so its header is sound: what breaks later is
                # its data, cut or damaged (a cut FLAC "lost sync").
                raise InputError("{}: truncated or damaged: {} ({})".format(
                    path, _decoded_of(source, decoded),
                    str(error).replace("Error : ", "").rstrip("."))) from error
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


#: libsndfile's log line for a data chunk whose declared size the file does not hold
#: (WAV, WAVEX, W64 ``data``; AIFF ``SSND``; AU ``Data Size``).
_DATA_CHUNK = re.compile(r"^\s*(?:data|SSND|Data Size)\s*:\s*(\d+)\s*(?:\(|$)", re.M)
_FILE_LENGTH = re.compile(r"^Length\s*:\s*(\d+)", re.M)
#: A data size that declares nothing: a streaming writer, not knowing the
#: length, writes the largest 32-bit size (and libsndfile reads to the end).
_UNKNOWN_SIZE = 0xFFFFFFFF
#: libsndfile's log line when a header's frame count disagrees with the data (AIFF, RF64).
_FRAME_COUNT_MISMATCH = re.compile(r"^\*\*\* .*frame count.*$", re.M | re.I)
#: libsndfile's frame count of a file whose header gives no length (a FLAC
#: whose STREAMINFO has 0 total samples).
_UNKNOWN_FRAMES = (1 << 63) - 1


def _decoded_of(source, decoded):
    """"X s decoded of the Y s its header declares" (or of an unknown length)."""
    rate = float(source.samplerate)
    if source.frames >= _UNKNOWN_FRAMES:
        return "{:.1f} s decoded".format(decoded / rate)
    return "{:.1f} s decoded of the {:.1f} s its header declares".format(
        decoded / rate, source.frames / rate)


def _check_complete(path, source, decoded):
    """Raise :class:`InputError` if ``path`` ends before its container says it should.

    Each container is judged by its own evidence of where the audio ends,
    with a shortfall of at most one page or frame forgiven
    (:func:`_shortfall_allowed`): an Ogg stream's last page carries the
    end-of-stream flag and ends the stream's last granule; a FLAC's
    STREAMINFO gives its total samples (its frames carry CRCs, which the
    decoder checks: damage inside a frame fails the read itself); an MP3's
    Xing, Info or VBRI header gives its frame count; a WAV, AIFF, AU, W64 or
    RF64 header gives its data size or frame count (a cut one is read by
    libsndfile up to the bytes present, so the count alone would pass).
    """
    allowed = _shortfall_allowed(path, source)
    if allowed is not None and decoded < source.frames - allowed:
        raise InputError("{}: truncated or damaged: {}".format(path, _decoded_of(source, decoded)))
    log = source.extra_info
    declared, length = _DATA_CHUNK.search(log), _FILE_LENGTH.search(log)
    if declared and length and _UNKNOWN_SIZE != int(declared.group(1)) > int(length.group(1)):
        raise InputError("{}: truncated: its header declares {} bytes of audio data, the whole "
                         "file has {} ({:.1f} s decoded)".format(
                             path, declared.group(1), length.group(1),
                             decoded / float(source.samplerate)))
    mismatch = _FRAME_COUNT_MISMATCH.search(log)
    if mismatch:
        raise InputError("{}: truncated: {} ({:.1f} s decoded)".format(
            path, " ".join(mismatch.group(0).lstrip("* ").split()),
            decoded / float(source.samplerate)))


def _shortfall_allowed(path, source):
    """Frames the decoded audio may fall short of ``source.frames``; None: its length proves nothing.

    * Ogg: the last page's span (its granule position minus the previous
      page's). The last granule position may overstate the audio (real
      Vorbis files decode 0.13 s short of it), and the end-of-stream flag,
      which a cut file lacks, already says the stream ended there; a file
      whose last page is not marked so is refused here.
    * FLAC: its largest block (one frame); no length at all (0 total
      samples, written by a streaming encoder): None.
    * MP3: one frame, when a Xing, Info or VBRI header counts the frames;
      otherwise libsndfile estimates the length from the file's size (a
      constant-bitrate file is then often one padding byte per frame short
      of it): None, only a decoding error shows damage.
    * Every other format's count comes from its header's data size: 0.
    """
    if source.frames >= _UNKNOWN_FRAMES:
        return None
    if source.format == "OGG":
        end = _ogg_end(path)
        if end is None or not end.eos:
            raise InputError("{}: truncated: its last Ogg page is {} ({:.1f} s in its "
                             "header)".format(path, "not marked end-of-stream" if end else
                                              "missing or damaged",
                                              source.frames / float(source.samplerate)))
        # Opus counts granules at 48 kHz whatever rate it is decoded at.
        scale = source.samplerate / 48000.0 if end.opus else 1.0
        return int(end.last_span * scale) if end.last_span is not None else 0
    if source.format == "FLAC":
        return _flac_max_block(path)
    if source.format == "MP3":
        return _mp3_counted_frame(path)
    return 0


class _OggEnd(object):
    """The end of an Ogg file: whether its last page is marked end-of-stream, and its span."""

    def __init__(self, eos, last_span, opus):
        self.eos, self.last_span, self.opus = eos, last_span, opus


#: The largest Ogg page: a 27-byte header, 255 lacing values, 255 segments of 255 bytes.
_OGG_MAX_PAGE = 27 + 255 + 255 * 255
#: The Ogg CRC is CRC-32 with the polynomial of zlib's but unreflected:
#: zlib's on bit-reversed bytes, bit-reversed (as fast as zlib, unlike a loop).
_REVERSED_BYTES = bytes(int("{:08b}".format(i)[::-1], 2) for i in range(256))
_NO_GRANULE = -1


def _ogg_crc(page):
    """The CRC of an Ogg page whose CRC field holds zeros."""
    raw = ~zlib.crc32(page.translate(_REVERSED_BYTES), 0xFFFFFFFF) & 0xFFFFFFFF
    return int("{:032b}".format(raw)[::-1], 2)


def _ogg_pages(data):
    """``(start, flags, granule, serial)`` of every whole page of ``data`` whose CRC holds.

    Checking the CRC tells a page from the bytes "OggS" inside a packet.
    """
    pages = []
    start = data.find(b"OggS")
    while start >= 0:
        header = data[start:start + 27]
        if len(header) == 27 and header[4] == 0:
            lacing = data[start + 27:start + 27 + header[26]]
            end = start + 27 + header[26] + sum(lacing)
            if len(lacing) == header[26] and end <= len(data):
                flags, granule, serial, crc = struct.unpack_from("<BqI4xI", header, 5)
                page = bytearray(data[start:end])
                page[22:26] = b"\0\0\0\0"
                if _ogg_crc(bytes(page)) == crc:
                    pages.append((start, flags, granule, serial))
        start = data.find(b"OggS", start + 1)
    return pages


def _ogg_end(path):
    """The :class:`_OggEnd` of ``path`` (None if no whole page is in its last 190 kB).

    The last three pages' worth of bytes hold the last page and the one
    before it of the same stream, whatever their sizes.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        opus = stream.read(64).find(b"OpusHead") >= 0
        stream.seek(max(0, size - 3 * _OGG_MAX_PAGE))
        tail = stream.read()
    pages = _ogg_pages(tail)
    if not pages:
        return None
    _, flags, granule, serial = pages[-1]
    earlier = [g for _, _, g, s in pages[:-1] if s == serial and g != _NO_GRANULE]
    span = granule - earlier[-1] if earlier and granule >= earlier[-1] else None
    return _OggEnd(bool(flags & 0x04), span, opus)


def _flac_max_block(path):
    """The largest block size in a FLAC's STREAMINFO, in frames (4608 if it cannot be read).

    4608 is the largest block of the "subset" every common encoder writes.
    """
    with open(path, "rb") as stream:
        head = stream.read(10)
        if head[:3] == b"ID3":  # an ID3v2 tag before the stream: its size is syncsafe
            size = sum(byte << 7 * (3 - i) for i, byte in enumerate(head[6:10]))
            stream.seek(10 + size + (10 if head[5] & 0x10 else 0))
            head = stream.read(10)
    if head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return 4608
    block = struct.unpack(">H", head[8:10])[0] if len(head) == 10 else 0
    return block or 4608


#: Samples per MPEG Layer III frame, by the header's version bits (MPEG 1: 1152).
_MP3_FRAME_SAMPLES = {3: 1152, 2: 576, 0: 576}


def _mp3_counted_frame(path):
    """One frame's samples if the MP3's first frame is a Xing/Info header counting the frames
    (or a VBRI header); else None (libsndfile's length is then an estimate)."""
    with open(path, "rb") as stream:
        head = stream.read(10)
        offset = 0
        if head[:3] == b"ID3":
            offset = 10 + sum(byte << 7 * (3 - i) for i, byte in enumerate(head[6:10])) + \
                (10 if head[5] & 0x10 else 0)
        stream.seek(offset)
        data = stream.read(1 << 14)
    for sync in range(len(data) - 4):
        if data[sync] == 0xFF and data[sync + 1] & 0xE0 == 0xE0 and data[sync + 1] & 0x06 == 0x02:
            break
    else:
        return None
    version, mono = (data[sync + 1] >> 3) & 3, (data[sync + 3] >> 6) == 3
    if version == 1:  # reserved: not a frame header
        return None
    side_info = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    xing = data[sync + 4 + side_info:sync + 12 + side_info]
    if xing[:4] in (b"Xing", b"Info") and len(xing) == 8 and xing[7] & 0x01:
        return _MP3_FRAME_SAMPLES[version]
    if data[sync + 36:sync + 40] == b"VBRI":
        return _MP3_FRAME_SAMPLES[version]
    return None


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
