"""The ONNX Runtime engine: a model's graph (:mod:`.onnx_export`) run by ``onnxruntime``.

ONNX Runtime's CPU kernels (fused convolutions in a blocked channel layout,
vectorised) score the study's net several times faster than numpy's GEMMs
can; see the README's Benchmarks.  ``onnxruntime`` is an optional
dependency (``pip install soundtrack_cnn[onnx]``, installed by
``make install``): :func:`available` says whether it is there, and loading
without it is one :class:`InputError`.

Scores depend only on the thread count: a session runs with ``n_jobs``
intra-op threads, one inter-op thread, sequential execution and ONNX
Runtime's deterministic compute, so the same tiles give bit-identical
scores for the same ``n_jobs`` (tested).  Spinning threads are turned off:
they would take the cores from the processes decoding audio beside them.
Neither setting measured slower.
"""
import importlib.util
import json

import numpy as np

from ..parallel.pool import effective_n_jobs
from ..errors import InputError
from .loaded import LoadedModel
from .onnx_export import INPUT, MODEL_KEY, OUTPUT, build_onnx, check_onnx

__all__ = ["OnnxEnsemble", "available", "load_onnx", "MISSING"]

#: Tiles per call of the session.  ONNX Runtime keeps the largest activations
#: it met in its arena (conv1's output alone is 110 MB for 256 study tiles);
#: on the loaded 2-core machine 256 tiles ran at 0.9x the speed of 1200, and
#: 64 at 0.75x.  A tile's score can differ in its last bits with the tiles it
#: is scored beside (within 1e-6); the same call gives the same scores.
RUN_CALL_TILES = 256
#: What to say when ``onnxruntime`` is not installed.
MISSING = "onnxruntime is not installed (pip install 'soundtrack_cnn[onnx]', or make install)"


def _installed(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked by a None in sys.modules
        return False


def available():
    """Whether ``onnxruntime`` (to run) and ``onnx`` (to build graphs) can be imported.

    Found without importing them, so asking is free.
    """
    return _installed("onnxruntime") and _installed("onnx")


def _session(data, n_jobs, where):
    if not _installed("onnxruntime"):
        raise InputError("{}: the onnx engine cannot run: {}".format(where, MISSING))
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = effective_n_jobs(n_jobs)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.use_deterministic_compute = True
    # Memory patterns pre-plan one arena block per input shape seen, and prepacking keeps
    # a second, reordered copy of the weights: together about 70 MB more for ten
    # specialists, for no measured speed (the scores are the same either way).
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings are about its own internals
    try:
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own classes, not exported
        raise InputError("{}: ONNX Runtime cannot load this model ({})".format(
            where, str(error).splitlines()[0] if str(error) else type(error).__name__)) from None


class OnnxEnsemble(LoadedModel):
    """A trained model scored by ONNX Runtime.

    Build one with :meth:`from_weights` (a run's weights) or :func:`load_onnx`
    (an exported ``.onnx``).

    Parameters
    ----------
    metadata : dict
        As in a weights file; ``genres`` are the output's columns.
    session : onnxruntime.InferenceSession
        Of a graph of :func:`~soundtrack_cnn.inference.onnx_export.build_onnx`.
    n_jobs : int or None
        The session's threads (recorded here; they are set when it is made).
    """

    engine = "onnx"

    def __init__(self, metadata, session, n_jobs=-1):
        super().__init__(metadata, n_jobs=n_jobs)
        self.session_ = session

    @classmethod
    def from_weights(cls, metadata, params, n_jobs=-1, where="model"):
        """Build the graph from ``{net: {layer: [W, b]}}`` and open a session on it."""
        if not _installed("onnx"):  # an exported .onnx needs only onnxruntime; building needs onnx
            raise InputError("{}: the onnx engine builds its graph with the onnx package, which "
                             "is not installed (pip install 'soundtrack_cnn[onnx]')".format(where))
        data = build_onnx(metadata, params, check=False).SerializeToString()
        return cls(metadata, _session(data, n_jobs, where), n_jobs=n_jobs)

    def predict_tiles(self, X):
        """Score raw tiles (the graph normalises them).

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Anything sliceable: an ndarray, a memmap, a ``TileView``.

        Returns
        -------
        scores : ndarray of float32, shape (n_tiles, K)
        """
        shape = (1, self.settings_.n_mfcc, self.settings_.n_frames)
        scores = np.empty((len(X), len(self.genres_)), np.float32)
        for start in range(0, len(X), RUN_CALL_TILES):
            block = np.ascontiguousarray(X[start:start + RUN_CALL_TILES], dtype=np.float32)
            if block.shape[1:] != shape:
                raise InputError("tiles must have shape (n, {}, {}, {}), got {}".format(
                    *shape, block.shape))
            scores[start:start + len(block)] = self.session_.run([OUTPUT], {INPUT: block})[0]
        return scores


def load_onnx(path, settings=None, n_jobs=-1):
    """An :class:`OnnxEnsemble` from a file of ``soundtrack-cnn export``: the file alone.

    Parameters
    ----------
    path : str
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    n_jobs : int or None
        Threads (-1: one per core; None: 1).

    Raises
    ------
    InputError
        One line naming ``path``: unreadable, truncated, altered (checksum),
        not one of this package's models, or onnxruntime missing.
    """
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise InputError("{}: cannot read this model ({})".format(path, error.strerror)) from None
    session = _session(check_onnx(data, path), n_jobs, path)
    try:
        metadata = json.loads(session.get_modelmeta().custom_metadata_map[MODEL_KEY])
        model = OnnxEnsemble(metadata, session, n_jobs=n_jobs)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError("{}: its soundtrack_cnn metadata is incomplete ({})".format(
            path, error)) from None
    if settings is not None:
        settings.check_same(model.settings_, what="the model in {}".format(path))
    return model
