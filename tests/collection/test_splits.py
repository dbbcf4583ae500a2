import numpy as np
import pytest

from soundtrack_cnn.collection.splits import TrackSplit, assign_splits
from soundtrack_cnn.errors import InputError

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


def _films(n_films=40, seed=0):
    """{track_id: film} for films of 1 to 12 tracks."""
    rng = np.random.RandomState(seed)
    return {"f{:02d}-t{:02d}".format(f, t): "film{:02d}".format(f)
            for f in range(n_films) for t in range(rng.randint(1, 13))}


def test_no_film_is_in_two_splits_and_shares_stay_near_the_fractions():
    groups = _films()
    for seed in range(5):
        splits = assign_splits(list(groups), seed=seed, groups=groups)
        by_film = {}
        for tid, film in groups.items():
            by_film.setdefault(film, set()).add(splits[tid])
        assert all(len(names) == 1 for names in by_film.values())
        share = {name: list(splits.values()).count(name) / len(splits)
                 for name in ("train", "valid", "test")}
        assert abs(share["train"] - 0.7) < 0.1 and min(share.values()) > 0.05, share


def test_without_groups_the_draw_is_the_per_track_draw():
    ids = ["track{:03d}".format(i) for i in range(50)]
    singles = {tid: tid for tid in ids}          # every track its own film
    assert assign_splits(ids, seed=2) == assign_splits(ids, seed=2, groups={})
    assert sorted(assign_splits(ids, seed=2, groups=singles).values()) == \
        sorted(assign_splits(ids, seed=2).values())


def test_a_given_split_takes_the_whole_film_and_conflicts_are_errors():
    groups = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    splits = assign_splits(list(groups), given={"a2": "valid"}, groups=groups)
    assert [splits[t] for t in ("a1", "a2", "a3")] == ["valid"] * 3
    with pytest.raises(InputError, match="film 'A'"):
        assign_splits(list(groups), given={"a1": "test", "a2": "train"}, groups=groups)
