"""The input on one timeline: its files in order, every tile's scores, statistics and loudness.

An input is one long file (a film's audio track) or several files (an
album's cues, in order; a folder is taken in name order), laid end to end.
Each file is streamed (:func:`~soundtrack_cnn.audio.streaming.stream_tiles`)
and scored block by block, so memory does not grow with the input's length:
what is kept per tile is its K scores, the mean and standard deviation of
each MFCC (for :mod:`.novelty`) and, per 0.1 s frame, its loudness (for the
silences of :mod:`.segments`).

Loudness is read from the tiles themselves: with ``append_energy`` the first
coefficient is the log of the frame's (pre-emphasised) energy, so no second
decoding pass is needed.  It is given in dB relative to full-scale white
noise (:func:`level_db`); pre-emphasis weighs low notes down (a 100 Hz
tone reads about 30 dB lower than white noise of the same RMS).
"""
import os

import numpy as np
import soundfile

from ..audio.features import FeatureSettings, digital_silence, normalise_track
from ..audio.io import check_source, find_audio
from ..audio.streaming import stream_tiles
from ..errors import InputError

__all__ = ["FilmSource", "SourceFile", "expand_film_inputs", "read_source", "level_db",
           "tile_statistics"]

# 10 / ln(10): c0 is a natural log of energy; dB are 10 log10 of it.
_DB_PER_NEPER = 10 / np.log(10)


def level_db(c0, settings=FeatureSettings()):
    """Frame loudness in dB relative to full-scale white noise, from MFCC c0.

    The reference is c0 of white noise of RMS 1: the energy of a
    pre-emphasised frame of ``w`` samples is about ``w * (1 + preemph**2) / 2``
    (python_speech_features sums half the spectrum of a real signal).

    Examples
    --------
    >>> from soundtrack_cnn.audio.features import mfcc
    >>> noise = np.random.RandomState(0).randn(22050)  # RMS 1
    >>> round(float(np.median(level_db(mfcc(0.01 * noise)[:, 0]))))
    -40
    >>> round(float(level_db(np.log(np.finfo(float).eps))))  # digital silence
    -190
    """
    reference = np.log(settings.window_samples * (1 + settings.preemph ** 2) / 2)
    return (np.asarray(c0, dtype=np.float64) - reference) * _DB_PER_NEPER


def tile_statistics(tiles, silence_db=None, settings=FeatureSettings()):
    """Mean and standard deviation of every coefficient over each tile's sounding frames.

    Frames quieter than ``silence_db`` are left out: silence is judged on its
    own (:mod:`.segments`), and a tile half silent is judged by its other half.

    Parameters
    ----------
    tiles : array, shape (n, 1, n_mfcc, n_frames)
    silence_db : float or None
        None: every frame counts.
    settings : FeatureSettings

    Returns
    -------
    statistics : ndarray of float64, shape (n, 2 * n_mfcc)
        Means, then standard deviations; NaN for a tile without a sounding frame.

    Examples
    --------
    >>> tile_statistics(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)).tolist()
    [[0.5, 2.5, 0.5, 0.5]]
    >>> silent = np.full((1, 1, 40, 100), np.log(np.finfo(float).eps), np.float32)
    >>> bool(np.isnan(tile_statistics(silent, silence_db=-70)).all())
    True
    """
    tiles = np.asarray(tiles, dtype=np.float64)[:, 0]
    if silence_db is None:
        return np.concatenate([tiles.mean(axis=2), tiles.std(axis=2)], axis=1)
    loud = (level_db(tiles[:, 0, :], settings) >= silence_db)[:, None, :]
    count = loud.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(loud, tiles, 0).sum(axis=2) / count
        variance = np.where(loud, (tiles - mean[:, :, None]) ** 2, 0).sum(axis=2) / count
    return np.concatenate([mean, np.sqrt(variance)], axis=1)


def expand_film_inputs(inputs):
    """The files of an input, in order: files as given, a folder's audio files in name order.

    Raises
    ------
    InputError
        Naming the path, if it does not exist, is not a regular file (a FIFO
        would block the first read for ever) or a folder holds no audio.
    """
    if not inputs:
        raise InputError("give at least one audio file or folder")
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            found = find_audio(item)
            if not found:
                raise InputError("{}: no audio files in this folder or below".format(item))
            paths.extend(found)
        elif not os.path.lexists(item):
            raise InputError("{}: no such file or folder".format(item))
        else:
            paths.append(item)
    for path in paths:  # a folder's files too: find_audio takes a FIFO named x.flac
        check_source(path)
    return paths


class SourceFile(object):
    """One file of the input.

    Attributes
    ----------
    path : str
    offset : float
        Where it starts on the input's timeline, in seconds.
    duration : float
        Its length in seconds.
    tiles : (int, int)
        Its ``[start, stop)`` rows in the input's tile arrays.
    level : ndarray of float, shape (n_frames,)
        Loudness (dB, :func:`level_db`) of every 0.1 s frame, NaN where no
        tile covers it.
    skipped : str or None
        Why it gave no tile (too short, digital silence); it still takes its
        place on the timeline.
    """

    def __init__(self, path, offset, duration, tiles, level, skipped=None):
        self.path, self.offset, self.duration = path, offset, duration
        self.tiles, self.level, self.skipped = tiles, level, skipped

    def to_dict(self):
        return {"path": self.path, "offset_s": round(self.offset, 3),
                "duration_s": round(self.duration, 3), "n_tiles": self.tiles[1] - self.tiles[0],
                "skipped": self.skipped}


class FilmSource(object):
    """Every tile of the input, in time order, with what the film analysis needs of it.

    Attributes
    ----------
    files : list of SourceFile
    starts : ndarray, shape (n_tiles,)
        Start of each tile on the input's timeline, in seconds.
    scores : ndarray of float64, shape (n_tiles, K)
    statistics : ndarray of float64, shape (n_tiles, 2 * n_mfcc)
    settings : FeatureSettings
    """

    def __init__(self, files, starts, scores, statistics, settings):
        self.files, self.starts = files, starts
        self.scores, self.statistics, self.settings = scores, statistics, settings

    @property
    def tile_seconds(self):
        return self.settings.n_frames * self.settings.winstep

    @property
    def hop_seconds(self):
        return self.settings.hop * self.settings.winstep

    @property
    def duration(self):
        last = self.files[-1]
        return last.offset + last.duration


def _duration(path):
    """Seconds of audio in ``path`` from its header (None if libsndfile cannot tell)."""
    try:
        info = soundfile.info(path)
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return None  # stream_tiles will name what is wrong with the file
    return info.frames / float(info.samplerate) if info.frames > 0 else None


def _read_file(model, path, silence_db, tiles_per_block):
    """Scores, statistics and frame c0 of one file's tiles; the duration; why skipped."""
    settings = model.settings_
    duration = _duration(path)
    if duration is not None and duration < settings.min_seconds:
        return [], [], [], duration, "too short: {:.2f} s of audio, a tile needs {:.2f} s".format(
            duration, settings.min_seconds)
    scores, statistics, c0, raw = [], [], [], []
    try:
        for tiles in stream_tiles(path, settings, tiles_per_block=tiles_per_block):
            statistics.append(tile_statistics(tiles, silence_db, settings))
            c0.append(tiles[:, 0, 0, :].astype(np.float64))
            if settings.track_norm == "none":
                scores.append(np.asarray(model.predict_tiles(tiles), dtype=np.float64))
            else:
                raw.append(tiles)
        if raw:
            # A net trained on per-track normalised tiles scores a file's tiles
            # normalised over the file, as predict does (2 hours: about 12 MB).
            scores.append(np.asarray(model.predict_tiles(
                normalise_track(np.concatenate(raw), settings)), dtype=np.float64))
    except InputError as error:
        # Digital silence is a stretch of the film like any other; a file
        # that cannot be decoded is an error the user must see.
        if str(error) != str(digital_silence(path)):
            raise
        return [], [], [], duration, "digital silence"
    n_tiles = sum(len(block) for block in statistics)
    covered = ((n_tiles - 1) * settings.hop + settings.n_frames) * settings.winstep
    return scores, statistics, c0, duration if duration is not None else covered, None


def _frame_levels(c0_blocks, duration, settings):
    """Loudness of every whole frame of a file, from its tiles' c0 rows."""
    n_frames = settings.n_windows(int(round(duration * settings.sr)))
    level = np.full(n_frames, np.nan)
    first = 0
    for block in c0_blocks:
        for row in block:
            # The last tile may be completed by looping its own frames: only
            # frames inside the file are kept.
            stop = min(first + settings.n_frames, n_frames)
            if stop > first:
                level[first:stop] = level_db(row[:stop - first], settings)
            first += settings.hop
    return level


def read_source(model, paths, silence_db=-70.0, tiles_per_block=64):
    """Stream and score every file of an input, laid end to end.

    Parameters
    ----------
    model : NumpyEnsemble or SpecialistEnsemble
        Anything with ``genres_``, ``settings_`` and ``predict_tiles``.
    paths : list of str
        In order (see :func:`expand_film_inputs`).
    silence_db : float
        Frames quieter than this are left out of the tiles' statistics.
    tiles_per_block : int
        Tiles decoded and scored at a time.

    Returns
    -------
    source : FilmSource

    Raises
    ------
    InputError
        Naming the file, if one cannot be decoded, or if no file gives a tile.
    """
    settings = model.settings_
    files, starts, scores, statistics, offset, row = [], [], [], [], 0.0, 0
    for path in paths:
        file_scores, file_statistics, c0, duration, skipped = _read_file(model, path, silence_db,
                                                                         tiles_per_block)
        n_tiles = sum(len(block) for block in file_statistics)
        files.append(SourceFile(path, offset, duration, (row, row + n_tiles),
                                _frame_levels(c0, duration, settings), skipped))
        starts.append(offset + np.arange(n_tiles) * settings.hop * settings.winstep)
        scores.extend(file_scores)
        statistics.extend(file_statistics)
        offset += duration
        row += n_tiles
    if row == 0:
        raise InputError("{}: no file of the input gives a tile ({})".format(
            paths[0] if len(paths) == 1 else "{} files".format(len(paths)),
            "; ".join("{}: {}".format(os.path.basename(f.path), f.skipped) for f in files)))
    return FilmSource(files, np.concatenate(starts), np.concatenate(scores),
                      np.concatenate(statistics), settings)
