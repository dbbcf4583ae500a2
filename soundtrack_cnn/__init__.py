"""Film genres from soundtracks with an ensemble of binary specialist CNNs.

The main names are available here and imported on first use, so that
``import soundtrack_cnn`` stays light (Theano is imported only by what trains
or loads nets)::

    >>> import soundtrack_cnn
    >>> soundtrack_cnn.FeatureSettings().tile_shape
    (1, 40, 100)
"""
import importlib

from . import compat as _compat
from . import runtime as _runtime

_compat.install()
_runtime.install()

__version__ = "0.2.0"

#: Public name -> module that defines it (imported lazily by ``__getattr__``).
_EXPORTS = {
    "load_audio": "audio", "write_audio": "audio",
    "FeatureSettings": "features", "audio_to_tiles": "features", "Normalizer": "features",
    "read_manifest": "manifest", "FeatureStore": "store", "extract": "extraction",
    "generate_corpus": "corpus", "build_net": "network",
    "SpecialistEnsemble": "ensemble", "MultiLabelNet": "ensemble",
    "load_run": "loading", "export_weights": "loading", "import_weights": "loading",
    "load_model": "inference", "NumpyEnsemble": "inference",
    "run_experiment": "pipeline", "evaluate_run": "pipeline", "report_run": "report",
    "InputError": "errors",
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
