"""Splits by whole tracks (and whole films): no track lends tiles to two of train / valid / test.

Tiles of one track are strongly correlated, so a split by tile (as nolearn's
default ``TrainSplit`` makes) would let the validation and test figures see
the training tracks.  Tracks of one film share themes and instruments in the
same way, so when films are known their tracks are drawn together.
"""
import numpy as np

from ..errors import InputError

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


def assign_splits(track_ids, given=None, seed=0, fractions=FRACTIONS, groups=None):
    """Give every track a split, deterministically, keeping groups (films) together.

    Parameters
    ----------
    track_ids : sequence of str
    given : dict, optional
        ``{track_id: split}`` fixed in advance (e.g. by the manifest's ``split``
        column); only the other tracks are drawn.  A split given to one track
        of a group is given to the whole group.
    seed : int
        Seed of the draw; the same ids and seed give the same splits.
    fractions : (float, float, float)
        Train, valid and test shares of the drawn tracks.
    groups : dict, optional
        ``{track_id: group}`` (e.g. the manifest's ``film`` column): the
        tracks of one group always share a split, so no film lends tracks to
        both training and test.  Tracks without a group are drawn alone.

    Returns
    -------
    splits : dict
        ``{track_id: 'train' | 'valid' | 'test'}``.

    Raises
    ------
    InputError
        For unknown split names, bad fractions, or a group whose tracks were
        given different splits.

    Examples
    --------
    >>> s = assign_splits(["a", "b", "c", "d"], given={"a": "test"}, seed=1)
    >>> s["a"], sorted(s) == ["a", "b", "c", "d"]
    ('test', True)
    >>> s = assign_splits(["a1", "a2", "b1"], given={"a1": "test"}, groups={"a1": "A", "a2": "A"})
    >>> s["a2"]
    'test'
    """
    given, groups = dict(given or {}), dict(groups or {})
    bad = {tid: split for tid, split in given.items() if split not in SPLITS}
    if bad:
        raise InputError("unknown split values {} (use one of {})".format(bad, SPLITS))
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1):
        raise InputError("fractions must be three non-negative shares summing to 1, got {}"
                         .format(fractions))
    # A unit is drawn as a whole: a group, or a track of no group.  Sorting
    # makes the draw independent of the order tracks were listed in.
    members = {}
    for tid in sorted(set(track_ids)):
        unit = (1, groups[tid]) if tid in groups else (0, tid)
        members.setdefault(unit, []).append(tid)
    splits, free = dict(given), []
    for unit, tids in sorted(members.items()):
        fixed = sorted({given[tid] for tid in tids if tid in given})
        if len(fixed) > 1:
            raise InputError("film {!r}: its tracks are given different splits {}; a film's "
                             "tracks must share one split".format(unit[1], fixed))
        if fixed:
            splits.update((tid, fixed[0]) for tid in tids)
        else:
            free.append(unit)
    order = np.random.RandomState(seed).permutation(len(free))
    n_tracks = sum(len(members[unit]) for unit in free)
    start = 0  # tracks drawn before this unit: a unit of one track is ranked as before
    for index in order:
        tids = members[free[index]]
        splits.update((tid, split_by_rank(start, n_tracks, fractions)) for tid in tids)
        start += len(tids)
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
