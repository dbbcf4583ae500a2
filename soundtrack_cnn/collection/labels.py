"""Genre tags: the vocabulary, binary label matrices and label statistics.

The study's tracks carry 2-3 IMDb genre tags, and some tags are almost
subsets of another ("Drama" co-occurs with nearly everything); the
statistics here make that visible.
"""
import collections

import numpy as np

from ..errors import InputError
from ..files import json_ready

__all__ = ["vocabulary", "label_matrix", "cooccurrence", "overlap", "label_statistics"]


def vocabulary(tag_lists, k=10, genres=None):
    """Ordered genre list: ``genres`` if given, else the ``k`` most frequent tags.

    Parameters
    ----------
    tag_lists : iterable of sequences of str
        The tags of each (training) track.
    k : int
        How many tags to keep (10 in the study).
    genres : sequence of str, optional
        An explicit vocabulary; every name must occur in ``tag_lists``.

    Returns
    -------
    genres : list of str
        Most frequent first; ties broken by name so the order is stable.

    Examples
    --------
    >>> vocabulary([("Drama", "Action"), ("Drama",), ("Comedy",)], k=2)
    ['Drama', 'Action']
    """
    counts = collections.Counter(tag for tags in tag_lists for tag in tags)
    if genres is not None:
        missing = [genre for genre in genres if counts[genre] == 0]
        if missing:
            raise InputError("genres {} occur in no training track".format(missing))
        return list(genres)
    if k < 1:
        raise InputError("k must be at least 1, got {}".format(k))
    return [tag for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][:k]


def label_matrix(tag_lists, genres):
    """Binary (n_tracks, K) matrix; tags outside ``genres`` are ignored.

    Examples
    --------
    >>> label_matrix([("Drama", "Action")], ["Action", "Comedy", "Drama"]).tolist()
    [[1, 0, 1]]
    """
    column = {genre: j for j, genre in enumerate(genres)}
    labels = np.zeros((len(tag_lists), len(genres)), dtype=np.int8)
    for i, tags in enumerate(tag_lists):
        for tag in tags:
            if tag in column:
                labels[i, column[tag]] = 1
    return labels


def cooccurrence(tag_lists, genres):
    """Co-occurrence counts; the diagonal holds each tag's own count.

    Returns
    -------
    counts : ndarray, shape (K, K)
        ``counts[a, b]`` = number of tracks tagged both ``genres[a]`` and ``genres[b]``.
    """
    labels = label_matrix(tag_lists, genres).astype(np.int64)
    return labels.T @ labels


def overlap(counts):
    """P(tag b | tag a) from co-occurrence counts; NaN where tag a never occurs.

    Examples
    --------
    >>> overlap(np.array([[2, 1], [1, 1]])).tolist()
    [[1.0, 0.5], [1.0, 1.0]]
    """
    counts = np.asarray(counts, dtype=float)
    own = np.diag(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / own[:, None]


def label_statistics(tag_lists, genres):
    """Tag counts, tags-per-track histogram, co-occurrence and overlap.

    Parameters
    ----------
    tag_lists : sequence of sequences of str
    genres : sequence of str

    Returns
    -------
    stats : dict
        ``tag_counts`` {genre: n}, ``tags_per_track`` {n_tags: n_tracks},
        ``cooccurrence`` K x K counts, ``overlap`` K x K with
        ``overlap[a][b]`` = P(tag b | tag a) (None where tag a never occurs),
        ``near_subsets``: pairs (a, b) with P(b | a) >= 0.9, i.e. a is almost
        a subset of b.  JSON-serialisable.

    Examples
    --------
    >>> stats = label_statistics([("Drama", "Action"), ("Drama",)], ["Drama", "Action"])
    >>> stats["overlap"][1][0]   # P(Drama | Action)
    1.0
    """
    counts = cooccurrence(tag_lists, genres)
    own = np.diag(counts).astype(float)
    shares = overlap(counts)
    per_track = collections.Counter(len(set(tags) & set(genres)) for tags in tag_lists)
    return {
        "genres": list(genres),
        "n_tracks": len(tag_lists),
        "tag_counts": {genre: int(n) for genre, n in zip(genres, own)},
        "tags_per_track": {int(n): per_track[n] for n in sorted(per_track)},
        "cooccurrence": counts.tolist(),
        "overlap": json_ready([[round(float(p), 4) for p in row] for row in shares]),
        "near_subsets": [(genres[a], genres[b]) for a in range(len(genres))
                         for b in range(len(genres))
                         if a != b and own[a] > 0 and shares[a, b] >= 0.9],
    }
