"""The order in which training tiles reach the network: nolearn batch iterators.

The study's listing uses nolearn's ``BatchIterator``, which hands out the rows
in the order given (here: the store's, track after track, so a batch holds
tiles of two or three tracks).  The tutorial the study was built from
shuffled its data once at load time.  Both, a fresh shuffle every epoch,
and class-balanced sampling (an option beyond both) are available through
:func:`make_batch_iterator`.
"""
import numpy as np
from nolearn.lasagne import BatchIterator

from ..errors import InputError

__all__ = ["SHUFFLES", "make_batch_iterator", "ShufflingBatchIterator"]

#: Orders of the training tiles: as stored (the study's listing), shuffled
#: once (the tutorial's load-time shuffle), shuffled again every epoch, or
#: drawn every epoch with replacement so that a specialist's positive and
#: negative tiles are equally likely ('balanced').
SHUFFLES = ("none", "once", "epoch", "balanced")


def make_batch_iterator(batch_size, shuffle="none", seed=0):
    """The training batch iterator for ``shuffle`` (one of :data:`SHUFFLES`).

    Examples
    --------
    >>> type(make_batch_iterator(64)).__name__, type(make_batch_iterator(64, "epoch")).__name__
    ('BatchIterator', 'ShufflingBatchIterator')
    """
    if shuffle not in SHUFFLES:
        raise InputError("shuffle must be one of {}, got {!r}".format(SHUFFLES, shuffle))
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

    def __init__(self, batch_size, shuffle="epoch", seed=0):
        if shuffle not in SHUFFLES[1:]:
            raise InputError("shuffle must be one of {}, got {!r}".format(SHUFFLES[1:], shuffle))
        super(ShufflingBatchIterator, self).__init__(batch_size)
        self.order = shuffle
        self.seed = seed
        self.permutation = None

    def __call__(self, X, y=None):
        if self.permutation is None or self.order != "once" or len(self.permutation) != len(X):
            if self.permutation is None or len(self.permutation) != len(X):
                self.random = np.random.RandomState(self.seed)
            self.permutation = (self._balanced(y) if self.order == "balanced"
                                else self.random.permutation(len(X)))
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
