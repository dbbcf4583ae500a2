"""The study's ensemble of binary specialists, and the single-net baseline, as estimators.

Of the two ways to learn multi-label data -- one net with a K-long binary
target, or the input duplicated for each label to train K independent binary
classifiers -- the study takes the second: one specialist per genre, each
trained on *all* tiles with its own 0/1 target, pickled, and aggregated by
averaging tile scores over a track.  :class:`MultiLabelNet` is the first way,
kept as the study's point of comparison.

Both follow scikit-learn's estimator contract (``clone``, ``get_params``,
pipelines): ``__init__`` only stores parameters, ``fit(X, y, groups=None)``
returns self, fitted state ends in ``_``.  The validation tracks that early
stopping watches are chosen by the ``validation`` parameter from ``groups``
(one group per track), so they travel with the estimator.  With ``run_dir``,
every trained net is checkpointed there as soon as it is done
(:mod:`soundtrack_cnn.training.checkpoint`); ``warm_start=True`` resumes such a folder.
"""
import os
import warnings

import lasagne.random
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils.validation import check_is_fitted

from ..audio.features import FeatureSettings, Normalizer
from ..collection.splits import TrackSplit
from ..collection.store import FeatureStore
from ..errors import InputError
from ..files import json_ready
from ..parallel.pool import effective_n_jobs
from ..scoring.pooling import track_ranges
from ..scoring.prediction import TileScorer, TrackPrediction
from ..stack.compat import worker_compile_cache
from ..stack.threads import one_thread
from .callbacks import early_stopping_of
from .checkpoint import ModelFolder, fingerprint
from .dataset import TileView
from .network import STUDY_HYPERPARAMETERS, build_net
from .modelfiles import net_names

__all__ = ["SpecialistEnsemble", "MultiLabelNet", "TrackPrediction", "train_net",
           "nets_at_once"]


def nets_at_once(n_nets, n_jobs=None, client=None):
    """How many of ``n_nets`` nets train at once on this machine: the rule of ``fit``.

    A Dask ``client`` takes the nets off this machine (1 here); otherwise
    ``n_jobs`` processes, as in scikit-learn, but never more than the nets.

    Examples
    --------
    >>> nets_at_once(10, n_jobs=4), nets_at_once(1, n_jobs=4), nets_at_once(10)
    (4, 1, 1)
    """
    return 1 if client is not None else min(effective_n_jobs(n_jobs), n_nets)


def train_net(tiles, rows, y, valid, groups, name, seed, hyperparameters, normalizer,
              verbose=0, trunk=None, freeze_conv=False):
    """Train one net of a model: the unit of work, in this process or on a Dask worker.

    The sequential loop of ``fit`` and the Dask task (``fit`` with a
    ``client``) call this same function with the same arguments, so a
    specialist gets the same weights wherever it is trained.

    Parameters
    ----------
    tiles : array-like or str
        Raw tiles, shape (N, 1, n_mfcc, n_frames), or the path of a feature
        store, memory-mapped here (how a worker reads the tiles without their
        passing through the scheduler).
    rows : array of int or None
        The rows of ``tiles`` the model trains and validates on (None: all).
    y : array of {0, 1}, shape (len(rows), n_outputs)
        Targets of those rows.
    valid : array of bool, shape (len(rows),)
        The rows of the validation tracks (early stopping watches them).
    groups : array, shape (len(rows),)
        Each row's track.
    name : str
        The net's name (a genre, or ``'multilabel'``), for messages.
    seed : int
        Seeds Lasagne's initial weights, the dropout streams and the batches.
    hyperparameters : dict
        All of :func:`soundtrack_cnn.training.network.build_net`'s hyperparameters.
    normalizer : Normalizer
        Fitted on the training tiles; applied to every batch.
    verbose : int
        1 prints nolearn's line per epoch.
    trunk : Trunk, optional
        Start conv1..hidden6 from these weights (fine-tuning; a
        :class:`soundtrack_cnn.beyond.trunk.Trunk`); the output layer
        starts from its seeded random weights.
    freeze_conv : bool
        With ``trunk``: leave the convolutional blocks as the trunk has them.

    Returns
    -------
    net : nolearn.lasagne.NeuralNet
    summary : dict
        ``best_valid_loss, best_epoch, epochs_run, stopped_early, history``.
    """
    if isinstance(tiles, str):
        tiles = FeatureStore(tiles).tiles
    # Augmentations that read each tile's track (hop, mixup) get the tracks; without
    # augmentation the view is the study's, exactly as before.
    view = TileView(tiles, rows, normalizer=normalizer,
                    groups=np.asarray(groups) if hyperparameters.get("augment") else None)
    global_rng = lasagne.random.get_rng()
    # Lasagne draws initial weights and the dropout streams' seed from this RNG.
    lasagne.random.set_rng(np.random.RandomState(seed))
    try:
        y = np.asarray(y).astype(np.float32)
        valid = np.asarray(valid, dtype=bool)
        groups = np.asarray(groups)
        # Each validation track's tiles together (a stable sort keeps their order):
        # the validation-track AUC pools them by ranges.
        valid_rows = np.flatnonzero(valid)
        valid_rows = valid_rows[np.argsort(groups[valid_rows], kind="stable")]
        net = build_net(n_outputs=y.shape[1], train_split=TrackSplit(valid), label=name,
                        validation_data=(view[valid_rows], y[valid_rows],
                                         track_ranges(groups[valid_rows])),
                        seed=seed, verbose=verbose,
                        input_shape=(None, 1) + tuple(view.shape[2:]), **hyperparameters)
        if trunk is not None:
            # Layers first (seeded as without a trunk), then the trunk's weights, and only
            # then the training function: frozen parameters must be untagged before it.
            net.initialize_layers()
            trunk.load_into(net.layers_, freeze_conv)
        # Compiled before the limit, which reaches only the libraries already loaded.
        net.initialize()
        with one_thread():
            net.fit(view, y)
    finally:
        lasagne.random.set_rng(global_rng)
    early_stopping = early_stopping_of(net)
    if not early_stopping.finished:
        # nolearn swallows Ctrl-C and returns a half-trained net: never save it.
        raise KeyboardInterrupt("training of {} was interrupted".format(name))
    updates_per_epoch = -(-int((~valid).sum()) // hyperparameters["batch"])
    history = [{"epoch": row["epoch"], "updates": row["epoch"] * updates_per_epoch,
                "train_loss": float(row["train_loss"]), "valid_loss": float(row["valid_loss"]),
                # JSON has no NaN: an undefined AUC is stored as null.
                "valid_auc": None if row.get("valid_auc") is None else
                json_ready(float(row["valid_auc"]))}
               for row in net.train_history_]
    return net, {
        "best_valid_loss": float(early_stopping.best_valid),
        "best_epoch": int(early_stopping.best_valid_epoch),
        "epochs_run": len(history),
        "stopped_early": bool(early_stopping.stopped_early),
        "history": history,
    }


def _store_rows(X):
    """``(store path, rows)`` of tiles that workers can read themselves.

    Parameters
    ----------
    X : TileView or StoreTiles
        Raw (unnormalised) tiles of a :class:`~soundtrack_cnn.collection.store.FeatureStore`.

    Returns
    -------
    store : str
        Absolute path of the store (the same on every host of the cluster).
    rows : ndarray of int64
        The rows of ``X`` in the store's tile numbering.

    Examples
    --------
    >>> import numpy as np
    >>> _store_rows(np.zeros((2, 1, 40, 100)))
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: training on a Dask cluster reads the tiles from their feature store; pass X as a TileView of FeatureStore(path).tiles, not ndarray
    """
    import numpy as np

    from ..collection.store import StoreTiles
    tiles, rows = X, np.arange(len(X))
    if hasattr(X, "indices") and getattr(X, "normalizer", True) is None:
        tiles, rows = X.tiles, X.indices
    if not isinstance(tiles, StoreTiles):
        raise InputError("training on a Dask cluster reads the tiles from their feature store; "
                         "pass X as a TileView of FeatureStore(path).tiles, not {}".format(
                             type(X).__name__))
    return os.path.abspath(tiles.store), np.asarray(rows, np.int64)


def _task_tiles(X):
    """``(tiles, rows)`` for :func:`train_net` in another process of this machine.

    A view of a feature store travels as the store's path and rows (the worker
    memory-maps it, as a Dask worker does); any other array travels whole.

    Examples
    --------
    >>> import numpy as np
    >>> tiles, rows = _task_tiles(np.zeros((2, 1, 40, 100)))
    >>> tiles.shape, rows
    ((2, 1, 40, 100), None)
    """
    try:
        return _store_rows(X)
    except InputError:
        return X, None


def describe_fit(summary):
    """One line on a trained net: epochs run, the epoch kept and its validation figures.

    Examples
    --------
    >>> describe_fit({"epochs_run": 20, "best_epoch": 15, "best_valid_loss": .027,
    ...               "history": [{"epoch": 15, "valid_auc": .98}]})
    '20 epochs, kept epoch 15: validation loss 0.0270, validation-track AUC 0.980'
    """
    kept = [row for row in summary["history"] if row["epoch"] == summary["best_epoch"]]
    auc = kept[0].get("valid_auc") if kept else None
    return "{} epochs, kept epoch {}: validation loss {:.4f}{}".format(
        summary["epochs_run"], summary["best_epoch"], summary["best_valid_loss"],
        "" if auc is None else ", validation-track AUC {:.3f}".format(auc))


class _TileModel(TileScorer, BaseEstimator):
    """What the ensemble and the single net share: data preparation and scoring."""

    kind = None

    def __init__(self, genres=None, net_params=None, validation=0.15, settings=None,
                 run_dir=None, warm_start=False, threshold=0.5, random_state=0, verbose=0,
                 client=None, trust_pickles=False, init=None, freeze_conv=False, n_jobs=None):
        self.genres = genres
        self.net_params = net_params
        self.validation = validation
        self.settings = settings
        self.run_dir = run_dir
        self.warm_start = warm_start
        self.threshold = threshold
        self.random_state = random_state
        self.verbose = verbose
        self.client = client
        self.trust_pickles = trust_pickles
        self.init = init
        self.freeze_conv = freeze_conv
        self.n_jobs = n_jobs

    # -- fitting -----------------------------------------------------------
    def _check_fitted(self):
        check_is_fitted(self, "models_")

    def _targets(self, y, name):
        raise NotImplementedError

    def _check_params(self):
        """Validate every parameter before anything is trained or written."""
        unknown = sorted(set(self.net_params or {}) - set(STUDY_HYPERPARAMETERS))
        if unknown:
            raise InputError("net_params: unknown hyperparameter(s) {}; known: {}".format(
                unknown, sorted(STUDY_HYPERPARAMETERS)))
        if not isinstance(self.random_state, (int, np.integer)) or isinstance(self.random_state, bool):
            raise InputError("random_state must be an int (specialist j uses random_state + j), "
                             "got {!r}".format(self.random_state))
        if not (hasattr(self.validation, "split") or 0 < float(self.validation) < 1):
            raise InputError("validation must be a fraction of the tracks in (0, 1) or a "
                             "scikit-learn splitter, got {!r}".format(self.validation))
        effective_n_jobs(self.n_jobs)  # a bad n_jobs is refused before anything is trained

    def _validation_mask(self, X, y, groups):
        """True for the tiles of the validation tracks (the first split's test part)."""
        splitter = (self.validation if hasattr(self.validation, "split") else
                    GroupShuffleSplit(n_splits=1, test_size=float(self.validation),
                                      random_state=self.random_state))
        with warnings.catch_warnings():
            # Splitters that do not use groups (PredefinedSplit) warn about getting them.
            warnings.filterwarnings("ignore", "The groups parameter is ignored")
            _, valid_rows = next(iter(splitter.split(np.zeros((len(X), 1)), y, groups)))
        valid = np.zeros(len(X), dtype=bool)
        valid[valid_rows] = True
        if valid.all() or not valid.any():
            raise InputError("the validation split must hold some but not all tiles")
        return valid

    def fit(self, X, y, groups=None):
        """Train every net (with ``warm_start``, every net not already saved in ``run_dir``).

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Raw (unnormalised) tiles of the training and validation tracks,
            e.g. a :class:`~soundtrack_cnn.training.dataset.TileView` of the store.
        y : array of {0, 1}, shape (n_tiles, K)
            Each tile's genre tags (its track's), columns in ``genres`` order.
        groups : array, shape (n_tiles,), optional
            Each tile's track; ``validation`` holds out whole groups.  Without
            it every tile is its own group (tiles of one track then leak into
            validation: pass it).

        Returns
        -------
        self
        """
        self._check_params()
        y = np.asarray(y)
        if y.ndim != 2 or len(y) != len(X):
            raise InputError("X has {} tiles but y has shape {}; expected ({}, K)".format(
                len(X), y.shape, len(X)))
        genres = [str(j) for j in range(y.shape[1])] if self.genres is None else list(self.genres)
        if len(genres) != y.shape[1]:
            raise InputError("{} genres for {} columns of y".format(len(genres), y.shape[1]))
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        if len(groups) != len(X):
            raise InputError("groups has {} entries for {} tiles".format(len(groups), len(X)))
        valid = self._validation_mask(X, y, groups)
        folder = ModelFolder(self.run_dir, self.kind) if self.run_dir else None
        if folder and folder.read() is not None and not self.warm_start:
            raise InputError("{} already holds a trained {}; pass warm_start=True to resume it, "
                             "or fit into another run_dir".format(self.run_dir, self.kind))
        self.genres_ = genres
        self.classes_ = np.asarray(genres)
        self.settings_ = self.settings or FeatureSettings()
        self.hyperparameters_ = dict(STUDY_HYPERPARAMETERS, **(self.net_params or {}))
        trunk = self.init
        if trunk is not None:
            trunk.check_fits(self.settings_, self.hyperparameters_, where="this model")
        elif self.freeze_conv:
            raise InputError("freeze_conv needs a trunk to start from (init)")
        self.init_ = None if trunk is None else trunk.record(self.freeze_conv)
        saved = folder.saved_normalizer() if folder else None
        self.normalizer_ = saved or Normalizer().fit(TileView(X, np.flatnonzero(~valid)))
        self.training_ = {
            "n_train_tiles": int((~valid).sum()), "n_valid_tiles": int(valid.sum()),
            "positives": {g: int(n) for g, n in zip(genres, y[~valid].sum(axis=0))},
            "fingerprint": fingerprint(y, valid),
        }
        if folder:
            folder.begin(self, defaults=STUDY_HYPERPARAMETERS)
        models, summaries = {}, {}
        names = net_names(self.kind, genres)
        todo = []
        for name in names:
            if folder and folder.has_model(name):
                models[name], summaries[name] = folder.load_model(name, trust=self.trust_pickles)
            else:
                todo.append(name)
        for name, (net, summary) in self._train(X, y, valid, groups, names, todo, trunk):
            models[name], summaries[name] = net, summary
            if folder:
                folder.save_model(name, net, summary)
        self.models_ = {name: models[name] for name in names}
        self.summaries_ = {name: summaries[name] for name in names}
        if folder and folder.weights_path() is None:
            folder.save_weights(self)
        return self

    def _train(self, X, y, valid, groups, names, todo, trunk=None):
        """Yield ``(name, (net, summary))`` for each net of ``todo`` as it finishes.

        Net ``names[j]`` is seeded with ``random_state + j`` wherever it runs:
        in this process, one after another, in ``n_jobs`` processes of this
        machine, or on the workers of ``client``.
        """
        seeds = {name: self.random_state + position for position, name in enumerate(names)}
        workers = nets_at_once(len(todo), self.n_jobs, self.client)
        if workers > 1:
            yield from self._train_in_processes(X, y, valid, groups, names, todo, trunk, seeds,
                                                workers)
            return
        if self.client is None:
            for name in todo:
                if self.verbose:
                    print("[{}/{}] training {}".format(names.index(name) + 1, len(names), name),
                          flush=True)
                net, summary = train_net(X, None, self._targets(y, name), valid, groups, name,
                                         seeds[name], self.hyperparameters_, self.normalizer_,
                                         verbose=max(self.verbose - 1, 0), trunk=trunk,
                                         freeze_conv=self.freeze_conv)
                if self.verbose:
                    print("    {}: {}".format(name, describe_fit(summary)), flush=True)
                yield name, (net, summary)
            return
        from ..parallel.cluster import run_tasks, session
        store, rows = _store_rows(X)
        with session(self.client, setup=worker_compile_cache) as client:
            # Rows, mask and tracks travel inside every task (they are no larger than its
            # targets), not scattered once: the scheduler's active memory manager drops
            # the extra replicas of scattered data, so a killed worker could take the
            # only copy with it and cancel every task still waiting for it.
            tasks = {name: (store, rows, self._targets(y, name), valid, groups, name, seeds[name],
                           self.hyperparameters_, self.normalizer_, 0, trunk, self.freeze_conv)
                     for name in todo}
            yield from run_tasks(client, train_net, tasks, what=self._net_label,
                                 progress=self.verbose > 0)

    def _train_in_processes(self, X, y, valid, groups, names, todo, trunk, seeds, workers):
        """``_train`` in ``workers`` processes of this machine (joblib), in ``todo`` order."""
        tiles, rows = _task_tiles(X)
        if self.verbose:
            print("training {} {}s, {} at a time".format(len(todo), self._net_label, workers),
                  flush=True)
        # The same call as in this process; the worker memory-maps a store's tiles by path.
        trained = Parallel(n_jobs=workers, return_as="generator")(
            delayed(train_net)(tiles, rows, self._targets(y, name), valid, groups, name,
                               seeds[name], self.hyperparameters_, self.normalizer_,
                               verbose=max(self.verbose - 1, 0), trunk=trunk,
                               freeze_conv=self.freeze_conv)
            for name in todo)
        for name, (net, summary) in zip(todo, trained):
            if self.verbose:
                print("[{}/{}] {}: {}".format(names.index(name) + 1, len(names), name,
                                              describe_fit(summary)), flush=True)
            yield name, (net, summary)

    @classmethod
    def _from_metadata(cls, metadata, models, summaries, run_dir=None):
        """A fitted model from its record (:func:`checkpoint.model_metadata`) and its nets."""
        settings = FeatureSettings.from_dict(metadata["feature_settings"])
        model = cls(genres=metadata["genres"], net_params=metadata["hyperparameters"],
                    settings=settings, run_dir=run_dir, random_state=metadata["seed"])
        model.genres_ = list(metadata["genres"])
        model.classes_ = np.asarray(model.genres_)
        model.settings_ = settings
        model.hyperparameters_ = metadata["hyperparameters"]
        model.normalizer_ = Normalizer.from_dict(metadata["normalizer"])
        model.training_ = metadata["training"]
        model.init_ = metadata.get("init")
        model.models_, model.summaries_ = models, summaries
        return model

    # -- scoring -----------------------------------------------------------
    def predict_tiles(self, X):
        """Score tiles.

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Raw tiles (normalised here with the training normalisation).

        Returns
        -------
        scores : ndarray, shape (n_tiles, K)
            Sigmoid outputs in [0, 1], columns in ``genres_`` order.
        """
        self._check_fitted()
        view = TileView(X, normalizer=self.normalizer_)
        return np.column_stack([net.predict_proba(view) for net in self.models_.values()])

    def predict_proba(self, X):
        """scikit-learn's name for :meth:`predict_tiles`."""
        return self.predict_tiles(X)

    def predict(self, X):
        """0/1 tags of each tile: scores at or above ``threshold``."""
        return (self.predict_tiles(X) >= self.threshold).astype(int)


class SpecialistEnsemble(_TileModel):
    """One binary specialist CNN per genre (the study's method).

    Parameters
    ----------
    genres : sequence of str, optional
        The vocabulary, in column order of ``y`` (default ``'0'``, ``'1'``, ...).
    net_params : dict, optional
        Overrides of :func:`soundtrack_cnn.training.network.build_net` hyperparameters
        (e.g. ``{'epochs': 20}``); the rest stay the study's.  Unknown names
        are refused before anything is trained.
    validation : float or splitter
        The validation tracks early stopping watches: a fraction of the
        groups (tracks), or a scikit-learn splitter (e.g. ``PredefinedSplit``)
        whose first split's test part is used.
    settings : FeatureSettings, optional
        The features the tiles were made with (stored with the model and
        used by ``predict_tracks``).
    run_dir : str, optional
        Where each specialist is pickled as it finishes, beside ``ensemble.json``.
    warm_start : bool
        Resume the nets already saved in ``run_dir`` (with the same data and
        settings) instead of refusing a folder that holds a model.
    trust_pickles : bool
        When resuming, unpickle saved nets this user did not sign (see
        :mod:`soundtrack_cnn.signing`): a pickle runs code, so only for a run
        folder you trust.
    threshold : float
        Score at which :meth:`predict` calls a tag.
    random_state : int
        Specialist ``j`` is initialised with seed ``random_state + j``.
    verbose : int
        1 prints a line per specialist as it starts and ends; 2 adds nolearn's
        layer table and line per epoch.
    client : distributed.Client or str, optional
        Train the specialists as tasks of a Dask cluster (a client, or a
        scheduler address such as ``'tcp://host:8786'``); None trains them
        on this machine (see ``n_jobs``).  Same seeds, same weights, bit for
        bit, wherever a net trains: every net trains on one thread
        (:mod:`soundtrack_cnn.stack.threads`).  The workers read ``X`` from
        its feature store by path, so ``X`` must be
        a :class:`~soundtrack_cnn.training.dataset.TileView` of a store on a file
        system every worker sees (see :mod:`soundtrack_cnn.parallel.cluster`).
        Give the address if the estimator is to be cloned: scikit-learn's
        ``clone`` deep-copies parameters, and a live client cannot be copied.
    init : Trunk, optional
        A pretrained trunk (:func:`soundtrack_cnn.beyond.trunk.read_trunk`
        reads one; ``read_trunk('pretrained')`` the one that ships with the
        package): every net starts conv1..hidden6 from its weights and
        fine-tunes all layers.  None: the study's random initial weights.
    freeze_conv : bool
        With ``init``: the convolutional blocks keep the trunk's weights.
    n_jobs : int, optional
        Without ``client``: how many specialists train at once, each in a
        worker process of this machine (joblib); 1 trains them in this
        process, one after another, -1 one per core, None 1 unless a
        ``joblib.parallel_config(n_jobs=...)`` context says otherwise
        (:func:`soundtrack_cnn.parallel.pool.effective_n_jobs`).  The weights
        are the same for every ``n_jobs``.

    Attributes
    ----------
    classes_ : ndarray of str
        The genres, in output column order.
    models_ : dict
        ``{genre: NeuralNet}`` in ``genres`` order.
    summaries_ : dict
        ``{genre: {best_valid_loss, best_epoch, epochs_run, stopped_early, history}}``.
    normalizer_ : Normalizer
        Fitted on the training tiles only.
    init_ : dict or None
        The trunk the nets started from: path, sha256, provenance, freeze_conv.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(40, 1, 40, 100).astype(np.float32)
    >>> y = np.column_stack([X[:, 0, 0, :].mean(axis=1) > 0, X[:, 0, 1, :].mean(axis=1) > 0])
    >>> ensemble = SpecialistEnsemble(["Drama", "Action"], net_params={"epochs": 1, "batch": 20})
    >>> ensemble.fit(X, y, groups=np.arange(40) // 4).predict_proba(X).shape
    (40, 2)
    >>> ensemble.classes_.tolist()
    ['Drama', 'Action']
    """

    kind = "ensemble"
    _net_label = "specialist"

    def _targets(self, y, name):
        column = self.genres_.index(name)
        return y[:, column:column + 1]



class MultiLabelNet(_TileModel):
    """The same trunk with K sigmoid outputs, trained once (the study's baseline).

    Parameters and attributes are those of :class:`SpecialistEnsemble`;
    ``models_`` holds one net under the name ``'multilabel'``.
    """

    kind = "multilabel"
    _net_label = "single net"

    def _targets(self, y, name):
        return y
