"""Trained models for inference: loading them on the numpy or the ONNX Runtime engine, without Theano.

:class:`NumpyEnsemble` is the inference half of ``SpecialistEnsemble`` /
``MultiLabelNet`` -- the same ``predict_tiles``, ``predict_track_scores`` and
``predict_tracks`` -- with every net replaced by an
:class:`~soundtrack_cnn.inference.numpy_net.NumpyNet`;
:class:`~soundtrack_cnn.inference.onnx_engine.OnnxEnsemble` is the same with
the nets as one ONNX graph.  Their weights come from plain ``.npz`` files
(:func:`soundtrack_cnn.training.modelfiles.read_weights`):

* a run folder's ``weights-<kind>.npz``, written beside the pickles when a run
  is trained (or by ``soundtrack-cnn upgrade``) and checksummed in
  ``<kind>.json`` like them;
* any ``.npz`` a user exported with ``soundtrack-cnn export``;

or, for the ONNX engine, from an exported ``.onnx`` alone.

Scoring never unpickles: a pickle runs code, and run folders are shared.  A
run without a current weights file (trained before it existed) is refused in
one line that says how to make one (``soundtrack-cnn upgrade RUN
--trust-pickles``); ``engine='theano'`` rebuilds the original nolearn nets
from the same weights file.  Nothing in this module imports Theano, Lasagne
or nolearn unless ``engine='theano'`` is asked for.

Scores that are not finite are an error (:class:`~.loaded.LoadedModel`), never a score.

Which engine runs by default (:func:`default_engine`): ONNX Runtime where it
is installed -- faster, and equal to Theano within 1e-5 of the scores' scale
like the numpy engine (see docs/results/benchmarks.md) -- else numpy.
"""
import os

import numpy as np

from ..errors import InputError
from ..training.checkpoint import ModelFolder
from ..training.modelfiles import check_model_settings, net_names, read_weights
from . import onnx_engine
from .loaded import SCORE_CHUNK_TILES, LoadedModel
from .numpy_net import THREAD_BLOCK_TILES, NumpyNet, predict_nets

__all__ = ["NumpyEnsemble", "load_weights", "read_model", "load_model", "default_engine", "describe_engine",
           "ENGINES"]

#: Inference engines: numpy, ONNX Runtime (optional), or the original Theano nets.
ENGINES = ("numpy", "onnx", "theano")


def default_engine():
    """'onnx' if onnxruntime (and onnx) are installed, else 'numpy'.

    Examples
    --------
    >>> default_engine() in ENGINES
    True
    """
    return "onnx" if onnx_engine.available() else "numpy"


def describe_engine(model):
    """One line saying which engine scores ``model``, and why not ONNX Runtime if not.

    Examples
    --------
    >>> class Model: engine, n_jobs = "numpy", -1
    >>> describe_engine(Model()).startswith("scoring with the numpy engine")
    True
    """
    engine = getattr(model, "engine", "theano")
    if engine == "onnx":
        return "scoring with the ONNX Runtime engine ({} thread(s))".format(
            model.session_.get_session_options().intra_op_num_threads)
    line = "scoring with the {} engine".format(engine)
    if engine == "numpy" and not onnx_engine.available():
        line += "; {}: the ONNX Runtime engine is faster".format(onnx_engine.MISSING)
    return line


class NumpyEnsemble(LoadedModel):
    """A trained ensemble (or single net) evaluated with numpy.

    Parameters
    ----------
    metadata : dict
        As :func:`~soundtrack_cnn.training.modelfiles.read_weights` returns it: ``kind``,
        ``genres``, ``feature_settings``, ``normalizer``, ``summaries``, ...
    params : dict
        ``{net name: {layer name: [W, b]}}``; net names are the genres
        (``kind='ensemble'``) or ``'multilabel'``.
    n_jobs : int or None
        Threads that score when ``predict_tiles`` is not told (-1: one per core).
    where : str
        The model's file or run folder, named in errors.

    Attributes
    ----------
    nets_ : dict
        ``{net name: NumpyNet}`` in column order.
    settings_ : FeatureSettings
    normalizer_ : Normalizer
    """

    engine = "numpy"

    def __init__(self, metadata, params, n_jobs=-1, where="the model"):
        super().__init__(metadata, n_jobs=n_jobs, where=where)
        names = net_names(self.kind, self.genres)
        missing = [name for name in names if name not in params]
        if missing:
            raise InputError("no weights for {}".format(", ".join(missing)))
        self.nets_ = {name: NumpyNet(params[name]) for name in names}
        outputs = sum(net.n_outputs for net in self.nets_.values())
        if outputs != len(self.genres):
            raise InputError("the nets have {} outputs for {} genres".format(
                outputs, len(self.genres)))

    def predict_tiles(self, X, thread_block_tiles=THREAD_BLOCK_TILES, n_jobs="model"):
        """Score raw tiles (normalised here), ``thread_block_tiles`` at a time per thread.

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Anything sliceable: an ndarray, a memmap, a ``TileView``.
        thread_block_tiles : int
        n_jobs : int or None
            Threads (-1: one per core; None: 1; default the model's
            ``n_jobs``); the scores do not depend on it.

        Returns
        -------
        scores : ndarray of float32, shape (n_tiles, K)
        """
        n_jobs = self.n_jobs if n_jobs == "model" else n_jobs
        nets = list(self.nets_.values())
        scores = np.empty((len(X), len(self.genres)), np.float32)
        for start in range(0, len(X), SCORE_CHUNK_TILES):
            block = self.normalizer_.transform(np.asarray(X[start:start + SCORE_CHUNK_TILES]))
            scores[start:start + len(block)] = predict_nets(
                nets, block, thread_block_tiles=thread_block_tiles, n_jobs=n_jobs)
        return self._finite(scores)


def load_weights(path, settings=None, n_jobs=-1, engine="numpy"):
    """A model from an ``.npz`` of :func:`~soundtrack_cnn.training.loading.export_weights`.

    Parameters
    ----------
    path : str
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    n_jobs : int or None
        Threads (-1: one per core; None: 1).
    engine : {'numpy', 'onnx'}

    Returns
    -------
    model : NumpyEnsemble or OnnxEnsemble
    """
    metadata, params = read_weights(path)
    check_model_settings(metadata, settings, path)
    return _build(engine, metadata, params, n_jobs, path)


def _build(engine, metadata, params, n_jobs, where):
    if engine == "onnx":
        return onnx_engine.OnnxEnsemble.from_weights(metadata, params, n_jobs=n_jobs, where=where)
    try:
        return NumpyEnsemble(metadata, params, n_jobs=n_jobs, where=where)
    except InputError as error:
        raise InputError("{}: {}".format(where, error)) from None


def read_model(path, kind="ensemble"):
    """A model's metadata and weights from a run folder or an ``.npz`` export, without writing.

    Only the weights file is read, never a pickle: a run without a current
    one is refused, in one line saying how to make it.

    Returns
    -------
    metadata : dict
    params : dict
        ``{net name: {layer name: [W, b]}}``.
    """
    if os.path.isfile(path):
        return read_weights(path)
    return read_weights(ModelFolder(path, kind).require_weights())


def load_model(path, kind="ensemble", settings=None, engine=None, n_jobs=-1):
    """A trained model from a run folder, an ``.npz`` or an ``.onnx`` export, on any engine.

    Parameters
    ----------
    path : str
        A run folder or a file written by ``soundtrack-cnn export``.
    kind : {'ensemble', 'multilabel'}
        Which model of a run folder (an exported file holds one).
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    engine : {'numpy', 'onnx', 'theano'}, optional
        numpy: :class:`NumpyEnsemble`; onnx: :class:`OnnxEnsemble` (needs
        onnxruntime); theano: the nolearn nets (``SpecialistEnsemble`` /
        ``MultiLabelNet``) as trained, rebuilt from the weights file.  Default
        :func:`default_engine` (an ``.onnx`` file: onnx).
    n_jobs : int or None
        Threads of the numpy and onnx engines (-1: one per core; None: 1).
        The scores are bit-identical for a given value.

    Returns
    -------
    model : NumpyEnsemble, OnnxEnsemble, SpecialistEnsemble or MultiLabelNet
    """
    onnx_file = os.path.isfile(path) and path.endswith(".onnx")
    engine = engine or ("onnx" if onnx_file else default_engine())
    if engine not in ENGINES:
        raise InputError("engine must be one of {}, got {!r}".format(", ".join(ENGINES), engine))
    if not os.path.exists(path):
        raise InputError("{}: no such run folder or exported model".format(path))
    if onnx_file:
        if engine != "onnx":
            raise InputError("{}: an .onnx model runs on the onnx engine, not {}".format(
                path, engine))
        return onnx_engine.load_onnx(path, settings=settings, n_jobs=n_jobs)
    if engine == "theano":
        from ..training.loading import import_weights  # imports Theano
        return import_weights(path, settings=settings, kind=kind)
    metadata, params = read_model(path, kind)
    check_model_settings(metadata, settings, path)
    return _build(engine, metadata, params, n_jobs, path)
