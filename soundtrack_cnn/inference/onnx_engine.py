"""The ONNX Runtime engine: a model's graph (:mod:`.onnx_export`) run by ``onnxruntime``.

ONNX Runtime's CPU kernels (fused convolutions in a blocked channel layout,
vectorised) score the study's net several times faster than numpy's GEMMs
can; see docs/results/benchmarks.md.  ``onnxruntime`` is an optional
dependency (``pip install soundtrack_cnn[onnx]``, installed by
``make install``): :func:`available` says whether it is there, and loading
without it is one :class:`InputError`.

Scores depend only on the thread count: a session runs with ``n_jobs``
intra-op threads, one inter-op thread, sequential execution and ONNX
Runtime's deterministic compute, so the same tiles give bit-identical
scores for the same ``n_jobs`` (tested).  Spinning threads are turned off:
they would take the cores from the processes decoding audio beside them.
Neither setting measured slower.

An ``.onnx`` file may come from anyone, and its checksum proves only that it
is whole.  So :func:`load_onnx` checks the file against itself before ONNX
Runtime parses it, and the graph against the metadata before it runs: the
file's size (:data:`~soundtrack_cnn.training.modelfiles.MAX_MODEL_BYTES`), every
metadata string's (read from the protobuf's own length fields, so a 300 MB
string is refused before it is read), the metadata's genres, feature
settings and normalisation (:func:`~soundtrack_cnn.training.modelfiles.check_metadata`),
then the graph's one input, ``(n, 1, n_mfcc, n_frames)`` of those settings,
and its one output, ``(n, K)`` for its K genres.  Each call's output is
checked again (shape, and finite: never a NaN score).
"""
import importlib.util
import json
import mmap
import os
import sys

import numpy as np

from ..errors import InputError
from ..parallel.pool import effective_n_jobs
from ..training.modelfiles import (MAX_METADATA_CHARS, MAX_MODEL_BYTES, check_metadata,
                               check_model_settings)
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


def _onnxruntime():
    """``import onnxruntime``, without the files and uploads of its telemetry.

    ONNX Runtime 1.32 writes a device id under ``~/.cache/Microsoft`` when it is
    imported, and sends telemetry, unless ``ORT_DISABLE_TELEMETRY`` is set: a
    package that scores audio must not make its users' processes do either.
    The variable is set only around the import and removed after it, so the
    environment is left as it was; a user who sets it has the last word.
    """
    if "onnxruntime" in sys.modules or "ORT_DISABLE_TELEMETRY" in os.environ:
        import onnxruntime
        return onnxruntime
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    try:
        import onnxruntime
    finally:
        del os.environ["ORT_DISABLE_TELEMETRY"]
    return onnxruntime


def _session(data, n_jobs, where):
    if not _installed("onnxruntime"):
        raise InputError("{}: the onnx engine cannot run: {}".format(where, MISSING))
    onnxruntime = _onnxruntime()
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

    def __init__(self, metadata, session, n_jobs=-1, where="the model"):
        super().__init__(metadata, n_jobs=n_jobs, where=where)
        self.session_ = session
        self._check_graph()

    def _check_graph(self):
        """InputError unless the graph takes this model's tiles and gives one score per genre."""
        tile = [1, self.settings_.n_mfcc, self.settings_.n_frames]
        problems = []
        inputs, outputs = self.session_.get_inputs(), self.session_.get_outputs()
        if len(inputs) != 1 or inputs[0].name != INPUT or inputs[0].type != "tensor(float)" or \
                len(inputs[0].shape) != 4 or list(inputs[0].shape[1:]) != tile or \
                isinstance(inputs[0].shape[0], int):
            problems.append("its input must be float tiles {!r} (n, {}, {}, {}), not {}".format(
                INPUT, *tile, ", ".join("{!r} {} {}".format(i.name, i.type, i.shape)
                                        for i in inputs)))
        if len(outputs) != 1 or outputs[0].name != OUTPUT or outputs[0].type != "tensor(float)" \
                or len(outputs[0].shape) != 2 or outputs[0].shape[1] != len(self.genres_) or \
                isinstance(outputs[0].shape[0], int):
            problems.append("its output must be float scores {!r} (n, {}) for its {} genres, "
                            "not {}".format(OUTPUT, len(self.genres_), len(self.genres_),
                                            ", ".join("{!r} {} {}".format(o.name, o.type, o.shape)
                                                      for o in outputs)))
        if problems:
            raise InputError("{}: the graph does not match its metadata: {}".format(
                self.where, "; ".join(problems)))

    @classmethod
    def from_weights(cls, metadata, params, n_jobs=-1, where="model"):
        """Build the graph from ``{net: {layer: [W, b]}}`` and open a session on it."""
        if not _installed("onnx"):  # an exported .onnx needs only onnxruntime; building needs onnx
            raise InputError("{}: the onnx engine builds its graph with the onnx package, which "
                             "is not installed (pip install 'soundtrack_cnn[onnx]')".format(where))
        data = build_onnx(metadata, params, check=False).SerializeToString()
        return cls(metadata, _session(data, n_jobs, where), n_jobs=n_jobs, where=where)

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
            block_scores = self.session_.run([OUTPUT], {INPUT: block})[0]
            # The declared shape is only a declaration: a graph can broadcast or drop a column.
            if block_scores.shape != (len(block), len(self.genres_)):
                raise InputError("{}: the graph gave scores of shape {} for {} tiles and {} "
                                 "genres".format(self.where, block_scores.shape, len(block),
                                                 len(self.genres_)))
            scores[start:start + len(block)] = block_scores
        return self._finite(scores)


def _varint(data, position):
    """(value, next position) of the protobuf varint at ``position``."""
    value = 0
    for shift in range(0, 70, 7):
        if position >= len(data):
            raise ValueError("truncated")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    raise ValueError("a varint longer than 10 bytes")


def _fields(data, start, end):
    """Yield (field number, wire type, value or (start, end) of its bytes) of one message."""
    position = start
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
        elif wire in (1, 5):
            value, position = None, position + (8 if wire == 1 else 4)
        elif wire == 2:
            length, position = _varint(data, position)
            value, position = (position, position + length), position + length
        else:
            raise ValueError("wire type {}".format(wire))
        if position > end:
            raise ValueError("truncated")
        yield number, wire, value


#: ``ModelProto.metadata_props`` (a repeated ``StringStringEntryProto``: 1 key, 2 value).
_METADATA_FIELD = 14
#: More metadata entries than a model of this package has (3) by far.
_MAX_METADATA_ENTRIES = 64


def _metadata_props(data, path):
    """``{key: value}`` of a serialised model's metadata, each string's size checked first.

    Read from the protobuf's length fields, without parsing the graph: a
    metadata string larger than :data:`MAX_METADATA_CHARS` is refused before a
    byte of it is copied.
    """
    entries = {}
    try:
        for number, wire, value in _fields(data, 0, len(data)):
            if number != _METADATA_FIELD:
                continue
            if wire != 2:
                raise ValueError("a metadata entry that is not a message")
            if len(entries) >= _MAX_METADATA_ENTRIES:
                raise ValueError("more than {} metadata entries".format(_MAX_METADATA_ENTRIES))
            entry = {}
            for field, _, (begin, finish) in ((f, w, v) for f, w, v in _fields(data, *value)
                                              if f in (1, 2) and w == 2):
                if finish - begin > MAX_METADATA_CHARS:
                    raise InputError("{}: a metadata string of {} bytes, more than {}".format(
                        path, finish - begin, MAX_METADATA_CHARS))
                entry[field] = bytes(data[begin:finish]).decode("utf-8")
            key = entry.get(1, "")
            if key in entries:
                raise ValueError("metadata entry {!r} twice".format(key))
            entries[key] = entry.get(2, "")
    except InputError:
        raise
    except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
        raise InputError("{}: not an ONNX model of soundtrack-cnn export ({})".format(
            path, error)) from None
    return entries


def _read_sealed(path):
    """The model bytes of a sealed ``.onnx`` and its metadata, checked before ONNX Runtime sees it."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_MODEL_BYTES:
                raise InputError("{}: {} bytes, larger than any model of this package ({})"
                                 .format(path, size, MAX_MODEL_BYTES))
            if size == 0:
                raise InputError("{}: an empty file, not a model".format(path))
            # Mapped, not read: the checks below touch only the pages they need, and the
            # bytes are copied once, after the checks pass.
            with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                props = _metadata_props(mapped, path)
                body = check_onnx(mapped, path)  # slicing a map copies: the body, once
    except OSError as error:
        raise InputError("{}: cannot read this model ({})".format(path, error.strerror)) from None
    return body, props


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
        too large, metadata malformed or out of bounds, a graph that does not
        match its metadata, not one of this package's models, or onnxruntime
        missing.
    """
    body, props = _read_sealed(path)
    try:
        metadata = json.loads(props[MODEL_KEY])
        check_metadata(metadata)
    except KeyError:
        raise InputError("{}: its soundtrack_cnn metadata is missing".format(path)) from None
    except (ValueError, RecursionError) as error:
        raise InputError("{}: its soundtrack_cnn metadata is damaged ({})".format(
            path, error)) from None
    check_model_settings(metadata, settings, path)
    return OnnxEnsemble(metadata, _session(body, n_jobs, path), n_jobs=n_jobs, where=path)
