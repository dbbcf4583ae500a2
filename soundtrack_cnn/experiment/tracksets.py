"""A run's ``experiment.json`` (its store, genres and splits) and its tracks by split, with their store rows.

``experiment.json`` fixes which store, genres and track splits a run uses, so
that a resumed or re-evaluated run sees exactly the same data.  This module
is its one owner: :func:`write_experiment_json` seals it with a ``checksum``
(sha256 of everything else, as the model records carry), and
:func:`read_experiment_json` checks it field by field and against that checksum,
so a record edited by hand (tracks moved between splits, a genre renamed) is
refused in one line naming the file and the field, never used silently and
never a traceback.  The record also keeps the checksum of every track's tiles
(``tiles_sha256``): a track extracted again since (its file changed) would
mix nets trained on its old tiles with nets trained on its new ones, so the
run is refused, naming the tracks.  Records written before these checksums
existed are checked field by field only.
"""
import numbers
import os
import warnings

import numpy as np

from ..collection.labels import label_matrix
from ..collection.splits import SPLITS
from ..collection.store import FeatureStore
from ..errors import InputError
from ..files import read_json, write_json
from ..training.dataset import TileView
from ..training.modelfiles import seal

__all__ = ["TrackSet", "EXPERIMENT_FIELDS", "write_experiment_json", "read_experiment_json",
           "check_experiment_json", "track_sets", "fit_data", "in_distribution_reference"]

#: Every field of ``experiment.json``: what it holds, and the test its value passes.
EXPERIMENT_FIELDS = {
    "profile": ("an object with a 'name' and 'net_params'", lambda v: isinstance(v, dict) and
                isinstance(v.get("name"), str) and isinstance(v.get("net_params"), dict)),
    "store": ("a path", lambda v: isinstance(v, str) and v != ""),
    "manifest": ("a path or null", lambda v: v is None or isinstance(v, str)),
    "seed": ("an integer from 0", lambda v: isinstance(v, numbers.Integral) and
             not isinstance(v, bool) and v >= 0),
    "genres": ("a list of distinct non-empty strings", lambda v: isinstance(v, list) and v and
               all(isinstance(g, str) and g for g in v) and len(set(v)) == len(v)),
    "label_statistics": ("an object", lambda v: isinstance(v, dict)),
    "splits": ("an object of track id -> {}".format("/".join(SPLITS)), lambda v: isinstance(
        v, dict) and v and all(split in SPLITS for split in v.values())),
}
#: Optional fields (absent from records written before them).
OPTIONAL_FIELDS = {
    "tiles_sha256": ("an object of track id -> sha256", lambda v: isinstance(v, dict) and all(
        isinstance(digest, str) for digest in v.values())),
    "checksum": ("a sha256", lambda v: isinstance(v, str)),
}


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


def _record_path(run_dir):
    return os.path.join(run_dir, "experiment.json")


def check_experiment_json(record, path):
    """Raise :class:`InputError` naming ``path`` and the field, unless ``record`` is a sound run record.

    Parameters
    ----------
    record : object
        Parsed ``experiment.json``.
    path : str
        Its file, for the message.

    Examples
    --------
    >>> check_experiment_json({}, "RUN/experiment.json")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: RUN/experiment.json is damaged: field 'profile' is missing; prepare the run again in a new folder
    """
    def damaged(problem):
        return InputError("{} is damaged: {}; prepare the run again in a new folder".format(
            path, problem))

    if not isinstance(record, dict):
        raise damaged("it holds {} instead of an object".format(type(record).__name__))
    for field, (what, valid) in EXPERIMENT_FIELDS.items():
        if field not in record:
            raise damaged("field '{}' is missing".format(field))
        if not valid(record[field]):
            raise damaged("field '{}' must be {}".format(field, what))
    for field, (what, valid) in OPTIONAL_FIELDS.items():
        if field in record and not valid(record[field]):
            raise damaged("field '{}' must be {}".format(field, what))
    if "checksum" in record and record["checksum"] != seal(
            {key: value for key, value in record.items() if key != "checksum"})["checksum"]:
        raise damaged("its content does not match its checksum (edited by hand? tracks moved "
                      "between splits would mix training and test data)")


def write_experiment_json(run_dir, record):
    """Check ``record`` and write it as ``RUN/experiment.json`` with the checksums of its tiles and itself.

    The checksum of every split track's tiles is read from the store the
    record names (``tiles_sha256``), so :func:`track_sets` can tell when a
    track was extracted again.

    Examples
    --------
    >>> write_experiment_json("runs/mine", {"profile": {"name": "small", "net_params": {}},
    ...     "store": "data/store", "manifest": None, "seed": 0, "genres": ["Drama"],
    ...     "label_statistics": {}, "splits": {"t1": "train", "t2": "valid"}})  # doctest: +SKIP
    >>> read_experiment_json("runs/mine")["splits"]  # doctest: +SKIP
    {'t1': 'train', 't2': 'valid'}
    """
    path = _record_path(run_dir)
    check_experiment_json(record, path)
    stored = FeatureStore(record["store"]).records
    tiles = {track_id: stored[track_id].get("tiles_sha256") for track_id in record["splits"]
             if track_id in stored}
    write_json(path, seal(dict(record, tiles_sha256={
        track_id: digest for track_id, digest in tiles.items() if digest})))


def read_experiment_json(run_dir):
    """The checked contents of ``RUN/experiment.json``; missing or damaged is an InputError.

    Examples
    --------
    >>> read_experiment_json("/nonexistent")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent/experiment.json: cannot read this run record (No such file or directory)
    """
    path = _record_path(run_dir)
    record = read_json(path, what="run record")
    check_experiment_json(record, path)
    if "checksum" not in record or "tiles_sha256" not in record:
        warnings.warn("{} has no checksums (compatibility path `unsealed-experiment-json`, removed "
                      "in 0.4)".format(path), DeprecationWarning)
    return record


def track_sets(run_dir):
    """Store, genres and ``{split: TrackSet}`` of a run folder.

    The store is opened for training (refused while an extraction writes it
    or if it never finished) and every tile checked against its checksum.
    """
    record = read_experiment_json(run_dir)
    store = FeatureStore(record["store"])
    store.verify()
    changed = sorted(track_id for track_id, digest in record.get("tiles_sha256", {}).items()
                     if store.records.get(track_id, {}).get("tiles_sha256") != digest)
    if changed:
        raise InputError("{}: the tiles of {} track(s) changed since the run was prepared "
                         "(their files changed and were extracted again): {}; nets trained on "
                         "old and new tiles must not mix: train into a new folder".format(
                             run_dir, len(changed), ", ".join(changed[:5]) +
                             (", ..." if len(changed) > 5 else "")))
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

    Raises
    ------
    InputError
        If the run has no training or no validation track (early stopping
        and calibration need held-out tracks).
    """
    from sklearn.model_selection import PredefinedSplit
    train, valid = sets["train"], sets["valid"]
    for name, tracks in (("training", train), ("validation", valid)):
        if not len(tracks.rows):
            raise InputError("{}: the run has no {} track with tiles (splits: {}); give some "
                             "tracks the split '{}' in the manifest, or leave the split column "
                             "empty to have them drawn, and train into a new folder".format(
                                 store.path, name, ", ".join("{} {}".format(
                                     len(sets[split].track_ids), split) for split in SPLITS),
                                 "train" if name == "training" else "valid"))
    X = TileView(store.tiles, np.concatenate([train.rows, valid.rows]))
    Y = np.concatenate([train.tile_labels(), valid.tile_labels()])
    groups = np.concatenate([train.tile_groups(), valid.tile_groups()])
    validation = PredefinedSplit(np.repeat([-1, 0], [len(train.rows), len(valid.rows)]))
    return X, Y, groups, validation


#: Tiles whose statistics are computed at a time (16 MB of study tiles).
_CHUNK = 1024
#: The silence threshold of a run's in-distribution reference: the film's default.
REFERENCE_SILENCE_DB = -70.0


def in_distribution_reference(run_dir, silence_db=REFERENCE_SILENCE_DB):
    """The run's in-distribution reference, fitted on its training and validation tiles.

    At most :data:`~soundtrack_cnn.film.novelty.MAX_TRAINING_TILES` training
    and :data:`~soundtrack_cnn.film.novelty.MAX_VALID_TILES` validation tiles
    are read (evenly spaced), so the reference is bounded whatever the
    collection.  :func:`~soundtrack_cnn.experiment.pipeline.evaluate_run`
    writes it (``RUN/in-distribution.json``); ``film`` reads it.

    Parameters
    ----------
    run_dir : str
    silence_db : float
        Frames quieter than this are left out of the tiles' summaries.

    Returns
    -------
    novelty : Novelty
        Fitted (:class:`soundtrack_cnn.film.novelty.Novelty`).
    """
    from ..film.novelty import MAX_TRAINING_TILES, MAX_VALID_TILES, Novelty
    from ..film.source import tile_statistics
    store, _, sets = track_sets(run_dir)
    rows = {}
    for split, most in (("train", MAX_TRAINING_TILES), ("valid", MAX_VALID_TILES)):
        rows[split] = sets[split].rows
        if len(rows[split]) == 0:
            raise InputError("{}: the run has no {} tiles to calibrate the in-distribution "
                             "flag on".format(run_dir, split))
        if len(rows[split]) > most:
            rows[split] = rows[split][np.linspace(0, len(rows[split]) - 1, most).astype(int)]
    # Each store tile's track (its index among the store's tracks): the threshold is
    # also calibrated on training tiles scored against the other tracks' only.
    groups = np.concatenate([np.full(t.stop - t.start, i) for i, t in enumerate(store.ok_tracks)]
                            or [[]]).astype(int)

    def statistics(split):
        return np.concatenate([tile_statistics(store.tiles[rows[split][start:start + _CHUNK]],
                                               silence_db, store.settings)
                               for start in range(0, len(rows[split]), _CHUNK)])

    novelty = Novelty().fit(statistics("train"), statistics("valid"),
                            groups=groups[rows["train"]])
    novelty.silence_db_ = float(silence_db)
    return novelty
