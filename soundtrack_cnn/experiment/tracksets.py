"""A run's record (``experiment.json``) and its tracks by split, with their store rows.

``experiment.json`` fixes which store, genres and track splits a run uses, so
that a resumed or re-evaluated run sees exactly the same data.
"""
import os

import numpy as np

from ..training.dataset import TileView
from ..files import read_json
from ..collection.labels import label_matrix
from ..collection.store import FeatureStore

__all__ = ["TrackSet", "read_run_record", "track_sets", "fit_data"]


class TrackSet(object):
    """The tracks of one split and their rows in the feature store.

    Attributes
    ----------
    track_ids, paths : list of str
    tags : list of tuple of str
    labels : ndarray, shape (n_tracks, K)
    rows : ndarray of int
        Store tile rows of all these tracks, track after track.
    ranges : list of (int, int)
        Each track's [start, stop) within ``rows``.
    """

    def __init__(self, tracks, genres):
        self.track_ids = [t.track_id for t in tracks]
        self.paths = [t.path for t in tracks]
        self.tags = [tuple(t.tags) for t in tracks]
        self.labels = label_matrix(self.tags, genres)
        self.rows = np.concatenate([np.arange(t.start, t.stop) for t in tracks] or [[]]).astype(int)
        sizes = [t.stop - t.start for t in tracks]
        stops = np.cumsum(sizes)
        self.ranges = [(int(stop - size), int(stop)) for stop, size in zip(stops, sizes)]

    def tile_labels(self):
        """Each tile's labels (its track's), shape (n_tiles, K)."""
        return np.repeat(self.labels, [stop - start for start, stop in self.ranges], axis=0)

    def tile_groups(self):
        """Each tile's track id, shape (n_tiles,)."""
        return np.repeat(self.track_ids, [stop - start for start, stop in self.ranges])


def read_run_record(run_dir):
    """The contents of ``RUN/experiment.json``; a folder without one is an InputError.

    Examples
    --------
    >>> read_run_record("/nonexistent")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent/experiment.json: cannot read this run record (No such file or directory)
    """
    return read_json(os.path.join(run_dir, "experiment.json"), what="run record")


def track_sets(run_dir):
    """Store, genres and ``{split: TrackSet}`` of a run folder."""
    record = read_run_record(run_dir)
    store = FeatureStore(record["store"])
    genres = record["genres"]
    by_split = {name: [t for t in store.ok_tracks if record["splits"].get(t.track_id) == name]
                for name in ("train", "valid", "test")}
    return store, genres, {name: TrackSet(tracks, genres) for name, tracks in by_split.items()}


def fit_data(store, sets):
    """What a model of the run is fitted on: tiles, labels and tracks of train + valid.

    Returns
    -------
    X : TileView
        The training tiles, then the validation tiles (raw, memory-mapped).
    Y : ndarray, shape (n_tiles, K)
    groups : ndarray of str
        Each tile's track.
    validation : sklearn.model_selection.PredefinedSplit
        The run's own validation tracks, as the estimators' ``validation``.
    """
    from sklearn.model_selection import PredefinedSplit
    train, valid = sets["train"], sets["valid"]
    X = TileView(store.tiles, np.concatenate([train.rows, valid.rows]))
    Y = np.concatenate([train.tile_labels(), valid.tile_labels()])
    groups = np.concatenate([train.tile_groups(), valid.tile_groups()])
    validation = PredefinedSplit(np.repeat([-1, 0], [len(train.rows), len(valid.rows)]))
    return X, Y, groups, validation
