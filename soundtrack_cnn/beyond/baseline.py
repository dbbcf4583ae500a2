"""The classical baseline: each track's average timbre, one logistic regression per genre.

A track is summarised by the mean and standard deviation of each MFCC over
all the frames of its tiles (80 numbers for 40 coefficients); one
class-balanced logistic regression per genre is fitted on the training
tracks.  It costs seconds and tells whether the networks learned more than a
track's average timbre.
"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import InputError
from ..scoring.metrics import prior_scores
from ..training.dataset import TileView

__all__ = ["track_mfcc_statistics", "make_classical_baseline", "classical_baseline_scores",
           "reference_scores", "CLASSICAL", "PRIOR"]

#: The rows every table of a run's models is measured against.
CLASSICAL = "MFCC mean+std, logistic"
PRIOR = "label prior"


def track_mfcc_statistics(tiles, ranges):
    """Mean and standard deviation of every coefficient over each track's frames.

    Parameters
    ----------
    tiles : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
        Raw tiles (e.g. a :class:`~soundtrack_cnn.training.dataset.TileView` of a store).
    ranges : sequence of (int, int)
        Each track's ``[start, stop)`` rows of ``tiles``.

    Returns
    -------
    statistics : ndarray, shape (n_tracks, 2 * n_mfcc)
        Means, then standard deviations.

    Examples
    --------
    >>> tiles = np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2)
    >>> track_mfcc_statistics(tiles, [(0, 2)]).tolist()
    [[2.5, 4.5, 2.0615528128088303, 2.0615528128088303]]
    """
    statistics = []
    for start, stop in ranges:
        if stop <= start:
            raise InputError("every track needs at least one tile; got range ({}, {})"
                             .format(start, stop))
        block = np.asarray(tiles[start:stop], dtype=np.float64)
        frames = block[:, 0].transpose(0, 2, 1).reshape(-1, block.shape[2])
        statistics.append(np.concatenate([frames.mean(axis=0), frames.std(axis=0)]))
    return np.array(statistics)


def make_classical_baseline(C=1.0, random_state=0):
    """Standardised statistics -> one class-balanced logistic regression per genre.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        ``fit(statistics, Y)`` with ``Y`` of shape (n_tracks, K);
        ``predict_proba`` gives (n_tracks, K) scores.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> S, Y = rng.randn(40, 4), np.zeros((40, 2), int)
    >>> Y[:, 0], Y[:, 1] = S[:, 0] > 0, S[:, 1] > 0
    >>> make_classical_baseline().fit(S, Y).predict_proba(S).shape
    (40, 2)
    """
    return make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(
        C=C, class_weight="balanced", max_iter=5000, random_state=random_state)))


def classical_baseline_scores(tiles, sets):
    """Validation and test track scores of the baseline fitted on the training tracks.

    Parameters
    ----------
    tiles : array-like
        The store's tiles.
    sets : dict
        ``{"train": ..., "valid": ..., "test": ...}`` track sets (``rows``,
        ``ranges``, ``labels``, ``track_ids``), as
        :func:`~soundtrack_cnn.experiment.tracksets.track_sets` gives them.

    Returns
    -------
    scores : dict
        ``{"valid": (n_valid, K), "test": (n_test, K)}``, tracks in each set's order.
    """
    statistics = {split: track_mfcc_statistics(TileView(tiles, tracks.rows), tracks.ranges)
                  for split, tracks in sets.items() if tracks.track_ids}
    model = make_classical_baseline().fit(statistics["train"], sets["train"].labels)
    return {split: model.predict_proba(statistics[split]) for split in ("valid", "test")}


def reference_scores(tiles, sets):
    """Validation and test track scores of the references: the classical baseline and the prior.

    The one place that builds them, for ``evaluate``'s table and ``compare``'s.

    Parameters
    ----------
    tiles, sets
        As for :func:`classical_baseline_scores`.

    Returns
    -------
    references : dict
        ``{CLASSICAL: {"valid": ..., "test": ...}, PRIOR: {...}}``: the
        baseline's scores, and every track scored with the training tags'
        frequencies.
    """
    prior = {split: prior_scores(sets["train"].labels, len(sets[split].track_ids))
             for split in ("valid", "test")}
    return {CLASSICAL: classical_baseline_scores(tiles, sets), PRIOR: prior}
