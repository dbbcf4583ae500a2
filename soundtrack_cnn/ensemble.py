"""The study's ensemble of binary specialists, and the single-net baseline.

Of the two ways to learn multi-label data -- one net with a K-long binary
target, or the input duplicated for each label to train K independent binary
classifiers -- the study takes the second: one specialist per genre, each
trained on *all* tiles with its own 0/1 target, pickled, and aggregated by
averaging tile scores over a track.  :class:`MultiLabelNet` is the first way,
kept as the study's point of comparison.

Both are scikit-learn style estimators with the same interface:

* ``fit(X, Y, valid)`` -- raw tiles, (n_tiles, K) binary targets and a mask
  of the tiles that belong to the validation *tracks* (early stopping);
* ``predict_tiles(X)`` -- (n_tiles, K) scores;
* ``predict_tracks(paths)`` -- audio files to ranked tags.

With ``run_dir`` set, every trained net is pickled there as soon as it is done
(see :mod:`soundtrack_cnn.runs`), so an interrupted ``fit`` resumes with the
genres still missing.
"""
import lasagne.random
import numpy as np
from sklearn.base import BaseEstimator

from . import runs
from .dataset import TileView
from .errors import InputError
from .evaluate import aggregate_tracks
from .features import FeatureSettings, Normalizer
from .network import STUDY_HYPERPARAMETERS, build_net
from .prediction import TrackPrediction, predict_tracks
from .splits import TrackSplit

__all__ = ["SpecialistEnsemble", "MultiLabelNet", "TrackPrediction"]


class _TileModel(BaseEstimator):
    """What the ensemble and the single net share: data preparation and scoring."""

    kind = None

    def __init__(self, genres, run_dir=None, settings=None, net_params=None, seed=0, verbose=0):
        self.genres = genres
        self.run_dir = run_dir
        self.settings = settings
        self.net_params = net_params
        self.seed = seed
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------
    def _model_names(self):
        raise NotImplementedError

    def _targets(self, Y, name):
        raise NotImplementedError

    def fit(self, X, Y, valid):
        """Train every net not already saved in ``run_dir``.

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Raw (unnormalised) tiles of the training and validation tracks,
            e.g. a :class:`~soundtrack_cnn.dataset.TileView` of the store.
        Y : array of {0, 1}, shape (n_tiles, K)
            Each tile's genre tags (its track's), columns in ``genres`` order.
        valid : array of bool, shape (n_tiles,)
            True for the tiles of the validation tracks.

        Returns
        -------
        self
        """
        genres = list(self.genres)
        Y = np.asarray(Y)
        valid = np.asarray(valid, dtype=bool)
        if Y.shape != (len(X), len(genres)) or valid.shape != (len(X),):
            raise InputError("X has {} tiles, Y shape {} and valid shape {}; expected Y "
                             "({}, {}) and valid ({},)".format(len(X), Y.shape, valid.shape,
                                                               len(X), len(genres), len(X)))
        if valid.all() or not valid.any():
            raise InputError("valid must mark some but not all tiles (whole validation tracks)")
        self.settings_ = self.settings or FeatureSettings()
        self.hyperparameters_ = dict(STUDY_HYPERPARAMETERS, **(self.net_params or {}))
        run = runs.RunDirectory(self.run_dir, self.kind) if self.run_dir else None
        saved = run.saved_normalizer() if run else None
        self.normalizer_ = saved or Normalizer().fit(TileView(X, np.flatnonzero(~valid)))
        self.training_ = {
            "n_train_tiles": int((~valid).sum()), "n_valid_tiles": int(valid.sum()),
            "positives": {g: int(n) for g, n in zip(genres, Y[~valid].sum(axis=0))},
            "fingerprint": runs.fingerprint(Y, valid),
        }
        if run:
            run.begin(self)
        view = TileView(X, normalizer=self.normalizer_)
        self.models_, self.summaries_ = {}, {}
        names = self._model_names()
        for position, name in enumerate(names):
            if run and run.has_model(name):
                self.models_[name], self.summaries_[name] = run.load_model(name)
                continue
            if self.verbose:
                print("[{}/{}] training {}".format(position + 1, len(names), name), flush=True)
            net, summary = self._fit_net(view, self._targets(Y, name), valid, name,
                                         self.seed + position)
            self.models_[name], self.summaries_[name] = net, summary
            if run:
                run.save_model(name, net, summary)
        if run and run.weights_path() is None:
            run.save_weights(self)
        return self

    def _fit_net(self, view, y, valid, name, seed):
        # Lasagne draws initial weights and the dropout streams' seed from this RNG.
        lasagne.random.set_rng(np.random.RandomState(seed))
        net = build_net(n_outputs=y.shape[1], train_split=TrackSplit(valid), label=name,
                        verbose=self.verbose, input_shape=(None, 1) + tuple(view.shape[2:]),
                        **self.hyperparameters_)
        net.fit(view, y.astype(np.float32))
        early_stopping = net.on_training_finished[0].__self__
        if not early_stopping.finished:
            # nolearn swallows Ctrl-C and returns a half-trained net: never save it.
            raise KeyboardInterrupt("training of {} was interrupted".format(name))
        history = [[row["train_loss"], row["valid_loss"]] for row in net.train_history_]
        return net, {
            "best_valid_loss": float(early_stopping.best_valid),
            "best_epoch": int(early_stopping.best_valid_epoch),
            "epochs_run": len(history),
            "stopped_early": bool(early_stopping.stopped_early),
            "history": history,
        }

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
            Sigmoid outputs in [0, 1], columns in ``genres`` order.
        """
        view = TileView(X, normalizer=self.normalizer_)
        return np.column_stack([net.predict_proba(view) for net in self.models_.values()])

    def predict_track_scores(self, X, ranges):
        """Mean tile score of each track; ``ranges`` are (start, stop) rows of ``X``."""
        return aggregate_tracks(self.predict_tiles(X), ranges)

    def predict_tracks(self, paths, k=5):
        """Audio files to ranked tags, end to end.

        Parameters
        ----------
        paths : sequence of str
            Audio files in any format ``load_audio`` reads.
        k : int
            How many tags to rank (the study looks at the top five).

        Returns
        -------
        predictions : list of TrackPrediction
            One per path, in order; a file that cannot be read carries its
            ``error`` instead of scores, and the others are still scored.
        """
        return predict_tracks(self, paths, k=k)


class SpecialistEnsemble(_TileModel):
    """One binary specialist CNN per genre (the study's method).

    Parameters
    ----------
    genres : sequence of str
        The vocabulary, in column order of ``Y``.
    run_dir : str, optional
        Where each specialist is pickled as it finishes, beside
        ``ensemble.json``; a later ``fit`` with the same data resumes there.
    settings : FeatureSettings, optional
        The features the tiles were made with (stored with the model and
        used by ``predict_tracks``).
    net_params : dict, optional
        Overrides of :func:`soundtrack_cnn.network.build_net` hyperparameters
        (e.g. ``{'epochs': 20}``); the rest stay the study's.
    seed : int
        Specialist ``j`` is initialised with seed ``seed + j``.
    verbose : int
        1 prints a line per specialist and nolearn's line per epoch.

    Attributes
    ----------
    models_ : dict
        ``{genre: NeuralNet}`` in ``genres`` order.
    summaries_ : dict
        ``{genre: {best_valid_loss, best_epoch, epochs_run, stopped_early, history}}``.
    normalizer_ : Normalizer
        Fitted on the training tiles only.

    Examples
    --------
    >>> ensemble = SpecialistEnsemble(["Drama", "Action"], net_params={"epochs": 2})
    >>> ensemble.fit(X, Y, valid).predict_tiles(X).shape  # doctest: +SKIP
    (n_tiles, 2)
    """

    kind = "ensemble"

    def _model_names(self):
        return list(self.genres)

    def _targets(self, Y, name):
        column = list(self.genres).index(name)
        return Y[:, column:column + 1]

    @property
    def mean_valid_loss_(self):
        """Mean of the specialists' best validation losses (the study's 0.22)."""
        return float(np.mean([s["best_valid_loss"] for s in self.summaries_.values()]))


class MultiLabelNet(_TileModel):
    """The same trunk with K sigmoid outputs, trained once (the study's baseline).

    Parameters and attributes are those of :class:`SpecialistEnsemble`;
    ``models_`` holds one net under the name ``'multilabel'``.
    """

    kind = "multilabel"

    def _model_names(self):
        return ["multilabel"]

    def _targets(self, Y, name):
        return Y

    @property
    def mean_valid_loss_(self):
        """Best validation loss of the one net (mean over its K outputs)."""
        return float(self.summaries_["multilabel"]["best_valid_loss"])
