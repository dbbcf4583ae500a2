"""A lazy, normalising view of tiles, so training never holds all tiles in RAM.

nolearn's ``BatchIterator`` only slices ``X[i:j]``; a :class:`TileView` turns
each slice into a gather from the memory-mapped feature store plus the
normalisation, one batch at a time.  Sub-views (``view[rows]`` with an index
array) are cheap: they compose indices instead of copying tiles, so ten
specialists share one set of tiles.
"""
import numpy as np

__all__ = ["TileView"]


class TileView(object):
    """Rows ``indices`` of ``tiles``, normalised on access.

    Parameters
    ----------
    tiles : array-like, shape (N, 1, n_mfcc, n_frames)
        Anything indexable with an integer array: an ndarray, a memmap or
        ``FeatureStore.tiles``.
    indices : array of int, optional
        Rows of ``tiles`` in this view (default: all, in order).
    normalizer : Normalizer, optional
        Fitted ``features.Normalizer`` applied to every batch.

    Examples
    --------
    >>> view = TileView(np.zeros((10, 1, 40, 100), np.float32), indices=[3, 5])
    >>> view.shape, view[np.array([1])].shape
    ((2, 1, 40, 100), (1, 1, 40, 100))
    """

    def __init__(self, tiles, indices=None, normalizer=None):
        indices = np.arange(len(tiles)) if indices is None else np.asarray(indices, np.int64)
        if isinstance(tiles, TileView) and tiles.normalizer is None:
            # A view of a plain view reads straight from the underlying tiles.
            tiles, indices = tiles.tiles, tiles.indices[indices]
        self.tiles = tiles
        self.indices = indices
        self.normalizer = normalizer

    def __len__(self):
        return len(self.indices)

    @property
    def shape(self):
        return (len(self),) + tuple(self.tiles.shape[1:])

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._load(self.indices[key])
        rows = np.asarray(key)
        if rows.ndim == 0:
            return self._load(self.indices[rows:rows + 1])[0]
        return TileView(self.tiles, self.indices[rows], self.normalizer)

    def _load(self, rows):
        # Reading in ascending order keeps access to the memory map sequential.
        order = np.argsort(rows, kind="stable")
        batch = np.empty((len(rows),) + tuple(self.tiles.shape[1:]), np.float32)
        batch[order] = self.tiles[rows[order]]
        return batch if self.normalizer is None else self.normalizer.transform(batch)

    def to_array(self):
        """All rows of the view as one normalised float32 array."""
        return self._load(self.indices)
