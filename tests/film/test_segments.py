"""Silences and change points on known sequences; segments of a real input."""
import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.film.segments import change_points, silences


def test_change_points_find_steps_and_respect_the_minimum_length():
    rng = np.random.RandomState(0)
    means = np.repeat([[.9, .1, .1], [.1, .8, .1], [.1, .1, .7]], [30, 12, 40], axis=0)
    scores = means + 0.05 * rng.randn(*means.shape)
    penalty = 4 * np.log(len(scores)) * 0.05 ** 2
    assert change_points(scores, 5, penalty) == [30, 42]
    # A minimum longer than the middle stretch cannot cut it out.
    assert 42 not in change_points(scores, 13, penalty) and len(change_points(scores, 13, penalty)) <= 2
    assert change_points(scores[:9], 5, penalty) == []
    # Constant scores: nothing to cut.
    assert change_points(np.full((50, 3), .5), 2, penalty) == []
    with pytest.raises(InputError, match="min_size"):
        change_points(scores, 0, penalty)


def test_change_points_equal_brute_force_on_small_sequences():
    rng = np.random.RandomState(1)
    X = rng.rand(9, 2)
    penalty, m = 0.05, 2

    def cost(parts):
        return sum(((X[a:b] - X[a:b].mean(axis=0)) ** 2).sum() + penalty for a, b in parts)

    best = None
    import itertools
    for r in range(0, 4):
        for cuts in itertools.combinations(range(1, 9), r):
            bounds = [0] + list(cuts) + [9]
            parts = list(zip(bounds[:-1], bounds[1:]))
            if all(b - a >= m for a, b in parts) and (best is None or cost(parts) < best[0]):
                best = (cost(parts), list(cuts))
    assert change_points(X, m, penalty) == best[1]


def test_silences_need_every_frame_quiet_for_long_enough():
    level = np.r_[np.full(50, -20.), np.full(19, -80.), np.full(10, -20.), np.full(30, -190.),
                  [np.nan] * 5, np.full(25, -75.)]
    assert silences(level, 0.1, silence_db=-70, min_silence=2.0) == [(7.9, 10.9), (11.4, 13.9)]
    assert silences(level, 0.1, silence_db=-100, min_silence=2.0) == [(7.9, 10.9)]
    assert silences(level, 0.1, silence_db=-70, min_silence=1.5) == [(5.0, 6.9), (7.9, 10.9),
                                                                    (11.4, 13.9)]
