"""Pooling: how a track's tile scores become one score per genre.

The study averages (:func:`mean_pool`), which lets a few decisive slices
drown in many neutral ones.  The alternatives here are plain functions over
one track's ``(n_tiles, K)`` scores -- :func:`max_pool` and
:func:`log_mean_exp_pool` (between the two, set by a temperature) -- and a
learned :class:`AttentionPooling`, which weights each tile by how much it
looks like evidence.  :func:`pool_tracks` applies any of them to every track
of a score matrix (``ranges`` say which rows are which track's); it is the
package's one per-track aggregation, and ``'mean'`` is the study's.
"""
import numpy as np
from scipy.special import logsumexp, softmax

from ..errors import InputError
from .metrics import safe_logit

__all__ = ["mean_pool", "max_pool", "log_mean_exp_pool", "pool_tracks", "track_ranges",
           "check_pooling", "AttentionPooling", "POOLINGS"]

# Pooled probabilities are clipped this far from 0 and 1 in the attention's
# log-loss, so that its gradient stays finite.
_EPS = 1e-6


def _check_tiles(tile_scores, weights=None):
    tile_scores = np.asarray(tile_scores, dtype=float)
    if tile_scores.ndim != 2 or len(tile_scores) == 0:
        raise InputError("tile scores must be (n_tiles >= 1, K); got shape {}".format(
            tile_scores.shape))
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (len(tile_scores),) or (weights < 0).any() or not weights.sum() > 0:
            raise InputError("weights must be one count >= 0 per tile, not all 0; got shape {}"
                             .format(weights.shape))
    return tile_scores, weights


def mean_pool(tile_scores, weights=None):
    """Mean over the tiles (the study's pooling).

    Every pooling takes ``weights``: how many times each tile counts (a
    bootstrap resample draws some tiles twice and others not at all).

    Parameters
    ----------
    tile_scores : array, shape (n_tiles, K)
    weights : array, shape (n_tiles,), optional
        Counts (None: each tile once).

    Returns
    -------
    scores : ndarray, shape (K,)

    Examples
    --------
    >>> mean_pool([[.2, .9], [.4, .1]]).tolist()
    [0.30000000000000004, 0.5]
    >>> mean_pool([[.2, .9], [.4, .1]], weights=[3, 1]).round(3).tolist()
    [0.25, 0.7]
    """
    tile_scores, weights = _check_tiles(tile_scores, weights)
    if weights is None:
        return tile_scores.mean(axis=0)
    return weights.dot(tile_scores) / weights.sum()


def max_pool(tile_scores, weights=None):
    """Best tile per genre: one decisive slice is enough.

    Examples
    --------
    >>> max_pool([[.2, .9], [.4, .1]]).tolist()
    [0.4, 0.9]
    >>> max_pool([[.2, .9], [.4, .1]], weights=[0, 2]).tolist()
    [0.4, 0.1]
    """
    tile_scores, weights = _check_tiles(tile_scores, weights)
    if weights is not None:
        tile_scores = tile_scores[weights > 0]
    return tile_scores.max(axis=0)


def log_mean_exp_pool(tile_scores, temperature=0.1, weights=None):
    """``temperature * log(mean(exp(scores / temperature)))`` per genre.

    A soft maximum: the mean as ``temperature`` grows, the maximum as it
    shrinks; always between the two.

    Parameters
    ----------
    tile_scores : array, shape (n_tiles, K)
    temperature : float > 0
    weights : array, shape (n_tiles,), optional
        Counts, as for :func:`mean_pool`.

    Examples
    --------
    >>> round(float(log_mean_exp_pool([[0.], [1.]], temperature=1.)[0]), 4)  # log((1 + e) / 2)
    0.6201
    >>> round(float(log_mean_exp_pool([[0.], [1.]], temperature=.01)[0]), 4)  # ~ max - .01 log 2
    0.9931
    """
    if not temperature > 0:
        raise InputError("temperature must be > 0, got {}".format(temperature))
    tile_scores, weights = _check_tiles(tile_scores, weights)
    if weights is None:
        return temperature * (logsumexp(tile_scores / temperature, axis=0)
                              - np.log(len(tile_scores)))
    return temperature * (logsumexp(tile_scores / temperature, axis=0, b=weights[:, None])
                          - np.log(weights.sum()))


POOLINGS = {"mean": mean_pool, "max": max_pool, "lme": log_mean_exp_pool}


def track_ranges(groups):
    """Each track's ``[start, stop)`` rows, from each row's track (``groups``).

    The package says which tiles belong to which track with ``ranges``;
    ``groups`` (scikit-learn's word) are accepted at an estimator's edge and
    turned into ranges here.  A track's rows must be consecutive.

    Examples
    --------
    >>> track_ranges(["b", "b", "a", "c", "c", "c"])
    [(0, 2), (2, 3), (3, 6)]
    >>> track_ranges(["a", "b", "a"])
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: the rows of track 'a' are not consecutive
    """
    groups = np.asarray(groups)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if len(groups) else []
    stops = list(starts[1:]) + [len(groups)]
    seen = set()
    for start in starts:
        if groups[start] in seen:
            raise InputError("the rows of track {!r} are not consecutive".format(groups[start].item()))
        seen.add(groups[start])
    return [(int(start), int(stop)) for start, stop in zip(starts, stops)]


def _check_ranges(ranges):
    if any(stop <= start for start, stop in ranges):
        raise InputError("every track needs at least one tile; got ranges {}".format(
            [r for r in ranges if r[1] <= r[0]][:3]))


def check_pooling(pooling, calibration=None):
    """InputError unless ``pooling`` is a pooling, and the mean if ``calibration`` maps its scores.

    The one home of the rule: a calibration (:mod:`soundtrack_cnn.beyond.calibration`)
    is fitted on mean-pooled validation scores, so it maps mean-pooled scores
    only.  Every function that takes a pooling and a calibration checks them here.

    Examples
    --------
    >>> check_pooling("max")
    >>> check_pooling("max", calibration=object())
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: a calibration maps mean-pooled scores (it is fitted on them); use pooling 'mean' with it, not 'max'
    """
    if pooling not in POOLINGS:
        raise InputError("pooling must be one of {}, got {!r}".format(sorted(POOLINGS), pooling))
    if calibration is not None and pooling != "mean":
        raise InputError("a calibration maps mean-pooled scores (it is fitted on them); use "
                         "pooling 'mean' with it, not {!r}".format(pooling))


def pool_tracks(tile_scores, ranges, pooling="mean", weights=None, **options):
    """One row per track: ``pooling`` applied to each track's tiles.

    Parameters
    ----------
    tile_scores : array, shape (n_tiles, K)
    ranges : sequence of (int, int)
        Each track's ``[start, stop)`` rows in ``tile_scores``.
    pooling : {'mean', 'max', 'lme'}
        ``'lme'`` is :func:`log_mean_exp_pool`; ``options`` (``temperature``)
        go to it.
    weights : array, shape (n_tiles,), optional
        How many times each tile counts (see :func:`mean_pool`).

    Returns
    -------
    track_scores : ndarray, shape (n_tracks, K)

    Examples
    --------
    >>> pool_tracks([[1.], [0.], [.5]], [(0, 2), (2, 3)]).ravel().tolist()
    [0.5, 0.5]
    >>> pool_tracks([[1.], [0.], [.5]], [(0, 2), (2, 3)], pooling="max").ravel().tolist()
    [1.0, 0.5]
    """
    check_pooling(pooling)
    _check_ranges(ranges)
    tile_scores = np.asarray(tile_scores, dtype=float)
    if weights is None:
        return np.array([POOLINGS[pooling](tile_scores[start:stop], **options)
                         for start, stop in ranges]).reshape(len(ranges), tile_scores.shape[1])
    weights = np.asarray(weights, dtype=float)
    return np.array([POOLINGS[pooling](tile_scores[start:stop], weights=weights[start:stop],
                                       **options)
                     for start, stop in ranges]).reshape(len(ranges), tile_scores.shape[1])


class AttentionPooling(object):
    """Learned attention over a track's tiles, one attention vector per genre.

    Tile ``i`` gets the weight ``softmax_i(u_k . x_i)`` for genre ``k``, where
    ``x_i`` are the logits of the tile's K scores, and the track's score is
    the weighted mean of the tiles' genre-``k`` scores.  With ``u_k = 0`` this
    is the study's mean, and the L2 penalty pulls towards it, so a small
    training set cannot move far from the study's pooling.  Each ``u_k``
    minimises the binary cross-entropy of the pooled scores against the track
    labels (L-BFGS with the exact gradient).

    A handful of parameters per genre, fitted in milliseconds with scipy: a
    Theano net would add a compile of seconds for the same convex-looking
    problem, and nothing here needs the GPU-era stack.

    Parameters
    ----------
    l2 : float
        Penalty on ``|u_k|^2 / 2`` (per genre, summed over tracks' losses).

    Attributes
    ----------
    weights_ : ndarray, shape (K, K)
        Row k is ``u_k``.

    Examples
    --------
    >>> tiles = np.array([[.1], [.1], [.9], [.2], [.2], [.2]])
    >>> pooling = AttentionPooling(l2=.01).fit(tiles, [[1], [0]], [(0, 3), (3, 6)])
    >>> pooled = pooling.predict(tiles, [(0, 3), (3, 6)])
    >>> bool(pooled[0, 0] > mean_pool(tiles[:3])[0]), bool(pooled[1, 0] < .25)
    (True, True)
    """

    # Not a scikit-learn BaseEstimator, though it keeps its conventions: this
    # module is on the numpy inference path (``predict``), which never imports
    # scikit-learn.
    def __init__(self, l2=1.0):
        self.l2 = l2

    @staticmethod
    def _features(tile_scores):
        return safe_logit(tile_scores)

    def fit(self, X, y, ranges):
        """Fit each genre's attention vector on tracks with known labels.

        Parameters
        ----------
        X : array, shape (n_tiles, K)
            Tile scores, track after track.
        y : array of {0, 1}, shape (n_tracks, K)
        ranges : sequence of (int, int)
            Each track's rows in ``X``.

        Returns
        -------
        self
        """
        # Here, not at the top: scipy.optimize adds 45 ms to every predict that never fits.
        from scipy import optimize
        tile_scores, _ = _check_tiles(X)
        labels = np.asarray(y, dtype=float)
        _check_ranges(ranges)
        if labels.shape != (len(ranges), tile_scores.shape[1]):
            raise InputError("labels {} must be (n_tracks={}, K={})".format(
                labels.shape, len(ranges), tile_scores.shape[1]))
        features = self._features(tile_scores)
        K = tile_scores.shape[1]
        self.weights_ = np.zeros((K, features.shape[1]))
        for k in range(K):
            result = optimize.minimize(self._loss, np.zeros(features.shape[1]), jac=True,
                                       method="L-BFGS-B",
                                       args=(features, tile_scores[:, k], ranges, labels[:, k]))
            self.weights_[k] = result.x
        return self

    def _loss(self, u, features, scores, ranges, y):
        """Cross-entropy of the pooled scores plus the L2 penalty, and its gradient."""
        loss, grad = 0.5 * self.l2 * u.dot(u), self.l2 * u
        for (start, stop), target in zip(ranges, y):
            x, s = features[start:stop], scores[start:stop]
            a = softmax(x.dot(u))
            p = np.clip(a.dot(s), _EPS, 1 - _EPS)
            loss -= target * np.log(p) + (1 - target) * np.log(1 - p)
            # dL/dp * dp/du, with dp/de_i = a_i (s_i - p) for the logits e = x u.
            grad += (p - target) / (p * (1 - p)) * (a * (s - p)).dot(x)
        return loss, grad

    def attention(self, tile_scores, ranges):
        """Each tile's weight per genre, shape (n_tiles, K); each track's weights sum to 1."""
        tile_scores, _ = _check_tiles(tile_scores)
        _check_ranges(ranges)
        logits = self._features(tile_scores).dot(self.weights_.T)
        weights = np.zeros_like(tile_scores)
        for start, stop in ranges:
            weights[start:stop] = softmax(logits[start:stop], axis=0)
        return weights

    def predict(self, X, ranges):
        """Attention-weighted mean of each track's tile scores ``X``, shape (n_tracks, K)."""
        weighted = self.attention(X, ranges) * np.asarray(X, dtype=float)
        return np.array([weighted[start:stop].sum(axis=0) for start, stop in ranges])
