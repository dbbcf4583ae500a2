"""Splits by whole tracks: no track lends tiles to two of train / valid / test.

Tiles of one track are strongly correlated, so a split by tile (as nolearn's
default ``TrainSplit`` makes) would let the validation and test figures see
the training tracks.
"""
import numpy as np

from .errors import InputError

__all__ = ["SPLITS", "split_by_rank", "assign_splits", "TrackSplit"]

SPLITS = ("train", "valid", "test")
FRACTIONS = (0.7, 0.15, 0.15)


def split_by_rank(rank, n, fractions=FRACTIONS):
    """The split of the track at position ``rank`` of ``n`` in a (seeded) order.

    The first ``fractions[0]`` of the order train, the next ``fractions[1]``
    validate, the rest test.

    Examples
    --------
    >>> [split_by_rank(rank, 10) for rank in (0, 6, 7, 8, 9)]
    ['train', 'train', 'valid', 'valid', 'test']
    """
    if rank < fractions[0] * n:
        return "train"
    return "valid" if rank < (fractions[0] + fractions[1]) * n else "test"


def assign_splits(track_ids, given=None, seed=0, fractions=FRACTIONS):
    """Give every track a split, deterministically.

    Parameters
    ----------
    track_ids : sequence of str
    given : dict, optional
        ``{track_id: split}`` fixed in advance (e.g. by the manifest's ``split``
        column); only the other tracks are drawn.
    seed : int
        Seed of the draw; the same ids and seed give the same splits.
    fractions : (float, float, float)
        Train, valid and test shares of the drawn tracks.

    Returns
    -------
    splits : dict
        ``{track_id: 'train' | 'valid' | 'test'}``.

    Examples
    --------
    >>> s = assign_splits(["a", "b", "c", "d"], given={"a": "test"}, seed=1)
    >>> s["a"], sorted(s) == ["a", "b", "c", "d"]
    ('test', True)
    """
    given = dict(given or {})
    bad = {tid: split for tid, split in given.items() if split not in SPLITS}
    if bad:
        raise InputError("unknown split values {} (use one of {})".format(bad, SPLITS))
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1):
        raise InputError("fractions must be three non-negative shares summing to 1, got {}"
                         .format(fractions))
    # Sorting first makes the draw independent of the order tracks were listed in.
    free = sorted(tid for tid in set(track_ids) if tid not in given)
    order = np.random.RandomState(seed).permutation(len(free))
    splits = dict(given)
    for rank, index in enumerate(order):
        splits[free[index]] = split_by_rank(rank, len(free), fractions)
    return splits


class TrackSplit(object):
    """nolearn ``train_split`` that validates on whole held-out tracks.

    Parameters
    ----------
    valid : array of bool, shape (n_rows,)
        True for the rows (tiles) of the validation tracks, in the order of
        the ``X`` later passed to ``NeuralNet.fit``.

    Examples
    --------
    >>> split = TrackSplit(np.array([False, False, True]))
    >>> X_train, X_valid, y_train, y_valid = split(np.arange(3), np.arange(3), None)
    >>> X_train.tolist(), X_valid.tolist()
    ([0, 1], [2])
    """

    def __init__(self, valid):
        self.valid = np.asarray(valid, dtype=bool)

    def __call__(self, X, y, net):
        if len(X) != len(self.valid):
            raise InputError("TrackSplit was made for {} rows but fit got {}"
                             .format(len(self.valid), len(X)))
        train_rows = np.flatnonzero(~self.valid)
        valid_rows = np.flatnonzero(self.valid)
        return X[train_rows], X[valid_rows], y[train_rows], y[valid_rows]
