"""Trained models scored by the numpy engine: loading them without Theano.

:class:`NumpyEnsemble` is the inference half of ``SpecialistEnsemble`` /
``MultiLabelNet`` -- the same ``predict_tiles``, ``predict_track_scores`` and
``predict_tracks`` -- with every net replaced by an
:class:`~soundtrack_cnn.inference.numpy_net.NumpyNet`.  Its weights come from plain
``.npz`` files in the format of :func:`soundtrack_cnn.training.loading.export_weights`:

* a run folder's ``weights-<kind>.npz``, written beside the pickles when a run
  is trained (or first loaded through Theano) and checksummed in
  ``<kind>.json`` like them;
* any ``.npz`` a user exported with ``soundtrack-cnn export``.

A run trained before the weights file existed is loaded once through its
pickles (importing Theano, with a note on stderr), which also writes the file
for next time.  Nothing in this module imports Theano, Lasagne or nolearn
unless that fallback (or ``engine='theano'``) is taken.
"""
import json
import os
import sys

import numpy as np

from .numpy_net import BLOCK_TILES, NumpyNet, predict_nets
from ..errors import InputError
from ..scoring.metrics import aggregate_tracks
from ..audio.features import FeatureSettings, Normalizer
from ..scoring.prediction import predict_tracks
from ..training.checkpoint import ModelFolder

__all__ = ["NumpyEnsemble", "load_weights", "load_numpy_run", "load_model", "ENGINES"]

#: Inference engines: numpy (default) or the original Theano nets.
ENGINES = ("numpy", "theano")

#: Tiles normalised at once by ``predict_tiles`` (16 MB of study tiles):
#: enough blocks to keep every thread busy, a bounded slice of a large store.
CHUNK_TILES = 1024


class NumpyEnsemble(object):
    """A trained ensemble (or single net) evaluated with numpy.

    Parameters
    ----------
    metadata : dict
        As :func:`~soundtrack_cnn.training.checkpoint.write_weights` stores it: ``kind``,
        ``genres``, ``feature_settings``, ``normalizer``, ``summaries``, ...
    params : dict
        ``{net name: {layer name: [W, b]}}``; net names are the genres
        (``kind='ensemble'``) or ``'multilabel'``.

    Attributes
    ----------
    nets_ : dict
        ``{net name: NumpyNet}`` in column order.
    settings_ : FeatureSettings
    normalizer_ : Normalizer
    """

    def __init__(self, metadata, params):
        self.kind = metadata["kind"]
        self.genres = self.genres_ = list(metadata["genres"])
        self.settings_ = FeatureSettings.from_dict(metadata["feature_settings"])
        self.normalizer_ = Normalizer.from_dict(metadata["normalizer"])
        self.summaries_ = metadata.get("summaries", {})
        self.metadata = metadata
        names = self.genres if self.kind == "ensemble" else ["multilabel"]
        missing = [name for name in names if name not in params]
        if missing:
            raise InputError("no weights for {}".format(", ".join(missing)))
        self.nets_ = {name: NumpyNet(params[name]) for name in names}
        outputs = sum(net.n_outputs for net in self.nets_.values())
        if outputs != len(self.genres):
            raise InputError("the nets have {} outputs for {} genres".format(
                outputs, len(self.genres)))

    @property
    def mean_valid_loss_(self):
        """Mean best validation loss of the nets (as the Theano estimators report it)."""
        return float(np.mean([s["best_valid_loss"] for s in self.summaries_.values()]))

    def predict_tiles(self, X, block_tiles=BLOCK_TILES, n_jobs=-1):
        """Score raw tiles (normalised here), ``block_tiles`` at a time per thread.

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Anything sliceable: an ndarray, a memmap, a ``TileView``.
        block_tiles : int
        n_jobs : int or None
            Threads (-1: one per core; None: 1); the scores do not depend on it.

        Returns
        -------
        scores : ndarray of float32, shape (n_tiles, K)
        """
        nets = list(self.nets_.values())
        scores = np.empty((len(X), len(self.genres)), np.float32)
        for start in range(0, len(X), CHUNK_TILES):
            block = self.normalizer_.transform(np.asarray(X[start:start + CHUNK_TILES]))
            scores[start:start + len(block)] = predict_nets(nets, block, block_tiles=block_tiles,
                                                            n_jobs=n_jobs)
        return scores

    def predict_track_scores(self, X, ranges):
        """Mean tile score of each track; ``ranges`` are (start, stop) rows of ``X``."""
        return aggregate_tracks(self.predict_tiles(X), ranges)

    def predict_tracks(self, paths, k=5, pooling="mean", calibration=None):
        """Audio files to ranked tags (see :func:`soundtrack_cnn.scoring.prediction.predict_tracks`)."""
        return predict_tracks(self, paths, k=k, pooling=pooling, calibration=calibration)


def _params(lookup, names):
    """``{net: {layer: [W, b]}}`` from ``"net/layer/index"`` keys."""
    params = {}
    for key in names:
        if key == "metadata":
            continue
        net, layer, index = key.rsplit("/", 2)
        params.setdefault(net, {}).setdefault(layer, {})[int(index)] = lookup(key)
    return {net: {layer: [values[i] for i in sorted(values)] for layer, values in layers.items()}
            for net, layers in params.items()}


def _check_settings(model, settings, where):
    if settings is not None:
        settings.check_same(model.settings_, what="the model in {}".format(where))


def load_weights(path, settings=None):
    """A :class:`NumpyEnsemble` from an ``.npz`` of :func:`~soundtrack_cnn.training.loading.export_weights`.

    Parameters
    ----------
    path : str
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            metadata = json.loads(str(archive["metadata"]))
            model = NumpyEnsemble(metadata, _params(archive.__getitem__, archive.files))
    except (OSError, ValueError, KeyError) as error:
        if isinstance(error, InputError):
            raise InputError("{}: {}".format(path, error)) from error
        raise InputError("{}: not a weights file of soundtrack-cnn export ({})"
                         .format(path, error)) from error
    _check_settings(model, settings, path)
    return model


_NOTED = set()


def load_numpy_run(run_dir, kind="ensemble", settings=None):
    """A :class:`NumpyEnsemble` from a run folder, through its checksummed weights file.

    A run without a current weights file (trained before there was one) is
    loaded through its pickles -- importing Theano, said once on stderr -- and
    the file is written then, so the next load is Theano-free.
    """
    run = ModelFolder(run_dir, kind)
    if run.read() is None:
        raise InputError("{} holds no trained {} ({} is missing)".format(
            run_dir, kind, os.path.basename(run.metadata_path)))
    path = run.weights_path()
    if path is not None:
        return load_weights(path, settings=settings)
    if (run_dir, kind) not in _NOTED:
        _NOTED.add((run_dir, kind))
        print("soundtrack-cnn: {} has no current weights-{}.npz (a run trained before it "
              "was written, or the file is damaged): loading the pickles through Theano "
              "and writing it".format(run_dir, kind), file=sys.stderr)
    from ..training.loading import load_run  # imports Theano: only on this fallback
    theano_model = load_run(run_dir, kind, settings=settings)
    metadata = dict(run.read(), summaries=theano_model.summaries_)
    params = {name: net.get_all_params_values() for name, net in theano_model.models_.items()}
    return NumpyEnsemble(metadata, params)


def load_model(path, kind="ensemble", settings=None, engine="numpy"):
    """A trained model from a run folder or an ``.npz`` export, on either engine.

    Parameters
    ----------
    path : str
        A run folder or a file written by ``soundtrack-cnn export``.
    kind : {'ensemble', 'multilabel'}
        Which model of a run folder (an ``.npz`` holds one).
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    engine : {'numpy', 'theano'}
        numpy: :class:`NumpyEnsemble`; theano: the nolearn nets
        (``SpecialistEnsemble`` / ``MultiLabelNet``), as trained.

    Returns
    -------
    model : NumpyEnsemble, SpecialistEnsemble or MultiLabelNet
    """
    if engine not in ENGINES:
        raise InputError("engine must be one of {}, got {!r}".format(", ".join(ENGINES), engine))
    if not os.path.exists(path):
        raise InputError("{}: no such run folder or weights file".format(path))
    if os.path.isfile(path):
        if engine == "numpy":
            return load_weights(path, settings=settings)
        from ..training.loading import import_weights
        return import_weights(path, settings=settings)
    if engine == "numpy":
        return load_numpy_run(path, kind, settings=settings)
    from ..training.loading import load_run
    return load_run(path, kind, settings=settings)
