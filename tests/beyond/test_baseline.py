"""The classical baseline: MFCC mean and std per track, one logistic regression per genre."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.baseline import make_classical_baseline, track_mfcc_statistics


def test_statistics_pool_every_frame_of_a_tracks_tiles():
    rng = np.random.RandomState(0)
    tiles = rng.randn(5, 1, 3, 4).astype(np.float32)
    stats = track_mfcc_statistics(tiles, [(0, 2), (2, 5)])
    assert stats.shape == (2, 6)
    frames = np.concatenate(list(tiles[2:5]), axis=2)[0].astype(np.float64)   # 3 x 12 frames
    np.testing.assert_allclose(stats[1], np.concatenate([frames.mean(1), frames.std(1)]))


def test_a_track_without_tiles_is_an_input_error():
    with pytest.raises(InputError, match="at least one tile"):
        track_mfcc_statistics(np.zeros((2, 1, 3, 4)), [(1, 1)])


def test_the_baseline_learns_a_timbre_difference_and_ignores_an_unrelated_one():
    # Genre 0 raises coefficient 0's mean; genre 1 is unrelated noise.
    rng = np.random.RandomState(0)
    Y = np.stack([rng.rand(80) < .4, rng.rand(80) < .4], axis=1).astype(int)
    tiles = rng.randn(80, 1, 4, 20).astype(np.float32)
    tiles[:, 0, 0] += 1.5 * Y[:, :1]
    stats = track_mfcc_statistics(tiles, [(i, i + 1) for i in range(80)])
    model = make_classical_baseline().fit(stats[:60], Y[:60])
    scores = model.predict_proba(stats[60:])
    assert scores.shape == (20, 2)
    assert roc_auc_score(Y[60:, 0], scores[:, 0]) > .9
    assert roc_auc_score(Y[60:, 1], scores[:, 1]) < .8
