"""Tiles of an audio file of any length, block by block, in bounded memory.

:func:`stream_tiles` yields exactly the tiles of
``signal_to_tiles(load_audio(path))`` -- same values, same order, same tail
policy -- but never holds more than one decoded block, one MFCC block
(``features.MFCC_BLOCK_FRAMES`` frames, 100 s) and a tile and a hop of frames, so a
2-hour film costs what a 3-minute song does.  How it stays identical:

* audio comes from :func:`~soundtrack_cnn.audio.io.stream_audio`, the decoder and
  streaming resampler that ``load_audio`` concatenates;
* pre-emphasis ``y[n] = x[n] - a x[n-1]`` carries the last sample of one
  block into the next, computed in float64 as ``features.mfcc`` does;
* MFCC frames are computed in the same runs of ``MFCC_BLOCK_FRAMES`` frames as
  ``features.mfcc`` (the same rows reach the same BLAS calls);
* a tile is released only once the next whole tile exists, and whatever is
  left at the end goes through :func:`~soundtrack_cnn.audio.features.tile`, which
  applies the tail policy exactly as on the whole track.
"""
import numpy as np

from ..errors import InputError
from .features import (
    MFCC_BLOCK_FRAMES,
    FeatureSettings,
    digital_silence,
    emphasised_mfcc,
    is_silent,
    tile,
    too_short,
)
from .io import stream_audio

__all__ = ["stream_tiles", "tile_starts"]


def _emphasised_blocks(path, settings, seen):
    """Pre-emphasised float64 audio blocks; ``seen`` counts the raw samples and keeps their range."""
    previous = None
    for block in stream_audio(path, settings.sr):
        if len(block) == 0:
            continue
        raw = block.astype(np.float64)
        seen["samples"] += len(raw)
        seen["low"] = min(seen["low"], raw.min())
        seen["high"] = max(seen["high"], raw.max())
        emphasised = np.empty_like(raw)
        emphasised[1:] = raw[1:] - settings.preemph * raw[:-1]
        # The signal's very first sample is kept as is (python_speech_features).
        emphasised[0] = raw[0] if previous is None else raw[0] - settings.preemph * previous
        previous = raw[-1]
        yield emphasised


def _frame_blocks(path, settings, seen):
    """MFCC frames in runs of MFCC_BLOCK_FRAMES (the last run shorter)."""
    step, window = settings.step_samples, settings.window_samples
    samples = np.zeros(0, np.float64)
    run = (MFCC_BLOCK_FRAMES - 1) * step + window
    for block in _emphasised_blocks(path, settings, seen):
        samples = np.concatenate([samples, block])
        while len(samples) >= run:
            yield emphasised_mfcc(samples[:run], settings).astype(np.float32)
            samples = samples[MFCC_BLOCK_FRAMES * step:]
    count = settings.n_windows(len(samples))
    if count:
        yield emphasised_mfcc(samples[:(count - 1) * step + window], settings).astype(np.float32)


def stream_tiles(path, settings=FeatureSettings(), tiles_per_block=64):
    """Decode and tile an audio file of any length, a few tiles at a time.

    Parameters
    ----------
    path : str
        Any file :func:`~soundtrack_cnn.audio.io.load_audio` reads.
    settings : FeatureSettings
    tiles_per_block : int
        Tiles per yielded array (the last one may hold fewer).

    Yields
    ------
    tiles : ndarray of float32, shape (n, 1, n_mfcc, n_frames)
        Consecutive tiles; concatenated, they equal
        ``signal_to_tiles(load_audio(path, settings.sr), settings)``.

    Raises
    ------
    InputError
        Naming the file, if it cannot be decoded (possibly after some tiles
        were yielded) or gives no tile at all.

    Examples
    --------
    >>> blocks = list(stream_tiles("film.flac"))  # doctest: +SKIP
    >>> np.concatenate(blocks).shape  # a 2-hour film  # doctest: +SKIP
    (720, 1, 40, 100)
    """
    if not isinstance(tiles_per_block, (int, np.integer)) or tiles_per_block < 1:
        raise InputError("tiles_per_block must be a positive integer, got {!r}".format(tiles_per_block))
    size, hop = settings.n_frames, settings.hop
    seen = {"samples": 0, "low": np.inf, "high": -np.inf}  # of the raw, decoded audio
    pending = np.zeros((0, settings.n_mfcc), np.float32)  # frames from the next tile's start
    ready, n_tiles = [], 0
    for frames in _frame_blocks(path, settings, seen):
        pending = np.concatenate([pending, frames])
        # A tile is final once the next whole tile exists: only the last whole
        # tile can change the tail decision, and that one waits for the end.
        while len(pending) >= hop + size:
            ready.append(pending[:size].T[None])
            pending = pending[hop:]
            if len(ready) == tiles_per_block:
                n_tiles += len(ready)
                yield np.stack(ready)
                ready = []
    last = tile(pending, settings)
    ready.extend(last)
    if seen["samples"] == 0:
        raise InputError("{}: holds no audio samples".format(path))
    if n_tiles + len(ready) == 0:
        raise too_short(path, seen["samples"], settings)
    if is_silent(seen["low"], seen["high"]):
        raise digital_silence(path)
    for start in range(0, len(ready), tiles_per_block):
        yield np.stack(ready[start:start + tiles_per_block])


def tile_starts(n_tiles, settings=FeatureSettings()):
    """Start time in seconds of each tile of a track.

    Examples
    --------
    >>> tile_starts(3).tolist()
    [0.0, 10.0, 20.0]
    """
    return np.arange(n_tiles) * settings.hop * settings.winstep
