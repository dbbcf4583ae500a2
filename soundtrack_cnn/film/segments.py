"""Cutting the input into segments: silences, in/out of distribution, change points of the scores.

Three rules, in order of precedence:

1. **Silence ends a cue, whatever the net says.**  A stretch of at least
   ``min_silence`` seconds whose frames are all quieter than ``silence_db``
   (digital silence included; loudness from c0, :func:`.source.level_db`) is
   a gap, and so is the boundary between two files of the input.  Tiles
   centred in a silence belong to no segment and count as out of
   distribution.
2. **Music like the training collection is told apart from the rest.**
   Between silences, runs of in-distribution tiles and runs of the others
   (:mod:`.novelty`) become segments; a run shorter than ``min_cue`` seconds
   joins its longer neighbour, so one odd tile does not split a cue.
3. **Within music, a cue ends where its genre scores change.**  Each
   in-distribution run is split where the K-dimensional score sequence
   changes its mean (exact optimal partitioning, squared error, no segment
   shorter than ``min_cue``), with a BIC-like penalty per change:
   ``(K + 1) log n`` on scores scaled by their tile-to-tile noise (at least
   0.15).

A tile stands for the ``hop`` seconds around its centre, so segment
boundaries inside a stretch fall half-way between the centres of the tiles on
either side, and the first and last segments of a stretch reach its edges.
"""
import math

import numpy as np

from ..errors import InputError

__all__ = ["Segment", "silences", "change_points", "find_segments", "KINDS"]

#: What a segment is: music like the training collection's, or not.
KINDS = ("cue", "unlike training")

# Tile-to-tile noise of the scores is never taken below this: a saturated
# specialist (all near 0) would make tiny wiggles look like changes.  At 0.02
# the demo's test tracks laid end to end gave 175 cues for 84 tracks, at 0.15
# 99 (bench/bench_film.py's film): a specialist moving by less is not a new cue.
_MIN_NOISE = 0.15


class Segment(object):
    """A stretch of the input between two boundaries.

    Attributes
    ----------
    number : int
        1, 2, ... in time order.
    kind : str
        ``'cue'`` (at least half of its tiles in distribution) or
        ``'unlike training'``.
    start, end : float
        Seconds on the input's timeline.
    tiles : (int, int)
        Its ``[first, stop)`` tile rows.
    file : int
        Index of its file in the input.
    in_distribution : float
        Share of its tiles in distribution.
    scores : ndarray, shape (K,), or None
        Mean score of its in-distribution tiles (None without any).
    """

    def __init__(self, number, kind, start, end, tiles, file, in_distribution, scores):
        self.number, self.kind, self.start, self.end = number, kind, start, end
        self.tiles, self.file, self.in_distribution, self.scores = tiles, file, in_distribution, scores

    @property
    def duration(self):
        return self.end - self.start

    def to_dict(self, genres):
        return {"number": self.number, "kind": self.kind, "start_s": round(self.start, 3),
                "end_s": round(self.end, 3), "tiles": list(self.tiles), "file": self.file,
                "in_distribution": round(self.in_distribution, 4),
                "scores": None if self.scores is None else
                {g: round(float(s), 5) for g, s in zip(genres, self.scores)}}


def silences(level, winstep, silence_db=-70.0, min_silence=2.0):
    """Stretches of at least ``min_silence`` seconds with every frame under ``silence_db``.

    Parameters
    ----------
    level : array, shape (n_frames,)
        Loudness of each frame in dB (NaN: unknown, not silent).
    winstep : float
        Seconds per frame.

    Returns
    -------
    stretches : list of (float, float)
        Start and end in seconds.

    Examples
    --------
    >>> level = np.array([-20] * 30 + [-190] * 25 + [-20] * 10 + [-80] * 5)
    >>> silences(level, 0.1)
    [(3.0, 5.5)]
    """
    quiet = np.asarray(level) < silence_db  # NaN compares False: not silent
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    runs = zip(edges[::2], edges[1::2])
    min_frames = int(math.ceil(min_silence / winstep - 1e-9))
    return [(round(a * winstep, 6), round(b * winstep, 6)) for a, b in runs if b - a >= min_frames]


def change_points(X, min_size, penalty):
    """Where the mean of a sequence of vectors changes: exact optimal partitioning.

    Minimises the within-segment squared error plus ``penalty`` per segment,
    with no segment shorter than ``min_size`` (dynamic programming over every
    admissible last change, O(n^2 K)).

    Parameters
    ----------
    X : array, shape (n, K)
    min_size : int
    penalty : float

    Returns
    -------
    boundaries : list of int
        Row indices where a new segment starts (0 and n excluded).

    Examples
    --------
    >>> X = np.r_[np.zeros((6, 2)), np.ones((5, 2))]
    >>> change_points(X, 2, 1.0), change_points(X, 6, 1.0)
    ([6], [])
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if min_size < 1:
        raise InputError("min_size must be at least 1, got {}".format(min_size))
    if n < 2 * min_size:
        return []
    sums = np.vstack([np.zeros(X.shape[1]), np.cumsum(X, axis=0)])
    squares = np.concatenate([[0.0], np.cumsum((X ** 2).sum(axis=1))])
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    previous = np.zeros(n + 1, dtype=int)
    for t in range(min_size, n + 1):
        s = np.arange(0, t - min_size + 1)
        s = s[np.isfinite(best[s])]
        segment = sums[t] - sums[s]
        cost = squares[t] - squares[s] - (segment ** 2).sum(axis=1) / (t - s)
        total = best[s] + cost + penalty
        k = int(np.argmin(total))
        best[t], previous[t] = total[k], s[k]
    boundaries, t = [], n
    while t > 0:
        t = previous[t]
        if t > 0:
            boundaries.append(int(t))
    return sorted(boundaries)


def _runs(flags):
    """``[start, stop, flag]`` of each run of equal values."""
    edges = [0] + [i for i in range(1, len(flags)) if flags[i] != flags[i - 1]] + [len(flags)]
    return [[a, b, bool(flags[a])] for a, b in zip(edges[:-1], edges[1:])]


def _merge_short(runs, min_tiles):
    """Runs shorter than ``min_tiles`` join their longer neighbour until none is left."""
    runs = [list(r) for r in runs]
    while len(runs) > 1:
        lengths = [b - a for a, b, _ in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_tiles:
            break
        left = lengths[i - 1] if i > 0 else -1
        right = lengths[i + 1] if i + 1 < len(runs) else -1
        j = i - 1 if left >= right else i + 1
        a, b = min(runs[i][0], runs[j][0]), max(runs[i][1], runs[j][1])
        runs[min(i, j)] = [a, b, runs[j][2]]
        del runs[max(i, j)]
    return runs


def _noise(scores):
    """Each genre's tile-to-tile noise: robust (MAD) scale of the differences / sqrt 2."""
    if len(scores) < 3:
        return np.full(scores.shape[1], _MIN_NOISE)
    mad = np.median(np.abs(np.diff(scores, axis=0)), axis=0) * 1.4826 / np.sqrt(2)
    return np.maximum(mad, _MIN_NOISE)


def _stretches(source, silence_db, min_silence):
    """Per file, the sounding stretches (file seconds) between its silences."""
    winstep = source.settings.winstep
    result = []
    for f in source.files:
        gaps = silences(f.level, winstep, silence_db, min_silence) if f.skipped is None else \
            [(0.0, f.duration)]
        edges, cursor = [], 0.0
        for a, b in gaps:
            if a > cursor:
                edges.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < f.duration:
            edges.append((cursor, f.duration))
        result.append((edges, gaps))
    return result


def find_segments(source, in_distribution, min_cue=20.0, silence_db=-70.0, min_silence=2.0):
    """Cut the input into segments (see the module's three rules).

    Parameters
    ----------
    source : FilmSource
    in_distribution : ndarray of bool, shape (n_tiles,)
        From :class:`~soundtrack_cnn.film.novelty.Novelty`.
    min_cue : float
        Shortest segment in seconds (silences and file boundaries excepted).
    silence_db : float
        Frames quieter than this (dB re full-scale white noise) are silent.
    min_silence : float
        Shortest silence in seconds that ends a cue.

    Returns
    -------
    segments : list of Segment
    silent : ndarray of bool, shape (n_tiles,)
        Tiles centred in a silence (in no segment).
    gaps : list of (float, float)
        Every silence on the input's timeline (skipped files included).
    """
    if not min_cue > 0:
        raise InputError("min_cue must be a positive number of seconds, got {!r}".format(min_cue))
    if not min_silence > 0:
        raise InputError("min_silence must be a positive number of seconds, got {!r}"
                         .format(min_silence))
    hop, tile = source.hop_seconds, source.tile_seconds
    min_tiles = max(1, int(math.ceil(min_cue / hop - 1e-9)))
    flags = np.asarray(in_distribution, dtype=bool)
    silent = np.zeros(len(flags), dtype=bool)
    in_music = flags.copy()
    pieces = []  # (file, edge start, edge end, tile rows)
    gaps_on_timeline = []
    for index, (f, (edges, gaps)) in enumerate(zip(source.files, _stretches(
            source, silence_db, min_silence))):
        gaps_on_timeline.extend((f.offset + a, f.offset + b) for a, b in gaps)
        rows = np.arange(*f.tiles)
        centres = source.starts[rows] - f.offset + tile / 2
        for a, b in gaps:
            silent[rows[(centres >= a) & (centres < b)]] = True
        for a, b in edges:
            inside = rows[(centres >= a) & (centres < b) & ~silent[rows]]
            if len(inside):
                pieces.append((index, f.offset + a, f.offset + b, inside))
    in_music &= ~silent
    noise = _noise(source.scores[in_music]) if in_music.any() else None
    segments = []
    for index, edge_start, edge_end, rows in pieces:
        groups = []
        for a, b, flag in _merge_short(_runs(in_music[rows]), min_tiles):
            cuts = []
            if flag:
                scaled = source.scores[rows[a:b]] / noise
                penalty = (scaled.shape[1] + 1) * np.log(max(len(flags), 2))
                cuts = change_points(scaled, min_tiles, penalty)
            bounds = [a] + [a + c for c in cuts] + [b]
            groups.extend(zip(bounds[:-1], bounds[1:]))
        centres = source.starts[rows] + tile / 2
        for number, (a, b) in enumerate(groups):
            start = edge_start if number == 0 else (centres[a - 1] + centres[a]) / 2
            end = edge_end if number == len(groups) - 1 else (centres[b - 1] + centres[b]) / 2
            member = rows[a:b]
            share = float(in_music[member].mean())
            chosen = member[in_music[member]]
            segments.append(Segment(
                len(segments) + 1, KINDS[0] if share >= 0.5 else KINDS[1], float(start),
                float(end), (int(member[0]), int(member[-1]) + 1), index, share,
                source.scores[chosen].mean(axis=0) if len(chosen) else None))
    return segments, silent, gaps_on_timeline
