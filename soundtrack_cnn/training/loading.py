"""Loading trained models: a run folder's pickles, or the pickle-free ``.npz`` export.

Reading never writes: :func:`load_run` only reads the folder, and a run
trained before it had a ``weights-<kind>.npz`` gets one only when asked, by
:func:`upgrade_run` (``soundtrack-cnn upgrade RUN``).

Only :func:`load_run`, :func:`upgrade_run` and :func:`import_weights` import
Theano (when called); the weights file itself is read by
:func:`soundtrack_cnn.training.modelfiles.read_weights`.

.. warning:: Loading a pickle runs code.  Load only runs you trust; for
   anything else use :func:`export_weights` / :func:`import_weights`, which
   read plain arrays (no pickle) and rebuild the nets from ``network.py``.
"""
import os

from ..errors import InputError
from ..files import write_bytes
from .checkpoint import ModelFolder, model_metadata
from .modelfiles import net_names, pack_weights, read_weights

__all__ = ["load_run", "upgrade_run", "export_weights", "import_weights", "model_params"]


def _estimator(kind):
    from .ensemble import MultiLabelNet, SpecialistEnsemble  # imports Theano
    return {"ensemble": SpecialistEnsemble, "multilabel": MultiLabelNet}[kind]


def _check_settings(metadata, settings, where):
    from ..audio.features import FeatureSettings
    if settings is not None:
        settings.check_same(FeatureSettings.from_dict(metadata["feature_settings"]),
                            what="the model in {}".format(where))


def load_run(run_dir, kind="ensemble", settings=None):
    """Load a trained ensemble (or baseline) from a run folder, checking every checksum.

    Nothing is written into ``run_dir``.

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
    names = net_names(kind, metadata["genres"])
    missing = [name for name in names if name not in metadata["models"]]
    if missing:
        raise InputError("the {} in {} is incomplete (no {}): run training again to resume"
                         .format(kind, run_dir, ", ".join(missing)))
    models, summaries = {}, {}
    for name in names:
        models[name], summaries[name] = folder.load_model(name)
    return _estimator(kind)._from_metadata(metadata, models, summaries, run_dir=run_dir)


def upgrade_run(run_dir, kind="ensemble"):
    """Give a run its current ``weights-<kind>.npz`` (for runs trained before it existed).

    The one function that writes into a trained run: the pickles are loaded
    (checksums checked, through Theano) and their weights written beside
    them, recorded in ``<kind>.json``.  A run whose file is already current
    is left untouched.

    Returns
    -------
    path : str
        The weights file.
    """
    folder = ModelFolder(run_dir, kind)
    current = folder.weights_path() if folder.read() is not None else None
    if current is not None:
        return current
    folder.save_weights(load_run(run_dir, kind))
    return folder.weights_path()


def model_params(model):
    """``{net name: {layer name: [W, b]}}`` of a fitted Theano model."""
    return {name: net.get_all_params_values() for name, net in model.models_.items()}


def export_weights(model, path):
    """Save a fitted model's weights and metadata as ``.npz`` (no pickle inside).

    The numpy engine loads it without Theano (``soundtrack-cnn predict OUT.npz``).

    Parameters
    ----------
    model : SpecialistEnsemble or MultiLabelNet
    path : str
    """
    metadata = dict(model_metadata(model), summaries=model.summaries_)
    write_bytes(path, pack_weights(metadata, model_params(model)))


def import_weights(path, settings=None):
    """Rebuild a model from :func:`export_weights` output, without unpickling anything.

    Returns
    -------
    model : SpecialistEnsemble or MultiLabelNet
        The nets are rebuilt by :func:`soundtrack_cnn.training.network.build_net` with
        the saved hyperparameters and loaded with the saved weights.
    """
    from .network import build_net
    metadata, params = read_weights(path)
    _check_settings(metadata, settings, path)
    genres, kind = metadata["genres"], metadata["kind"]
    tile = metadata["feature_settings"]
    input_shape = (None, 1, tile["n_mfcc"], tile["n_frames"])
    models = {}
    for name in net_names(kind, genres):
        net = build_net(n_outputs=len(genres) if kind == "multilabel" else 1,
                        input_shape=input_shape, **metadata["hyperparameters"])
        net.initialize()
        for layer_name, layer in net.layers_.items():
            for param, value in zip(layer.get_params(), params[name].get(layer_name, ())):
                param.set_value(value)
        models[name] = net
    return _estimator(kind)._from_metadata(metadata, models, metadata.get("summaries", {}))
