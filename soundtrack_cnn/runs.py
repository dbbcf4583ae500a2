"""A training run on disk: pickled nets, their checksums, and how to load them.

Layout of a run directory::

    RUN/
      ensemble.json             genres, feature settings, normalisation,
                                hyperparameters, per-net summaries and sha256,
                                training tile counts, package versions, seed
      specialist-Drama.pkl      one pickled nolearn NeuralNet per genre
      ...
      weights-ensemble.npz      the specialists' weights as plain arrays (the
                                export_weights format), for the numpy engine
      multilabel.json           the same for the single-net baseline
      multilabel.pkl
      weights-multilabel.npz

Each pickle is written atomically and only then recorded in the JSON (also
written atomically), so a run killed at any moment resumes cleanly: a net is
either recorded with its checksum or trained again.

.. warning:: Loading a pickle runs code.  Load only runs you trust; for
   anything else use :func:`export_weights` / :func:`import_weights`, which
   read plain arrays (no pickle) and rebuild the nets from ``network.py``.
"""
import hashlib
import io
import json
import os
import pickle
import platform
import re
import tempfile

import numpy as np

from .errors import InputError
from .features import FeatureSettings, Normalizer

__all__ = ["RunDirectory", "load_run", "export_weights", "import_weights", "fingerprint",
           "write_json", "write_bytes", "sha256_file"]


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; results are meant to be shared like any other file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    write_bytes(path, json.dumps(obj, indent=1, sort_keys=False).encode())


def fingerprint(Y, valid):
    """sha256 of the targets and the validation mask: "is this the same training data?"."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(Y, np.int8), np.ascontiguousarray(valid, np.int8)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _versions():
    """Installed versions of the stack, as the package registry names them."""
    from importlib.metadata import version
    names = ["Theano", "Lasagne", "nolearn", "numpy", "scipy", "scikit-learn",
             "python_speech_features", "soundtrack_cnn"]
    return dict({name: version(name) for name in names}, python=platform.python_version())


def _model_file(kind, name):
    if kind == "multilabel":
        return "multilabel.pkl"
    return "specialist-{}.pkl".format(re.sub(r"[^A-Za-z0-9_.-]+", "_", name))


def sha256_file(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RunDirectory(object):
    """The files of one model (``kind`` 'ensemble' or 'multilabel') in a run folder.

    Parameters
    ----------
    path : str
        The run folder (created when needed).
    kind : {'ensemble', 'multilabel'}
    """

    def __init__(self, path, kind):
        self.path = path
        self.kind = kind
        self.metadata_path = os.path.join(path, "{}.json".format(kind))

    def read(self):
        """The metadata dict, or None if this model was never started here."""
        if not os.path.exists(self.metadata_path):
            return None
        try:
            with open(self.metadata_path) as stream:
                return json.load(stream)
        except ValueError as error:
            raise InputError("{} is not valid JSON: {}".format(self.metadata_path, error))

    def saved_normalizer(self):
        metadata = self.read()
        return Normalizer.from_dict(metadata["normalizer"]) if metadata else None

    def begin(self, model):
        """Record a new fit, or check that a resumed one matches the saved run."""
        fresh = {
            "kind": self.kind,
            "genres": list(model.genres),
            "feature_settings": model.settings_.to_dict(),
            "normalizer": model.normalizer_.to_dict(),
            "hyperparameters": model.hyperparameters_,
            "seed": model.seed,
            "training": model.training_,
            "versions": _versions(),
            "models": {},
        }
        saved = self.read()
        if saved is None:
            write_json(self.metadata_path, fresh)
            return
        differing = [key for key in ("genres", "feature_settings", "hyperparameters", "seed",
                                     "training") if saved.get(key) != fresh[key]]
        if differing:
            raise InputError(
                "{} holds a run with other {}; resume only with the same data and settings, "
                "or train into a new folder".format(self.path, ", ".join(differing)))

    def has_model(self, name):
        metadata = self.read()
        return bool(metadata) and name in metadata["models"]

    def save_model(self, name, net, summary):
        """Pickle ``net`` atomically, then record it with its sha256 and summary."""
        filename = _model_file(self.kind, name)
        data = pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes(os.path.join(self.path, filename), data)
        metadata = self.read()
        metadata["models"][name] = dict(summary, file=filename,
                                        sha256=hashlib.sha256(data).hexdigest())
        write_json(self.metadata_path, metadata)

    def save_weights(self, model):
        """Write ``weights-<kind>.npz`` (:func:`export_weights`) and record its sha256.

        The record also names the pickles' checksums it was made from, so a
        net retrained later makes the file stale (see :meth:`weights_path`).
        """
        filename = "weights-{}.npz".format(self.kind)
        path = os.path.join(self.path, filename)
        export_weights(model, path)
        metadata = self.read()
        metadata["weights"] = {"file": filename, "sha256": sha256_file(path), "models": {
            name: entry["sha256"] for name, entry in metadata["models"].items()}}
        write_json(self.metadata_path, metadata)

    def weights_path(self):
        """The weights file if it exists, matches its sha256 and the current pickles; else None.

        None means: load the (checksummed) pickles, and write the file again.
        """
        metadata = self.read() or {}
        entry = metadata.get("weights")
        current = {name: model["sha256"] for name, model in metadata.get("models", {}).items()}
        if not entry or entry["models"] != current:
            return None
        path = os.path.join(self.path, entry["file"])
        if not os.path.exists(path) or sha256_file(path) != entry["sha256"]:
            return None
        return path

    def load_model(self, name):
        """Unpickle one net after checking its checksum; returns (net, summary)."""
        entry = dict(self.read()["models"][name])
        path = os.path.join(self.path, entry.pop("file"))
        if not os.path.exists(path):
            raise InputError("{} is missing: the run in {} is damaged".format(path, self.path))
        if sha256_file(path) != entry.pop("sha256"):
            raise InputError("{} does not match the checksum recorded in {}: it was changed "
                             "or damaged after training; refusing to unpickle it"
                             .format(path, self.metadata_path))
        with open(path, "rb") as stream:
            return pickle.load(stream), entry


def _restore(metadata, run_dir=None):
    from .ensemble import MultiLabelNet, SpecialistEnsemble
    cls = {"ensemble": SpecialistEnsemble, "multilabel": MultiLabelNet}[metadata["kind"]]
    settings = FeatureSettings.from_dict(metadata["feature_settings"])
    model = cls(metadata["genres"], run_dir=run_dir, settings=settings,
                net_params=metadata["hyperparameters"], seed=metadata["seed"])
    model.settings_ = settings
    model.hyperparameters_ = metadata["hyperparameters"]
    model.normalizer_ = Normalizer.from_dict(metadata["normalizer"])
    model.training_ = metadata["training"]
    return model


def _check_settings(model, settings, where):
    if settings is not None:
        settings.check_same(model.settings_, what="the model in {}".format(where))


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
    >>> ensemble = load_run("runs/demo")            # doctest: +SKIP
    >>> ensemble.predict_tracks(["song.ogg"])[0].top  # doctest: +SKIP
    """
    run = RunDirectory(run_dir, kind)
    metadata = run.read()
    if metadata is None:
        raise InputError("{} holds no trained {} ({} is missing)".format(
            run_dir, kind, os.path.basename(run.metadata_path)))
    model = _restore(metadata, run_dir)
    _check_settings(model, settings, run_dir)
    names = model._model_names()
    missing = [name for name in names if name not in metadata["models"]]
    if missing:
        raise InputError("the {} in {} is incomplete (no {}): run training again to resume"
                         .format(kind, run_dir, ", ".join(missing)))
    model.models_, model.summaries_ = {}, {}
    for name in names:
        model.models_[name], model.summaries_[name] = run.load_model(name)
    if run.weights_path() is None:
        # Runs trained before the weights file existed get it now, so that
        # the numpy engine never needs Theano for them again.
        try:
            run.save_weights(model)
        except OSError:
            pass  # a read-only run folder still loads
    return model


def export_weights(model, path):
    """Save a fitted model's weights and metadata as ``.npz`` (no pickle inside).

    Parameters
    ----------
    model : SpecialistEnsemble or MultiLabelNet
    path : str
    """
    metadata = {"kind": model.kind, "genres": list(model.genres),
                "feature_settings": model.settings_.to_dict(),
                "normalizer": model.normalizer_.to_dict(),
                "hyperparameters": model.hyperparameters_, "seed": model.seed,
                "training": model.training_, "summaries": model.summaries_}
    arrays = {"metadata": np.array(json.dumps(metadata))}
    for name, net in model.models_.items():
        for layer, values in net.get_all_params_values().items():
            for index, value in enumerate(values):
                arrays["{}/{}/{}".format(name, layer, index)] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def import_weights(path, settings=None):
    """Rebuild a model from :func:`export_weights` output, without unpickling anything.

    Returns
    -------
    model : SpecialistEnsemble or MultiLabelNet
        The nets are rebuilt by :func:`soundtrack_cnn.network.build_net` with
        the saved hyperparameters and loaded with the saved weights.
    """
    from .network import build_net
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive["metadata"]))
        model = _restore(metadata)
        _check_settings(model, settings, path)
        model.summaries_ = metadata["summaries"]
        model.models_ = {}
        n_outputs = len(model.genres) if model.kind == "multilabel" else 1
        input_shape = (None, 1, model.settings_.n_mfcc, model.settings_.n_frames)
        for name in model._model_names():
            net = build_net(n_outputs=n_outputs, input_shape=input_shape,
                            **model.hyperparameters_)
            net.initialize()
            for layer_name, layer in net.layers_.items():
                for index, param in enumerate(layer.get_params()):
                    param.set_value(archive["{}/{}/{}".format(name, layer_name, index)])
            model.models_[name] = net
    return model
