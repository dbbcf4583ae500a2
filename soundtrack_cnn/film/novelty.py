"""How unlike the training collection a tile is, and where "unlike" begins.

A tile is summarised by the mean of each of its first 13 MFCCs over its
sounding frames and the log of their standard deviations (its average timbre
and how much it moves: 26 numbers; the log, because how much a coefficient
moves varies over orders of magnitude between steady noise and music), and
scored by its distance to the nearest of the run's training tiles'
summaries.  The threshold is the distance that a given share
(1% by default) of held-out tiles exceed: the run's validation tiles, and
training tiles scored against the other tracks' tiles only (leave one track
out), so about 1% of new music like the collection's is flagged, whatever the
collection.  Dialogue, effects, noise and silence sit far from a music
collection's timbre and are flagged (``bench/bench_film.py`` measures how
well on synthesised speech).

The summaries of the training tiles are computed when a film is analysed,
from the run's feature store, and never written into the run folder: reading
a run leaves it as it was.
"""
import numpy as np

from ..errors import InputError
from ..experiment.tracksets import track_sets
from .source import tile_statistics

__all__ = ["Novelty", "run_tiles", "summaries", "ordinal"]

#: Training tiles read at most (evenly spaced): bounds the cost for big collections.
MAX_TRAINING_TILES = 20000
#: Training tiles scored against the other tracks' to calibrate the threshold, at most.
MAX_HELD_OUT = 2000
#: Tiles read from the store at a time.
CHUNK = 1024


def run_tiles(run_dir):
    """The feature store of a run and its training and validation tile rows.

    Read through the run record's owner (:func:`soundtrack_cnn.experiment.tracksets.track_sets`),
    which checks ``experiment.json`` and the store's tiles.

    Returns
    -------
    store : FeatureStore
    rows : dict
        ``{"train": ndarray of int, "valid": ndarray of int}``.
    groups : ndarray of int
        Each store tile's track (its index among the store's tracks).
    """
    store, _, sets = track_sets(run_dir)
    rows = {}
    for split in ("train", "valid"):
        rows[split] = sets[split].rows
        if len(rows[split]) == 0:
            raise InputError("{}: the run has no {} tiles to calibrate the in-distribution "
                             "flag on".format(run_dir, split))
    groups = np.concatenate([np.full(t.stop - t.start, i) for i, t in enumerate(store.ok_tracks)]
                            or [[]]).astype(int)
    return store, rows, groups


#: MFCCs a summary keeps: the spectral envelope (timbre).  The higher ones
#: resolve pitch and differ from track to track; with all 40, synthesised speech
#: sat inside the demo collection's music (bench/bench_film.py: recall 0 vs 1).
COEFFICIENTS = 13
# Keeps the log finite for a coefficient that does not move at all (digital silence).
_MIN_STD = 1e-3


def summaries(statistics, n_coefficients=COEFFICIENTS):
    """Tile summaries from :func:`~soundtrack_cnn.film.source.tile_statistics`.

    The means of the first ``n_coefficients`` MFCCs and the logs of their
    standard deviations.

    Examples
    --------
    >>> summaries(np.array([[1.0, 2.0, 1.0, 0.0]]), n_coefficients=2).round(3).tolist()
    [[1.0, 2.0, 0.001, -6.908]]
    """
    statistics = np.asarray(statistics, dtype=np.float64)
    half = statistics.shape[1] // 2
    n = min(n_coefficients, half)
    return np.concatenate([statistics[:, :n],
                           np.log(statistics[:, half:half + n] + _MIN_STD)], axis=1)


def _statistics(tiles, rows, silence_db, settings):
    return np.concatenate([tile_statistics(tiles[rows[start:start + CHUNK]], silence_db, settings)
                           for start in range(0, len(rows), CHUNK)])



def ordinal(n):
    """``n`` as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st...

    Examples
    --------
    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '103rd', '111th']
    """
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "{}{}".format(n, suffix)


class Novelty(object):
    """Distance of tile summaries to their nearest training summaries, with a calibrated threshold.

    Summaries are standardised by the training summaries' mean and standard
    deviation; a tile's distance is the Euclidean distance to its ``k``-th
    nearest training summary (a nearest-neighbour detector: a collection of
    several kinds of music is several clouds, which one mean and covariance
    would blur into one).

    Parameters
    ----------
    quantile : float
        Share of validation tiles that stay under the threshold (0.99: about
        1% of music like the collection's is flagged).
    k : int
        Which nearest neighbour counts (3: one stray training tile is not enough).

    Attributes
    ----------
    reference_ : ndarray, shape (n_train, d)
        The standardised training summaries.
    mean_, scale_ : ndarray, shape (d,)
    threshold_ : float
        Distances above it are out of distribution.
    valid_distances_ : ndarray, shape (n_valid,)
    n_train_, n_valid_ : int
    n_held_out_ : int
        Tiles the threshold was calibrated on.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> def tiles(n, shift=0):  # means, then standard deviations
    ...     return np.c_[rng.randn(n, 2) + shift, np.exp(rng.randn(n, 2) + shift)]
    >>> novelty = Novelty().fit(tiles(2000), tiles(1000))
    >>> flags = novelty.in_distribution(np.vstack([tiles(1000), tiles(10, shift=8)]))
    >>> round(float(1 - flags[:1000].mean()), 2), bool(flags[1000:].any())
    (0.01, False)
    """

    def __init__(self, quantile=0.99, k=3):
        self.quantile = quantile
        self.k = k

    def fit(self, train, valid, groups=None):
        """Keep the training summaries; set the threshold on held-out tiles.

        Parameters
        ----------
        train, valid : array, shape (n, 2 * n_mfcc)
            :func:`~soundtrack_cnn.film.source.tile_statistics` of tiles.
        groups : array, shape (n_train,), optional
            Each training tile's track.  Given, the threshold is also
            calibrated on training tiles scored against the *other* tracks'
            tiles (leave one track out; at most :data:`MAX_HELD_OUT` of them):
            a validation split of a few tracks alone gives a noisy 99th
            percentile.

        Returns
        -------
        self
        """
        if not 0 < self.quantile < 1:
            raise InputError("quantile must be in (0, 1), got {!r}".format(self.quantile))
        train = summaries(train)
        # Training tiles without a sounding frame describe no music.
        keep = ~np.isnan(train).any(axis=1)
        train = train[keep]
        if len(train) < self.k or len(valid) < 1:
            raise InputError("the in-distribution flag needs at least {} training tiles and "
                             "1 validation tile, got {} and {}".format(self.k, len(train),
                                                                        len(valid)))
        self.mean_ = train.mean(axis=0)
        std = train.std(axis=0)
        # A constant summary (never the case for real MFCCs) must not divide by zero.
        self.scale_ = np.where(std > 0, std, 1.0)
        self.reference_ = (train - self.mean_) / self.scale_
        self._norms = (self.reference_ ** 2).sum(axis=1)
        held_out = self.distance(valid)
        self.valid_distances_ = held_out
        if groups is not None and len(np.unique(np.asarray(groups)[keep])) > self.k:
            groups = np.asarray(groups)[keep]
            rows = np.linspace(0, len(train) - 1, min(len(train), MAX_HELD_OUT)).astype(int)
            held_out = np.concatenate([held_out, self._kth(self.reference_[rows], groups[rows],
                                                           groups)])
        # A held-out tile without a sounding frame is silence, judged elsewhere.
        held_out = held_out[np.isfinite(held_out)]
        self.threshold_ = float(np.quantile(held_out, self.quantile))
        self.n_train_, self.n_valid_, self.n_held_out_ = len(train), len(valid), len(held_out)
        return self

    def _kth(self, z, groups=None, reference_groups=None):
        """Distance of standardised summaries to the k-th nearest reference (other tracks only)."""
        result = np.empty(len(z))
        # Blocks of rows keep the (rows x n_train) distance matrix small.
        for start in range(0, len(z), 256):
            block = z[start:start + 256]
            squared = (block ** 2).sum(axis=1)[:, None] + self._norms[None] \
                - 2 * block.dot(self.reference_.T)
            if groups is not None:
                squared[groups[start:start + 256, None] == reference_groups[None]] = np.inf
            result[start:start + 256] = np.sqrt(np.maximum(
                np.partition(squared, self.k - 1, axis=1)[:, self.k - 1], 0))
        return result

    def distance(self, statistics):
        """Distance of each tile (its statistics) to the ``k``-th nearest training tile, shape (n,)."""
        z = (summaries(statistics) - self.mean_) / self.scale_
        unknown = np.isnan(z).any(axis=1)
        distance = np.full(len(z), np.inf)
        distance[~unknown] = self._kth(z[~unknown])
        return distance

    def in_distribution(self, statistics):
        """Whether each tile (its statistics) is at or under the threshold, shape (n,)."""
        return self.distance(statistics) <= self.threshold_

    @classmethod
    def from_run(cls, run_dir, settings, silence_db=-70.0, quantile=0.99):
        """Fitted on a run's training tiles, thresholded on its validation tiles.

        Parameters
        ----------
        run_dir : str
        settings : FeatureSettings
            The model's; the store must have been made with them.
        silence_db : float
            Frames quieter than this are left out of the summaries, as in the film's.
        quantile : float
        """
        store, rows, groups = run_tiles(run_dir)
        settings.check_same(store.settings, what="the feature store {}".format(store.path))
        train = rows["train"]
        if len(train) > MAX_TRAINING_TILES:
            train = train[np.linspace(0, len(train) - 1, MAX_TRAINING_TILES).astype(int)]
        return cls(quantile).fit(_statistics(store.tiles, train, silence_db, settings),
                                 _statistics(store.tiles, rows["valid"], silence_db, settings),
                                 groups=groups[train])

    def to_dict(self):
        return {"summary": "mean and log std of the first {} MFCCs over the tile's sounding "
                           "frames, standardised".format(COEFFICIENTS),
                "distance": "to the training tile with the {} nearest summary".format(
                    ordinal(self.k)),
                "threshold": round(self.threshold_, 4), "quantile": self.quantile,
                "calibrated_on": "validation tiles and training tiles against the other "
                                 "tracks' ({} tiles)".format(self.n_held_out_),
                "valid_tiles_over_threshold": round(float(
                    (self.valid_distances_ > self.threshold_).mean()), 4),
                "n_train_tiles": self.n_train_, "n_valid_tiles": self.n_valid_}
