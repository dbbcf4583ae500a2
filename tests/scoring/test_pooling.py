import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.scoring.pooling import (
    POOLINGS,
    AttentionPooling,
    check_pooling,
    log_mean_exp_pool,
    max_pool,
    mean_pool,
    pool_tracks,
)

TILES = np.array([[0.1, 0.8], [0.5, 0.2], [0.9, 0.2]])


def test_plain_poolings_give_the_hand_computed_values():
    assert np.allclose(mean_pool(TILES), [0.5, 0.4])
    assert np.allclose(max_pool(TILES), [0.9, 0.8])
    # T log((e^(.1/T) + e^(.5/T) + e^(.9/T)) / 3) with T = 1 and T = .5, by hand.
    assert np.allclose(log_mean_exp_pool(TILES, temperature=1.0),
                       [np.log((np.exp(.1) + np.exp(.5) + np.exp(.9)) / 3),
                        np.log((np.exp(.8) + 2 * np.exp(.2)) / 3)])
    assert np.allclose(log_mean_exp_pool(TILES, temperature=.5)[0],
                       .5 * np.log((np.exp(.2) + np.exp(1.) + np.exp(1.8)) / 3))


def test_log_mean_exp_lies_between_mean_and_max_and_reaches_both():
    assert np.allclose(log_mean_exp_pool(TILES, temperature=1e4), mean_pool(TILES), atol=1e-4)
    assert np.allclose(log_mean_exp_pool(TILES, temperature=1e-3), max_pool(TILES), atol=2e-3)
    middle = log_mean_exp_pool(TILES, temperature=.2)
    assert np.all(middle > mean_pool(TILES)) and np.all(middle < max_pool(TILES))


def test_pool_tracks_per_track_and_mean_is_the_studys():
    ranges = [(0, 1), (1, 3)]
    assert np.array_equal(pool_tracks(TILES, ranges), [TILES[0], TILES[1:].mean(axis=0)])
    tiles = np.array([[1., 0.], [0., 1.], [.5, .5], [.2, .6]])
    np.testing.assert_allclose(pool_tracks(tiles, [(0, 2), (2, 4)]), [[.5, .5], [.35, .55]])
    with pytest.raises(InputError, match="at least one tile"):
        pool_tracks(TILES, [(2, 2)])
    assert np.allclose(pool_tracks(TILES, ranges, pooling="max"), [[.1, .8], [.9, .2]])
    with pytest.raises(InputError, match="pooling"):
        pool_tracks(TILES, ranges, pooling="median")
    with pytest.raises(InputError, match="at least one tile"):
        pool_tracks(TILES, [(0, 0)], pooling="max")
    with pytest.raises(InputError, match="temperature"):
        log_mean_exp_pool(TILES, temperature=0)


def _one_in_ten(n_tracks, rng):
    """Tracks of 10 tiles; in a positive track one tile (anywhere) scores high."""
    scores = rng.uniform(0.05, 0.6, size=(n_tracks * 10, 1))
    labels = (np.arange(n_tracks) % 2 == 0).astype(int)[:, None]
    for t in np.flatnonzero(labels[:, 0]):
        scores[10 * t + rng.randint(10), 0] = rng.uniform(0.8, 0.95)
    return scores, [(10 * t, 10 * t + 10) for t in range(n_tracks)], labels


def test_attention_pooling_learns_the_one_slice_in_ten_that_carries_the_label():
    rng = np.random.RandomState(0)
    train, test = _one_in_ten(60, rng), _one_in_ten(200, rng)
    pooling = AttentionPooling(l2=.1).fit(train[0], train[2], train[1])
    assert pooling.weights_[0, 0] > 0          # it attends to high-scoring slices
    scores, ranges, labels = test
    attention = roc_auc_score(labels[:, 0], pooling.predict(scores, ranges)[:, 0])
    mean = roc_auc_score(labels[:, 0], pool_tracks(scores, ranges)[:, 0])
    assert attention > mean + .05 and attention > .95
    weights = pooling.attention(scores, ranges)
    assert np.allclose([weights[a:b].sum() for a, b in ranges], 1)


def test_attention_pooling_without_evidence_stays_the_mean():
    rng = np.random.RandomState(1)
    scores = rng.uniform(size=(40, 2))
    ranges = [(4 * t, 4 * t + 4) for t in range(10)]
    pooling = AttentionPooling(l2=1e6).fit(scores, rng.randint(0, 2, size=(10, 2)), ranges)
    assert np.allclose(pooling.predict(scores, ranges), pool_tracks(scores, ranges), atol=1e-4)
    with pytest.raises(InputError, match="labels"):
        pooling.fit(scores, np.zeros((3, 2)), ranges)


@pytest.mark.parametrize("pooling", sorted(POOLINGS))
def test_weights_count_tiles_as_if_they_were_repeated(pooling):
    # What the film's bootstrap relies on: a segment drawn twice counts twice.
    rng = np.random.RandomState(0)
    scores, counts = rng.rand(7, 3), np.array([0, 2, 1, 0, 3, 1, 1])
    weighted = pool_tracks(scores, [(0, 7)], pooling, weights=counts)
    repeated = pool_tracks(np.repeat(scores, counts, axis=0), [(0, int(counts.sum()))], pooling)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-12)


def test_a_calibration_needs_the_mean():
    with pytest.raises(InputError, match="a calibration maps mean-pooled scores.*not 'lme'"):
        check_pooling("lme", calibration=object())
    with pytest.raises(InputError, match="pooling must be one of"):
        check_pooling("median")
