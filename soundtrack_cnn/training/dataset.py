"""A lazy, normalising view of tiles, so training never holds all tiles in RAM.

nolearn's ``BatchIterator`` only slices ``X[i:j]``; a :class:`TileView` turns
each slice into a gather from the memory-mapped feature store plus the
normalisation, one batch at a time.  Sub-views (``view[rows]`` with an index
array) are cheap: they compose indices instead of copying tiles, so ten
specialists share one set of tiles.

A view that knows each row's track (``groups``) can also serve tiles that
start *between* stored tiles: :meth:`TileView.shifted` moves each row's start
``offset`` frames later, joining the end of a stored tile to the start of the
next tile of the same track.  The store keeps one extraction at the study's
hop; tiles at a shorter hop, or shifted at random every epoch
(:mod:`soundtrack_cnn.training.batches`), are views of it.
"""
import numpy as np

from ..errors import InputError

__all__ = ["TileView", "hop_view"]


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
    groups : array, shape (len(indices),), optional
        Each row's track.  A row whose next row in the view is the next
        stored tile of the same track has a successor, which
        :meth:`shifted` joins it to.
    offsets : array of int, shape (len(indices),), optional
        Frames each row starts after its stored tile's start (default 0; see
        :meth:`shifted`).

    Attributes
    ----------
    successors : ndarray of int or None
        For each row, the row of ``tiles`` holding the next stored tile of
        the same track, or -1 (the track's last tile); None without ``groups``.

    Examples
    --------
    >>> view = TileView(np.zeros((10, 1, 40, 100), np.float32), indices=[3, 5])
    >>> view.shape, view[np.array([1])].shape
    ((2, 1, 40, 100), (1, 1, 40, 100))
    >>> TileView(np.zeros((4, 1, 2, 3)), groups=["a", "a", "a", "b"]).successors.tolist()
    [1, 2, -1, -1]
    """

    def __init__(self, tiles, indices=None, normalizer=None, groups=None, offsets=None,
                 successors=None):
        indices = np.arange(len(tiles)) if indices is None else np.asarray(indices, np.int64)
        if isinstance(tiles, TileView) and tiles.normalizer is None:
            # A view of a plain view reads straight from the underlying tiles,
            # and keeps what it knows of the rows it takes.
            if groups is None and tiles.groups is not None:
                groups, successors = tiles.groups[indices], tiles.successors[indices]
            if offsets is None and tiles.offsets is not None:
                offsets = tiles.offsets[indices]
            tiles, indices = tiles.tiles, tiles.indices[indices]
        self.tiles = tiles
        self.indices = indices
        self.normalizer = normalizer
        self.groups = None if groups is None else np.asarray(groups)
        if self.groups is not None and len(self.groups) != len(indices):
            raise InputError("groups has {} entries for {} rows".format(len(self.groups),
                                                                       len(indices)))
        if self.groups is not None and successors is None:
            same = (self.groups[1:] == self.groups[:-1]) & (indices[1:] == indices[:-1] + 1)
            successors = np.append(np.where(same, indices[1:], -1), -1)
        self.successors = None if successors is None else np.asarray(successors, np.int64)
        self.offsets = None if offsets is None else np.asarray(offsets, np.int64)

    def __len__(self):
        return len(self.indices)

    @property
    def shape(self):
        return (len(self),) + tuple(self.tiles.shape[1:])

    def _take(self, rows):
        """The per-row arrays of ``rows`` (None where the view has none)."""
        return [None if values is None else values[rows]
                for values in (self.groups, self.offsets, self.successors)]

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._load(self.indices[key], *self._take(key)[1:])
        rows = np.asarray(key)
        if rows.ndim == 0:
            return self[rows.reshape(1)].to_array()[0]
        groups, offsets, successors = self._take(rows)
        return TileView(self.tiles, self.indices[rows], self.normalizer, groups, offsets,
                        successors)

    def shifted(self, offsets):
        """The same rows, each starting ``offsets`` frames later within its track.

        Parameters
        ----------
        offsets : array of int, shape (len(self),)
            In ``[0, n_frames)``; 0 for a row without a successor (a track's
            last tile, which has nothing after it to join).

        Returns
        -------
        view : TileView

        Examples
        --------
        >>> tiles = np.arange(3 * 4, dtype=np.float32).reshape(3, 1, 1, 4)  # frames 0..11
        >>> TileView(tiles, groups=[0, 0, 0]).shifted([1, 3, 0]).to_array()[:, 0, 0].tolist()
        [[1.0, 2.0, 3.0, 4.0], [7.0, 8.0, 9.0, 10.0], [8.0, 9.0, 10.0, 11.0]]
        """
        if self.successors is None:
            raise InputError("shifted tiles need each row's track: make the view with groups")
        offsets = np.asarray(offsets, np.int64)
        if offsets.shape != (len(self),) or (offsets < 0).any() \
                or (offsets >= self.tiles.shape[-1]).any():
            raise InputError("offsets must be {} frame counts in [0, {})".format(
                len(self), self.tiles.shape[-1]))
        if ((offsets > 0) & (self.successors < 0)).any():
            raise InputError("a track's last tile cannot be shifted: nothing follows it")
        return TileView(self.tiles, self.indices, self.normalizer, self.groups, offsets,
                        self.successors)

    def _gather(self, rows):
        # Reading in ascending order keeps access to the memory map sequential.
        order = np.argsort(rows, kind="stable")
        batch = np.empty((len(rows),) + tuple(self.tiles.shape[1:]), np.float32)
        batch[order] = self.tiles[rows[order]]
        return batch

    def _load(self, rows, offsets=None, successors=None):
        batch = self._gather(rows)
        moved = np.flatnonzero(offsets) if offsets is not None else []
        if len(moved):
            following = self._gather(successors[moved])
            for position, (index, offset) in enumerate(zip(moved, offsets[moved])):
                batch[index, ..., :-offset] = batch[index, ..., offset:]
                batch[index, ..., -offset:] = following[position, ..., :offset]
        return batch if self.normalizer is None else self.normalizer.transform(batch)

    def to_array(self):
        """All rows of the view as one normalised float32 array."""
        return self[:]


def hop_view(view, hop):
    """Every tile of the view's tracks that starts a multiple of ``hop`` frames into a stored tile.

    With the study's hop (``hop == n_frames``) this is the view itself; with
    a quarter of it, about four times as many overlapping tiles, all views
    of the same stored ones.

    Parameters
    ----------
    view : TileView
        With ``groups``.
    hop : int
        Frames between the starts of consecutive tiles.

    Returns
    -------
    tiles : TileView
        Track after track, in time order.
    rows : ndarray of int
        For each tile, the row of ``view`` it starts in (to carry targets
        and tracks along: ``y[rows]``, ``groups[rows]``).

    Examples
    --------
    >>> tiles = np.arange(3 * 4, dtype=np.float32).reshape(3, 1, 1, 4)
    >>> view, rows = hop_view(TileView(tiles, groups=[0, 0, 1]), 2)
    >>> rows.tolist(), view.offsets.tolist()
    ([0, 0, 1, 2], [0, 2, 0, 0])
    """
    n_frames = view.tiles.shape[-1]
    if not 0 < hop <= n_frames:
        raise InputError("hop must be in [1, {}], got {!r}".format(n_frames, hop))
    if view.successors is None:
        raise InputError("tiles at another hop need each row's track: make the view with groups")
    starts = np.arange(0, n_frames, hop)
    counts = np.where(view.successors >= 0, len(starts), 1)
    rows = np.repeat(np.arange(len(view)), counts)
    offsets = np.concatenate([starts[:count] for count in counts]) if len(view) else rows
    return view[rows].shifted(offsets), rows
