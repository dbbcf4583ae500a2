import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.splits import TrackSplit, assign_splits

IDS = ["track{:03d}".format(i) for i in range(100)]


def test_splits_are_deterministic_and_order_free():
    first = assign_splits(IDS, seed=3)
    assert first == assign_splits(list(reversed(IDS)), seed=3)
    assert first != assign_splits(IDS, seed=4)
    counts = {name: list(first.values()).count(name) for name in ("train", "valid", "test")}
    assert counts == {"train": 70, "valid": 15, "test": 15}


def test_given_splits_are_kept():
    splits = assign_splits(IDS, given={"track000": "test", "track001": "valid"}, seed=0)
    assert splits["track000"] == "test" and splits["track001"] == "valid"
    with pytest.raises(InputError, match="holdout"):
        assign_splits(IDS, given={"track000": "holdout"})


def test_track_split_never_shares_a_track():
    groups = np.repeat(np.arange(20), 5)          # 20 tracks of 5 tiles
    valid = np.isin(groups, [3, 7, 11])
    X = np.arange(100)
    X_train, X_valid, y_train, y_valid = TrackSplit(valid)(X, X * 2, None)
    assert set(groups[X_train]).isdisjoint(groups[X_valid])
    assert len(X_valid) == 15 and (y_valid == X_valid * 2).all()
    with pytest.raises(InputError):
        TrackSplit(valid)(X[:10], X[:10], None)
