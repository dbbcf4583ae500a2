"""Loading trained models: a run folder's pickles, or the pickle-free weights file.

Reading never writes: :func:`load_run` only reads the folder, and a run
trained before it had a ``weights-<kind>.npz`` gets one only when asked, by
:func:`upgrade_run` (``soundtrack-cnn upgrade RUN``).

Only :func:`load_run`, :func:`upgrade_run` and :func:`import_weights` import
Theano (when called); the weights file itself is read by
:func:`soundtrack_cnn.training.modelfiles.read_weights`.

.. warning:: Loading a pickle runs code.  :func:`load_run` unpickles only
   pickles signed by this user (:mod:`soundtrack_cnn.signing`), unless told
   ``trust=True``.  :func:`import_weights` reads plain arrays (no pickle) and
   rebuilds the nets from ``network.py``: the same nets, for any run.
"""
import os

from ..errors import InputError
from .checkpoint import ModelFolder, export_weights, model_params
from .modelfiles import WIDTHS, check_model_settings, net_names, read_weights

__all__ = ["load_run", "upgrade_run", "export_weights", "import_weights", "model_params"]


def _estimator(kind):
    from .ensemble import MultiLabelNet, SpecialistEnsemble  # imports Theano
    return {"ensemble": SpecialistEnsemble, "multilabel": MultiLabelNet}[kind]


def load_run(run_dir, kind="ensemble", settings=None, trust=False):
    """Load a trained ensemble (or baseline) from a run folder's pickles, checking every checksum.

    Nothing is written into ``run_dir``.  To score, :func:`import_weights`
    gives the same nets from the weights file, without unpickling.

    Parameters
    ----------
    run_dir : str
    kind : {'ensemble', 'multilabel'}
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    trust : bool
        Unpickle pickles this user did not sign (a pickle runs code: only for
        runs you trust).

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
    metadata = folder.require()
    check_model_settings(metadata, settings, run_dir)
    names = net_names(kind, metadata["genres"])
    missing = [name for name in names if name not in metadata["models"]]
    if missing:
        raise InputError("the {} in {} is incomplete (no {}): run training again to resume"
                         .format(kind, run_dir, ", ".join(missing)))
    models, summaries = {}, {}
    for name in names:
        models[name], summaries[name] = folder.load_model(name, trust=trust)
    return _estimator(kind)._from_metadata(metadata, models, summaries, run_dir=run_dir)


def upgrade_run(run_dir, kind="ensemble", trust=False):
    """Give a run its current ``weights-<kind>.npz`` (for runs trained before it existed).

    The one function that writes into a trained run: the pickles are loaded
    (checksums and signatures checked, through Theano) and their weights
    written beside them, recorded in ``<kind>.json``.  A run whose file is
    already current is left untouched.

    Parameters
    ----------
    run_dir : str
    kind : {'ensemble', 'multilabel'}
    trust : bool
        Read pickles this user did not sign (a run from an older version, or
        from someone else), and sign them: the user vouches for them from now
        on, as ``jupyter trust`` does for a notebook.

    Returns
    -------
    path : str
        The weights file.

    Examples
    --------
    >>> upgrade_run("/nonexistent")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent: no such run folder
    """
    if not os.path.isdir(run_dir):
        raise InputError("{}: no such run folder".format(run_dir))
    folder = ModelFolder(run_dir, kind)
    folder.require()
    current = folder.weights_path()
    if current is not None:
        return current
    model = load_run(run_dir, kind, trust=trust)
    if trust:
        folder.sign_models()
    folder.save_weights(model)
    return folder.weights_path()


def import_weights(path, settings=None, kind="ensemble"):
    """Rebuild a model from a weights file, without unpickling anything.

    Parameters
    ----------
    path : str
        An ``.npz`` of :func:`export_weights`, or a run folder (its current
        ``weights-<kind>.npz``).
    settings : FeatureSettings, optional
        The settings of the features it will score; a mismatch is an error.
    kind : {'ensemble', 'multilabel'}
        Which model of a run folder.

    Returns
    -------
    model : SpecialistEnsemble or MultiLabelNet
        The nets are rebuilt by :func:`soundtrack_cnn.training.network.build_net` with
        the saved hyperparameters and loaded with the saved weights.
    """
    from .network import build_net
    weights = ModelFolder(path, kind).require_weights() if os.path.isdir(path) else path
    metadata, params = read_weights(weights)
    check_model_settings(metadata, settings, path)
    genres, kind = metadata["genres"], metadata["kind"]
    tile = metadata["feature_settings"]
    input_shape = (None, 1, tile["n_mfcc"], tile["n_frames"])
    models = {}
    # Only the widths shape the nets (read_weights checked them); the file's other
    # hyperparameters are training options, and a file's keys are not keyword arguments.
    widths = {name: metadata["hyperparameters"][name] for name in WIDTHS.values()}
    for name in net_names(kind, genres):
        net = build_net(n_outputs=len(genres) if kind == "multilabel" else 1,
                        input_shape=input_shape, **widths)
        net.initialize()
        for layer_name, layer in net.layers_.items():
            for param, value in zip(layer.get_params(), params[name].get(layer_name, ())):
                param.set_value(value)
        models[name] = net
    return _estimator(kind)._from_metadata(metadata, models, metadata.get("summaries", {}))
