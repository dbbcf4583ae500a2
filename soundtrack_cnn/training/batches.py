"""The order in which training tiles reach the network, and what may change on the way.

The study's listing uses nolearn's ``BatchIterator``, which hands out the rows
in the order given (here: the store's, track after track, so a batch holds
tiles of two or three tracks).  The tutorial the study was built from
shuffled its data once at load time.  Both, a fresh shuffle every epoch,
and class-balanced sampling (an option beyond both) are available through
:func:`make_batch_iterator`; so is augmentation of the training tiles
(:class:`AugmentingBatchIterator`, options beyond the study, all off unless
asked for).  Validation and test tiles are never augmented: nolearn scores
them with its own ``batch_iterator_test``.
"""
import numpy as np
from nolearn.lasagne import BatchIterator

from ..errors import InputError

__all__ = ["SHUFFLES", "AUGMENTATIONS", "make_batch_iterator", "ShufflingBatchIterator",
           "AugmentingBatchIterator"]

#: Orders of the training tiles: as stored (the study's listing), shuffled
#: once (the tutorial's load-time shuffle), shuffled again every epoch, or
#: drawn every epoch with replacement so that a specialist's positive and
#: negative tiles are equally likely ('balanced').
SHUFFLES = ("none", "once", "epoch", "balanced")

#: Augmentations of the training tiles (see :class:`AugmentingBatchIterator`).
AUGMENTATIONS = ("hop", "time_mask", "coef_mask", "mixup", "gain_db")


def make_batch_iterator(batch_size, shuffle="none", seed=0, augment=None):
    """The training batch iterator for ``shuffle`` (one of :data:`SHUFFLES`).

    Parameters
    ----------
    batch_size : int
    shuffle : str
        One of :data:`SHUFFLES`.
    seed : int
    augment : dict, optional
        Keyword arguments of :class:`AugmentingBatchIterator` (names in
        :data:`AUGMENTATIONS`); None or empty for none.

    Examples
    --------
    >>> type(make_batch_iterator(64)).__name__, type(make_batch_iterator(64, "epoch")).__name__
    ('BatchIterator', 'ShufflingBatchIterator')
    >>> type(make_batch_iterator(64, augment={"time_mask": 10})).__name__
    'AugmentingBatchIterator'
    """
    if shuffle not in SHUFFLES:
        raise InputError("shuffle must be one of {}, got {!r}".format(SHUFFLES, shuffle))
    if augment:
        return AugmentingBatchIterator(batch_size, shuffle=shuffle, seed=seed, **augment)
    if shuffle == "none":
        return BatchIterator(batch_size=batch_size)
    return ShufflingBatchIterator(batch_size, shuffle=shuffle, seed=seed)


class ShufflingBatchIterator(BatchIterator):
    """nolearn's ``BatchIterator`` over a permutation of the rows, without copying them.

    nolearn's own ``shuffle=True`` shuffles arrays in place, which a lazy
    :class:`TileView` cannot do; here the view is re-indexed instead.

    Parameters
    ----------
    batch_size : int
    shuffle : {'once', 'epoch', 'balanced'}
        Draw one permutation for the whole fit (the tutorial's shuffle at load
        time), a new one every epoch, or every epoch as many rows as there
        are, with replacement, each class (target above or below .5) drawn
        with probability one half.  'balanced' needs one target column (a
        specialist's); an epoch then holds about as many positive tiles as
        negative ones, however rare the genre.
    seed : int

    Examples
    --------
    >>> batches = ShufflingBatchIterator(2, shuffle="once", seed=0)
    >>> first = [yb.tolist() for _, yb in batches(np.arange(4), np.arange(4))]
    >>> again = [yb.tolist() for _, yb in batches(np.arange(4), np.arange(4))]
    >>> first == again, sorted(sum(first, []))
    (True, [0, 1, 2, 3])
    """

    orders = SHUFFLES[1:]

    def __init__(self, batch_size, shuffle="epoch", seed=0):
        if shuffle not in self.orders:
            raise InputError("shuffle must be one of {}, got {!r}".format(self.orders, shuffle))
        super(ShufflingBatchIterator, self).__init__(batch_size)
        self.order = shuffle
        self.seed = seed
        self.permutation = None

    def _restart(self):
        """A new fit: the random streams start again from the seed."""
        self.random = np.random.RandomState(self.seed)

    def __call__(self, X, y=None):
        if self.permutation is None or self.order != "once" or len(self.permutation) != len(X):
            if self.permutation is None or len(self.permutation) != len(X):
                self._restart()
            self.permutation = (self._balanced(y) if self.order == "balanced" else
                                np.arange(len(X)) if self.order == "none" else
                                self.random.permutation(len(X)))
        self.X = X[self.permutation]
        self.y = None if y is None else y[self.permutation]
        return self

    def _balanced(self, y):
        """Rows drawn with replacement, each class with probability one half."""
        y = np.asarray(y)
        if y.ndim > 1 and y.shape[1] != 1:
            raise InputError("shuffle='balanced' needs one target column (a specialist), "
                             "got {}".format(y.shape[1]))
        positive = y.reshape(len(y)) > .5
        n_positive = int(positive.sum())
        if n_positive in (0, len(y)):
            return self.random.permutation(len(y))
        weights = np.where(positive, .5 / n_positive, .5 / (len(y) - n_positive))
        return self.random.choice(len(y), size=len(y), p=weights)

    def __getstate__(self):
        return dict(super(ShufflingBatchIterator, self).__getstate__(), permutation=None)


class AugmentingBatchIterator(ShufflingBatchIterator):
    """Training tiles in any order of :data:`SHUFFLES`, changed at random on every visit.

    Each augmentation keeps what a tile is -- ten seconds of one track's MFCC
    frames, coefficients on axis 2 and time on axis 3 -- and its random draws
    come from their own stream (seeded by ``seed``), so turning one on leaves
    the order of the rows as it was.  The epoch keeps its size (one tile per
    row), so updates per epoch, the budget and the schedules are unchanged.

    Parameters
    ----------
    batch_size : int
    shuffle : str
        One of :data:`SHUFFLES` ('none' keeps the given order).
    seed : int
    hop : int, optional
        Every epoch, each row's tile starts a random multiple of ``hop``
        frames after its stored start, running on into the next stored tile
        of the same track (a track's last tile stays where it is).  With a
        quarter of the tile this trains on four times as many distinct
        (overlapping) tiles; with 1, on any time shift within the track.
        Needs a :class:`~soundtrack_cnn.training.dataset.TileView` with ``groups``.
    time_mask, coef_mask : int
        SpecAugment's masks: a band of up to this many consecutive frames,
        and of consecutive coefficients, set to 0 (the training mean, after
        normalisation) in every tile; widths drawn uniformly from 0 up.
    mixup : float
        Beta(``mixup``, ``mixup``) weight of mixup: each tile is mixed with
        another tile of the batch *from another track* (same-track pairs are
        left alone), targets mixed with the same weight; the larger weight
        goes to the tile itself.  Needs ``groups`` as ``hop`` does.
    gain_db : float
        Each tile played up to this many dB louder or quieter (uniform): adds
        ``gain * ln(10) / 10`` to c0, the log frame energy (the study's
        ``append_energy``; the other coefficients do not change with gain).

    Examples
    --------
    >>> batches = AugmentingBatchIterator(4, time_mask=2, seed=0)
    >>> [(xb == 0).all(axis=(1, 2)).sum(axis=1).tolist()
    ...  for xb, _ in batches(np.ones((4, 1, 3, 5), np.float32), np.zeros(4))]
    [[0, 2, 2, 1]]
    """

    orders = SHUFFLES

    def __init__(self, batch_size, shuffle="none", seed=0, hop=0, time_mask=0, coef_mask=0,
                 mixup=0.0, gain_db=0.0):
        super(AugmentingBatchIterator, self).__init__(batch_size, shuffle=shuffle, seed=seed)
        for name, value in (("hop", hop), ("time_mask", time_mask), ("coef_mask", coef_mask)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise InputError("{} must be a whole number of frames >= 0, got {!r}"
                                 .format(name, value))
        if not (mixup >= 0 and gain_db >= 0):
            raise InputError("mixup and gain_db must be >= 0, got {!r} and {!r}"
                             .format(mixup, gain_db))
        self.hop = hop
        self.time_mask = time_mask
        self.coef_mask = coef_mask
        self.mixup = mixup
        self.gain_db = gain_db

    def _restart(self):
        super(AugmentingBatchIterator, self)._restart()
        self.augment_random = np.random.RandomState([self.seed, 1])

    def __call__(self, X, y=None):
        super(AugmentingBatchIterator, self).__call__(X, y)
        if (self.hop or self.mixup) and getattr(self.X, "groups", None) is None:
            raise InputError("hop and mixup need each tile's track: train on a TileView "
                             "made with groups")
        if self.hop:
            starts = -(-self.X.tiles.shape[-1] // self.hop)
            offsets = self.hop * self.augment_random.randint(0, starts, size=len(self.X))
            self.X = self.X.shifted(np.where(self.X.successors >= 0, offsets, 0))
        return self

    def __iter__(self):
        for start in range(0, self.n_samples, self.batch_size):
            rows = slice(start, start + self.batch_size)
            Xb = np.array(self.X[rows], dtype=np.float32)
            yb = None if self.y is None else np.array(self.y[rows], dtype=np.float32)
            if self.gain_db:
                Xb[:, :, 0, :] += self._c0_shift(len(Xb))[:, None, None]
            if self.mixup:
                Xb, yb = self._mix(Xb, yb, self.X.groups[rows])
            for width, axis in ((self.time_mask, 3), (self.coef_mask, 2)):
                if width:
                    self._mask(Xb, width, axis)
            yield Xb, yb

    def _c0_shift(self, n):
        """The change of each tile's (normalised) c0 for a random gain."""
        gains = self.augment_random.uniform(-self.gain_db, self.gain_db, size=n)
        normalizer = getattr(self.X, "normalizer", None)
        scale = 1.0 if normalizer is None else float(normalizer.std_[0])
        return (gains * np.log(10) / 10 / scale).astype(np.float32)

    def _mix(self, Xb, yb, groups):
        partners = self.augment_random.permutation(len(Xb))
        weights = self.augment_random.beta(self.mixup, self.mixup, size=len(Xb))
        weights = np.where(groups == groups[partners], 1.0, np.maximum(weights, 1 - weights))
        weights = weights.astype(np.float32)
        Xb = weights[:, None, None, None] * Xb + (1 - weights[:, None, None, None]) * Xb[partners]
        if yb is not None:
            w = weights.reshape((-1,) + (1,) * (yb.ndim - 1))
            yb = w * yb + (1 - w) * yb[partners]
        return Xb, yb

    def _mask(self, Xb, width, axis):
        size = Xb.shape[axis]
        widths = self.augment_random.randint(0, min(width, size) + 1, size=len(Xb))
        firsts = [self.augment_random.randint(0, size - w + 1) for w in widths]
        for tile, first, w in zip(Xb, firsts, widths):
            if axis == 3:
                tile[:, :, first:first + w] = 0
            else:
                tile[:, first:first + w, :] = 0
