"""Film genres from soundtracks with an ensemble of binary specialist CNNs.

The main names are available here and imported on first use, so that
``import soundtrack_cnn`` stays light (Theano is imported only by what trains
or loads nets) and leaves the process as it was: no file written, no
environment variable set, no module patched (the 2015 stack's shims install
themselves when Theano is first imported; :mod:`soundtrack_cnn.stack.compat`)::

    >>> import soundtrack_cnn
    >>> soundtrack_cnn.FeatureSettings().tile_shape
    (1, 40, 100)

The package, by concept (each subpackage's docstring is its table of contents):

==============  ==============================================================
``errors``      the error hierarchy (``SoundtrackCNNError`` and its kinds)
``files``       every file the package writes: atomic writes, JSON, sha256
``signing``     keyed signatures (HMAC) of the pickles this user writes
``parallel``    worker processes, a Dask cluster, file locks (one writer at a time)
``stack``       the 2015 stack on Python 3.11, and the package's own Theano code
``audio``       decoding, MFCC frames, tiles, streaming, reconstruction
``collection``  manifest, tags, splits, the feature store, extraction, corpus
``labelling``   a folder of soundtracks labelled with IMDb genres
``scoring``     tile scores -> ranked tags, metrics (shared by every engine)
``training``    the study's nets: listing, callbacks, batches, ensemble, run files
``inference``   trained runs without Theano: the numpy and ONNX engines, a whole collection
``beyond``      beyond the study: its next steps, the classical baseline, pretrained trunks
``reporting``   figures, timelines, the viewer page, the collection report
``film``        a whole film or album from a model: cues, in-distribution flag, verdict, page
``experiment``  profiles, run folder and its files, pipeline, export, report, compare
``cli``         ``soundtrack-cnn``
==============  ==============================================================

Imports go one way, down this list (:data:`LAYERS`; tested): a module imports
only from its own group or the groups above it.
"""
import importlib

from .stack import compat as _compat

# Writes nothing, sets nothing, imports nothing: one import hook that installs
# the 2015 stack's shims when Theano, Lasagne or nolearn is first imported
# (soundtrack_cnn.stack.compat says why a hook).
_compat.arm()

__version__ = "0.3.0"

#: The import rule: a module may import from its own group and those before it.
LAYERS = ("errors", "files", "signing", "parallel", "stack", "audio", "collection", "labelling",
          "scoring", "training", "inference", "beyond", "reporting", "film", "experiment", "cli")

#: Public name -> module that defines it (imported lazily by ``__getattr__``).
_EXPORTS = {
    "load_audio": "audio.io", "write_audio": "audio.io",
    "FeatureSettings": "audio.features", "audio_to_tiles": "audio.features", "Normalizer": "audio.features",
    "read_manifest": "collection.manifest", "FeatureStore": "collection.store", "extract": "collection.extraction",
    "generate_corpus": "collection.corpus", "build_net": "training.network",
    "SpecialistEnsemble": "training.ensemble", "MultiLabelNet": "training.ensemble",
    "load_run": "training.loading", "export_weights": "training.loading", "import_weights": "training.loading",
    "load_model": "inference.model", "NumpyEnsemble": "inference.model",
    "OnnxEnsemble": "inference.onnx_engine", "export_onnx": "inference.onnx_export",
    "upgrade_run": "training.loading", "analyse_film": "film.analysis",
    "export_model": "experiment.export",
    "run_experiment": "experiment.pipeline", "evaluate_run": "experiment.pipeline", "report_run": "experiment.report",
    "InputError": "errors", "SoundtrackCNNError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError("module 'soundtrack_cnn' has no attribute {!r}".format(name))
    value = getattr(importlib.import_module("." + _EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
