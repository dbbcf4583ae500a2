"""Loading trained models: a run folder's pickles, or the pickle-free ``.npz`` export.

.. warning:: Loading a pickle runs code.  Load only runs you trust; for
   anything else use :func:`export_weights` / :func:`import_weights`, which
   read plain arrays (no pickle) and rebuild the nets from ``network.py``.
"""
import json
import os

import numpy as np

from .checkpoint import ModelFolder, write_weights
from .ensemble import MultiLabelNet, SpecialistEnsemble
from ..errors import InputError

__all__ = ["load_run", "export_weights", "import_weights"]

_KINDS = {"ensemble": SpecialistEnsemble, "multilabel": MultiLabelNet}


def _check_settings(metadata, settings, where):
    from ..audio.features import FeatureSettings
    if settings is not None:
        settings.check_same(FeatureSettings.from_dict(metadata["feature_settings"]),
                            what="the model in {}".format(where))


def load_run(run_dir, kind="ensemble", settings=None):
    """Load a trained ensemble (or baseline) from a run folder, checking every checksum.

    Parameters
    ----------
    run_dir : str
    kind : {'ensemble', 'multilabel'}
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.

    Returns
    -------
    model : SpecialistEnsemble or MultiLabelNet

    Examples
    --------
    >>> load_run("/nonexistent")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent holds no trained ensemble (ensemble.json is missing)
    """
    folder = ModelFolder(run_dir, kind)
    metadata = folder.read()
    if metadata is None:
        raise InputError("{} holds no trained {} ({} is missing)".format(
            run_dir, kind, os.path.basename(folder.metadata_path)))
    _check_settings(metadata, settings, run_dir)
    names = list(metadata["genres"]) if kind == "ensemble" else ["multilabel"]
    missing = [name for name in names if name not in metadata["models"]]
    if missing:
        raise InputError("the {} in {} is incomplete (no {}): run training again to resume"
                         .format(kind, run_dir, ", ".join(missing)))
    models, summaries = {}, {}
    for name in names:
        models[name], summaries[name] = folder.load_model(name)
    model = _KINDS[kind]._from_metadata(metadata, models, summaries, run_dir=run_dir)
    if folder.weights_path() is None:
        # Runs trained before the weights file existed get it now, so that
        # the numpy engine never needs Theano for them again.
        try:
            folder.save_weights(model)
        except OSError:
            pass  # a read-only run folder still loads
    return model


def export_weights(model, path):
    """Save a fitted model's weights and metadata as ``.npz`` (no pickle inside).

    The numpy engine loads it without Theano (``soundtrack-cnn predict OUT.npz``).

    Parameters
    ----------
    model : SpecialistEnsemble or MultiLabelNet
    path : str
    """
    write_weights(model, path)


def import_weights(path, settings=None):
    """Rebuild a model from :func:`export_weights` output, without unpickling anything.

    Returns
    -------
    model : SpecialistEnsemble or MultiLabelNet
        The nets are rebuilt by :func:`soundtrack_cnn.training.network.build_net` with
        the saved hyperparameters and loaded with the saved weights.
    """
    from .network import build_net
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        _check_settings(metadata, settings, path)
        genres, kind = metadata["genres"], metadata["kind"]
        tile = metadata["feature_settings"]
        input_shape = (None, 1, tile["n_mfcc"], tile["n_frames"])
        models = {}
        for name in (genres if kind == "ensemble" else ["multilabel"]):
            net = build_net(n_outputs=len(genres) if kind == "multilabel" else 1,
                            input_shape=input_shape, **metadata["hyperparameters"])
            net.initialize()
            for layer_name, layer in net.layers_.items():
                for index, param in enumerate(layer.get_params()):
                    param.set_value(archive["{}/{}/{}".format(name, layer_name, index)])
            models[name] = net
    return _KINDS[kind]._from_metadata(metadata, models, metadata["summaries"])
