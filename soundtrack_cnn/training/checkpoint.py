"""Checkpointing during ``fit``: one model's pickled nets and their record in a run folder.

Layout of a run folder, as far as the models go::

    RUN/
      ensemble.json             genres, feature settings, normalisation,
                                hyperparameters, per-net summaries and sha256,
                                training tile counts, package versions, seed
      specialist-Drama-da72bf5b.pkl  one pickled nolearn NeuralNet per genre
                                (name: see modelrecord.model_file)
      ...
      weights-ensemble.npz      the same weights as plain arrays (export_weights),
                                for the numpy engine; checksummed in the JSON
      multilabel.json           the same for the single-net baseline
      multilabel.pkl
      weights-multilabel.npz

Each pickle is written atomically and only then recorded in the JSON (also
written atomically), so a run killed at any moment resumes cleanly: a net is
either recorded with its checksum or trained again.  Loading a finished run
is :mod:`soundtrack_cnn.training.loading`'s job.

A pickle is code, and a run folder may come from anyone (sharing runs is how a
study is reproduced), while its checksums prove only that its files agree
with each other.  So each pickle is also recorded with this user's keyed
signature (:mod:`soundtrack_cnn.signing`), and :meth:`ModelFolder.load_model`
unpickles only a pickle signed here -- or one the caller explicitly trusts
(``trust=True``, ``--trust-pickles``).  Everything that only scores reads the
weights file instead (:meth:`ModelFolder.require_weights`), which holds no code.
"""
import hashlib
import io
import os
import pickle
import platform
import warnings

import numpy as np

from .. import __version__
from ..audio.features import Normalizer
from ..errors import InputError, Remedy
from ..files import read_json, sha256_bytes, sha256_file, write_bytes, write_json
from ..signing import sign, verify
from .modelfiles import check_model_json, model_file, net_names, seal, write_weights

#: Where each module of an earlier layout lives now: the flat layout (0.2, up
#: to commit dd6f9ef), then the subpackages' first names (up to 4687e15).
#: Pickles name the module of every class they hold (callbacks, batch
#: iterators, ...), so nets pickled under either layout still load.
MOVED_MODULES = {
    "soundtrack_cnn.inference.tagging": "soundtrack_cnn.inference.batch",
    "soundtrack_cnn.collection.distributed": "soundtrack_cnn.parallel.cluster",
    "soundtrack_cnn.collection.pool": "soundtrack_cnn.parallel.pool",
    "soundtrack_cnn.evaluation.baseline": "soundtrack_cnn.beyond.baseline",
    "soundtrack_cnn.evaluation.calibration": "soundtrack_cnn.beyond.calibration",
    "soundtrack_cnn.evaluation.clusters": "soundtrack_cnn.beyond.clusters",
    "soundtrack_cnn.evaluation.sequence": "soundtrack_cnn.beyond.sequence",
    "soundtrack_cnn.training.record": "soundtrack_cnn.training.modelfiles",
    "soundtrack_cnn.audio": "soundtrack_cnn.audio.io",
    "soundtrack_cnn.baseline": "soundtrack_cnn.beyond.baseline",
    "soundtrack_cnn.batches": "soundtrack_cnn.training.batches",
    "soundtrack_cnn.budget": "soundtrack_cnn.training.budget",
    "soundtrack_cnn.calibration": "soundtrack_cnn.beyond.calibration",
    "soundtrack_cnn.callbacks": "soundtrack_cnn.training.callbacks",
    "soundtrack_cnn.checkpoint": "soundtrack_cnn.training.checkpoint",
    "soundtrack_cnn.clusters": "soundtrack_cnn.beyond.clusters",
    "soundtrack_cnn.collection": "soundtrack_cnn.reporting.collection_report",
    "soundtrack_cnn.compaction": "soundtrack_cnn.collection.compaction",
    "soundtrack_cnn.compare": "soundtrack_cnn.experiment.compare",
    "soundtrack_cnn.compat": "soundtrack_cnn.stack.compat",
    "soundtrack_cnn.corpus": "soundtrack_cnn.collection.corpus",
    "soundtrack_cnn.dataset": "soundtrack_cnn.training.dataset",
    "soundtrack_cnn.distributed": "soundtrack_cnn.parallel.cluster",
    "soundtrack_cnn.engine": "soundtrack_cnn.inference.numpy_net",
    "soundtrack_cnn.ensemble": "soundtrack_cnn.training.ensemble",
    "soundtrack_cnn.evaluate": "soundtrack_cnn.scoring.metrics",
    "soundtrack_cnn.extraction": "soundtrack_cnn.collection.extraction",
    "soundtrack_cnn.features": "soundtrack_cnn.audio.features",
    "soundtrack_cnn.figures": "soundtrack_cnn.reporting.figures",
    "soundtrack_cnn.imdb": "soundtrack_cnn.labelling.imdb",
    "soundtrack_cnn.inference": "soundtrack_cnn.inference.model",
    "soundtrack_cnn.labelling": "soundtrack_cnn.labelling.folder",
    "soundtrack_cnn.labels": "soundtrack_cnn.collection.labels",
    "soundtrack_cnn.loading": "soundtrack_cnn.training.loading",
    "soundtrack_cnn.manifest": "soundtrack_cnn.collection.manifest",
    "soundtrack_cnn.modelrecord": "soundtrack_cnn.training.modelfiles",
    "soundtrack_cnn.network": "soundtrack_cnn.training.network",
    "soundtrack_cnn.ops": "soundtrack_cnn.stack.ops",
    "soundtrack_cnn.parallel_rng": "soundtrack_cnn.stack.parallel_rng",
    "soundtrack_cnn.pipeline": "soundtrack_cnn.experiment.pipeline",
    "soundtrack_cnn.pooling": "soundtrack_cnn.scoring.pooling",
    "soundtrack_cnn.prediction": "soundtrack_cnn.scoring.prediction",
    "soundtrack_cnn.profiles": "soundtrack_cnn.experiment.profiles",
    "soundtrack_cnn.reconstruct": "soundtrack_cnn.audio.reconstruct",
    "soundtrack_cnn.report": "soundtrack_cnn.experiment.report",
    "soundtrack_cnn.runfolder": "soundtrack_cnn.experiment.runfolder",
    "soundtrack_cnn.runtime": "soundtrack_cnn.stack.runtime",
    "soundtrack_cnn.sequence": "soundtrack_cnn.beyond.sequence",
    "soundtrack_cnn.splits": "soundtrack_cnn.collection.splits",
    "soundtrack_cnn.store": "soundtrack_cnn.collection.store",
    "soundtrack_cnn.streaming": "soundtrack_cnn.audio.streaming",
    "soundtrack_cnn.tagging": "soundtrack_cnn.inference.batch",
    "soundtrack_cnn.timeline": "soundtrack_cnn.reporting.timeline",
    "soundtrack_cnn.tracksets": "soundtrack_cnn.experiment.tracksets",
    "soundtrack_cnn.viewer": "soundtrack_cnn.reporting.viewer",
}


class _Unpickler(pickle.Unpickler):
    """Resolves the classes of nets pickled under the flat layout."""

    def find_class(self, module, name):
        if module in MOVED_MODULES:
            warnings.warn("a pickle names {}, a module of an earlier layout (compatibility path "
                          "`moved-modules`, removed in 0.4)".format(module), DeprecationWarning)
        return super().find_class(MOVED_MODULES.get(module, module), name)


def unpickle(stream):
    """Unpickle from a binary stream, classes of the flat layout found where they live now.

    Unpickling runs code: only for files signed here, or that the user trusts
    (:meth:`ModelFolder.load_model` decides).
    """
    return _Unpickler(stream).load()


__all__ = ["ModelFolder", "model_metadata", "model_params", "export_weights", "fingerprint",
           "unpickle", "MOVED_MODULES", "upgrade_remedy"]


def upgrade_remedy(run_dir, kind="ensemble"):
    """The call that makes a run's pickles usable again, if one trusts them (named in every refusal).

    ``upgrade_run(run_dir, trust=True)`` writes the weights file from the
    pickles and signs them with this user's secret; the command line names it
    as ``soundtrack-cnn upgrade RUN --trust-pickles`` (which upgrades both kinds).

    Examples
    --------
    >>> str(upgrade_remedy("runs/x")), str(upgrade_remedy("runs/x", "multilabel"))
    ("upgrade_run('runs/x', trust=True)", "upgrade_run('runs/x', kind='multilabel', trust=True)")
    """
    return Remedy("upgrade_run", run_dir, **({} if kind == "ensemble" else {"kind": kind}),
                  trust=True)


def fingerprint(y, valid):
    """sha256 of the targets and the validation mask: "is this the same training data?".

    Examples
    --------
    >>> a = fingerprint(np.eye(2), [True, False])
    >>> a == fingerprint(np.eye(2), [True, False]), a == fingerprint(np.eye(2), [False, True])
    (True, False)
    """
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(y, np.int8), np.ascontiguousarray(valid, np.int8)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _versions():
    """Installed versions of the stack, as the package registry names them."""
    from importlib.metadata import version
    names = ["Theano", "Lasagne", "nolearn", "numpy", "scipy", "scikit-learn",
             "python_speech_features"]
    return dict({name: version(name) for name in names}, soundtrack_cnn=__version__,
                python=platform.python_version())


def model_metadata(model):
    """Everything about a fitted model but its weights, as a JSON-ready dict.

    The one description of a model on disk: ``ensemble.json`` /
    ``multilabel.json`` hold it (plus ``models``), and the ``.npz`` export
    carries it too.
    """
    return {
        "kind": model.kind,
        "genres": list(model.genres_),
        "feature_settings": model.settings_.to_dict(),
        "normalizer": model.normalizer_.to_dict(),
        "hyperparameters": model.hyperparameters_,
        "seed": model.random_state,
        "training": model.training_,
        # The trunk the nets were fine-tuned from (beyond.trunk.Trunk.record), or None.
        "init": getattr(model, "init_", None),
        "versions": _versions(),
    }


def model_params(model):
    """``{net name: {layer name: [W, b]}}`` of a fitted Theano model."""
    return {name: net.get_all_params_values() for name, net in model.models_.items()}


def export_weights(model, path):
    """Save a fitted model's weights and metadata as ``.npz`` (no pickle inside).

    The format is :func:`soundtrack_cnn.training.modelfiles.pack_weights`'s:
    ``metadata`` (:func:`model_metadata` plus ``summaries``) and every
    parameter of every net.  The numpy engine loads it without Theano
    (``soundtrack-cnn predict OUT.npz``).

    Parameters
    ----------
    model : SpecialistEnsemble or MultiLabelNet
    path : str
    """
    metadata = dict(model_metadata(model), summaries=model.summaries_)
    return write_weights(path, metadata, model_params(model))


def _describe_init(init):
    """A model record's ``init`` in a few words.

    Examples
    --------
    >>> _describe_init(None), _describe_init({"sha256": "0123456789abcdef", "freeze_conv": True})
    ('none', '0123456789ab, conv blocks frozen')
    """
    if not init:
        return "none"
    return init["sha256"][:12] + (", conv blocks frozen" if init.get("freeze_conv") else "")


class ModelFolder(object):
    """The files of one model (``kind`` 'ensemble' or 'multilabel') in a run folder.

    Parameters
    ----------
    path : str
        The run folder (created when needed).
    kind : {'ensemble', 'multilabel'}

    Examples
    --------
    >>> import tempfile
    >>> ModelFolder(tempfile.mkdtemp(), "ensemble").read() is None
    True
    """

    def __init__(self, path, kind):
        self.path = path
        self.kind = kind
        self.metadata_path = os.path.join(path, "{}.json".format(kind))

    def read(self):
        """The metadata dict, or None if this model was never started here."""
        if not os.path.exists(self.metadata_path):
            return None
        metadata = read_json(self.metadata_path, what="model record")
        check_model_json(metadata, self.metadata_path, self.kind)
        return metadata

    def require(self):
        """The metadata dict; InputError naming the folder if it holds no such model.

        Examples
        --------
        >>> ModelFolder("/nonexistent", "ensemble").require()
        Traceback (most recent call last):
        ...
        soundtrack_cnn.errors.InputError: /nonexistent holds no trained ensemble (ensemble.json is missing)
        """
        metadata = self.read()
        if metadata is None:
            raise InputError("{} holds no trained {} ({} is missing)".format(
                self.path, self.kind, os.path.basename(self.metadata_path)))
        return metadata

    def saved_normalizer(self):
        """The normalisation recorded by an earlier fit, or None."""
        metadata = self.read()
        return Normalizer.from_dict(metadata["normalizer"]) if metadata else None

    def begin(self, model, defaults=None):
        """Record a new fit, or check that a resumed one matches the saved run.

        ``defaults`` are the hyperparameters' default values: an option added
        to the package after a run was trained is absent from its record and
        counts as its default (the study's choice), so the run still resumes.
        """
        fresh = dict(model_metadata(model), models={})
        names = net_names(self.kind, fresh["genres"])
        files = {model_file(self.kind, name).lower() for name in names}
        if len(files) != len(names):  # lower(): some file systems ignore case
            raise InputError("genres {} would share a model file; rename one".format(names))
        saved = self.read()
        if saved is None:
            write_json(self.metadata_path, seal(fresh))
            return
        differing = [key for key in ("genres", "feature_settings", "seed", "training")
                     if saved.get(key) != fresh[key]]
        if (saved.get("init") or {}).get("sha256") != (fresh["init"] or {}).get("sha256") or \
                (saved.get("init") or {}).get("freeze_conv") != (fresh["init"] or {}).get(
                    "freeze_conv"):
            differing.append("initial weights (trunk {} then, {} now)".format(
                _describe_init(saved.get("init")), _describe_init(fresh["init"])))
        hyperparameters = dict(defaults or {}, **saved.get("hyperparameters", {}))
        changed = ["{}: {!r} then, {!r} now".format(key, hyperparameters.get(key), value)
                   for key, value in sorted(fresh["hyperparameters"].items())
                   if hyperparameters.get(key) != value]
        if changed:
            differing.append("hyperparameters ({})".format(", ".join(changed)))
        if differing:
            raise InputError(
                "{} holds a run with other {}; resume only with the same data and settings, "
                "or train into a new folder".format(self.path, ", ".join(differing)))

    def has_model(self, name):
        """Whether net ``name`` was saved and recorded."""
        metadata = self.read()
        return bool(metadata) and name in metadata["models"]

    def _context(self, name):
        # What a signature vouches for: this net of this kind of model (a signed
        # pickle copied over another net's does not verify).
        return "{}/{}".format(self.kind, name)

    def save_model(self, name, net, summary):
        """Pickle ``net`` atomically, then record it with its sha256, signature and summary."""
        filename = model_file(self.kind, name)
        data = pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes(os.path.join(self.path, filename), data)
        metadata = self.read()
        metadata["models"][name] = dict(summary, file=filename, sha256=sha256_bytes(data),
                                        signature=sign(data, self._context(name)))
        write_json(self.metadata_path, seal(metadata))

    def sign_models(self):
        """Sign every recorded pickle with this user's key: "I trust this run" (as ``jupyter trust``).

        Only for pickles the caller has decided to trust; each must still match
        its recorded checksum.
        """
        metadata = self.require()
        for name in metadata["models"]:
            data, entry = self._pickle(metadata, name)
            metadata["models"][name]["signature"] = sign(data, self._context(name))
        write_json(self.metadata_path, seal(metadata))

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
        write_json(self.metadata_path, seal(metadata))

    def weights_path(self):
        """The weights file if it exists, matches its sha256 and the current pickles; else None.

        None means: the file must be written again (:meth:`require_weights` refuses).
        """
        metadata = self.read() or {}
        entry = metadata.get("weights")
        current = {name: model["sha256"] for name, model in metadata.get("models", {}).items()}
        if not isinstance(entry, dict) or entry.get("models") != current or \
                not isinstance(entry.get("file"), str) or \
                entry["file"] != "weights-{}.npz".format(self.kind):
            return None
        path = os.path.join(self.path, entry["file"])
        if not os.path.isfile(path) or sha256_file(path) != entry.get("sha256"):
            return None
        return path

    def require_weights(self):
        """The current weights file; InputError saying how to make one if there is none.

        What every reader that only scores (predict, film, evaluate, export)
        reads: plain arrays, never the pickles.
        """
        self.require()
        path = self.weights_path()
        if path is None:
            fix = upgrade_remedy(self.path, self.kind)
            raise InputError(
                "{} has no current weights-{}.npz (a run trained before it was written, or the "
                "file is missing or damaged), and its pickles are not read to score: if you "
                "trust the run, {} writes it from the pickles; else train it again".format(
                    self.path, self.kind, fix), remedy=fix)
        return path

    def _pickle(self, metadata, name):
        """The bytes of net ``name``'s pickle, once they match the recorded checksum."""
        entry = dict(metadata["models"][name])
        path = os.path.join(self.path, entry.pop("file"))
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError as error:
            raise InputError("{} cannot be read ({}): the run in {} is damaged".format(
                path, error.strerror, self.path)) from None
        if sha256_bytes(data) != entry.pop("sha256"):
            raise InputError("{} does not match the checksum recorded in {}: it was changed "
                             "or damaged after training; refusing to unpickle it"
                             .format(path, self.metadata_path))
        return data, entry

    def load_model(self, name, trust=False):
        """Unpickle one net after checking its checksum and signature; returns (net, summary).

        Parameters
        ----------
        name : str
        trust : bool
            Unpickle even if the pickle is not signed by this user (a pickle
            runs code: only for runs one trusts).

        The bytes are read once, then checked and unpickled, so the file
        cannot change between the check and the load.
        """
        metadata = self.require()
        data, entry = self._pickle(metadata, name)
        signature = entry.pop("signature", None)
        reason = None if trust else verify(data, self._context(name), signature)
        if reason is not None:
            fix = upgrade_remedy(self.path, self.kind)
            raise InputError(
                "{}: refusing to unpickle it, since a pickle runs code and {}; if you trust "
                "this run, {} signs its pickles".format(
                    os.path.join(self.path, metadata["models"][name]["file"]), reason, fix),
                remedy=fix)
        return unpickle(io.BytesIO(data)), entry
