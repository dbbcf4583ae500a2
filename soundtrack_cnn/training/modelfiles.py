"""A model's two files: its JSON (``ensemble.json`` / ``multilabel.json``) and its weights (``.npz``).

A run folder's model record says which pickles make the model and how tiles
are normalised before they reach the nets, so a silent edit would silently
change every score.  The record therefore carries a ``checksum`` (sha256 of
its canonical JSON without the checksum itself) and is checked field by field
when read: a record that fails either check is refused with one line naming
the file and the field, never used and never a traceback.  Records written
before checksums existed load with a warning.

The weights file (``weights-<kind>.npz`` in a run folder, or what
``soundtrack-cnn export`` writes) is plain arrays: ``metadata`` (the record's
description of the model as JSON) and one array per parameter, named
``"<net>/<layer>/<index>"``.  :func:`pack_weights` writes that format and
:func:`read_weights` parses it -- the only two places that know it -- and
checks it field by field, so a truncated or edited file is refused with one
line naming it.  This module imports neither Theano nor anything that does.
"""
import hashlib
import io
import json
import os
import re
import sys
import zipfile

import numpy as np

from ..audio.features import FeatureSettings
from ..errors import InputError
from ..files import json_ready

__all__ = ["seal", "check_model_json", "model_file", "net_names", "pack_weights", "read_weights",
           "PARAM_LAYERS"]

#: The study's layers that hold parameters, in order, with the number of
#: dimensions of their ``W`` (4: a convolution, 2: a dense layer).  Each
#: convolution is followed by a 2x2 max-pool that drops a ragged edge.
PARAM_LAYERS = (("conv1", 4), ("conv2", 4), ("conv3", 4), ("conv4", 4),
                ("hidden5", 2), ("hidden6", 2), ("output", 2))

#: Every top-level field, with its JSON type(s).
FIELDS = {
    "kind": str,
    "genres": list,
    "feature_settings": dict,
    "normalizer": dict,
    "hyperparameters": dict,
    "seed": (int, type(None)),
    "training": dict,
    "versions": dict,
    "models": dict,
}
#: Every field of one ``models`` entry that loading relies on.
MODEL_FIELDS = {"file": str, "sha256": str}
_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", int: "an integer",
               type(None): "null", float: "a number"}


def model_file(kind, name):
    """The pickle's file name for net ``name``: readable, and distinct for distinct names.

    Sanitising alone would map ``Sci Fi`` and ``Sci/Fi`` (or any two non-Latin
    names) to one file, so a short hash of the exact name is appended.

    Examples
    --------
    >>> model_file("ensemble", "Sci Fi"), model_file("ensemble", "Sci/Fi")
    ('specialist-Sci_Fi-23fab21f.pkl', 'specialist-Sci_Fi-7541c0da.pkl')
    >>> model_file("multilabel", "multilabel")
    'multilabel.pkl'
    """
    if kind == "multilabel":
        return "multilabel.pkl"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40]
    return "specialist-{}-{}.pkl".format(readable, hashlib.sha256(name.encode()).hexdigest()[:8])


def net_names(kind, genres):
    """The nets that make a model: one specialist per genre, or the one multi-label net.

    Examples
    --------
    >>> net_names("ensemble", ["Drama", "Comedy"]), net_names("multilabel", ["Drama", "Comedy"])
    (['Drama', 'Comedy'], ['multilabel'])
    """
    return list(genres) if kind == "ensemble" else ["multilabel"]


def _digest(record):
    # Over what write_json writes (NaN and infinities as null), so that a record with
    # an infinite loss still matches its checksum once written.
    content = json_ready({key: value for key, value in record.items() if key != "checksum"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal(record):
    """``record`` with its ``checksum`` (over everything else) set.

    Examples
    --------
    >>> sealed = seal({"kind": "ensemble"})
    >>> sorted(sealed), len(sealed["checksum"])
    (['checksum', 'kind'], 64)
    """
    return dict(record, checksum=_digest(record))


def check_model_json(record, path, kind):
    """Raise :class:`InputError` naming ``path`` and the field unless ``record`` is intact.

    Parameters
    ----------
    record : object
        The parsed JSON.
    path : str
        Its file, for the message.
    kind : {'ensemble', 'multilabel'}
        What the file must hold.

    Examples
    --------
    >>> check_model_json({"kind": "ensemble"}, "RUN/ensemble.json", "ensemble")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: RUN/ensemble.json is damaged: field 'genres' is missing; train again into a new folder
    """
    def damaged(problem):
        return InputError("{} is damaged: {}; train again into a new folder".format(path, problem))

    if not isinstance(record, dict):
        raise damaged("it holds {} instead of an object".format(_type_name(record)))
    for field, types in FIELDS.items():
        if field not in record:
            raise damaged("field '{}' is missing".format(field))
        if not _is(record[field], types):
            raise damaged("field '{}' must be {}, not {}".format(
                field, _type_name_of(types), _type_name(record[field])))
    if "checksum" not in record:
        print("warning: {} has no checksum (written by an older version): edits to it cannot "
              "be detected".format(path), file=sys.stderr)
    elif record["checksum"] != _digest(record):
        raise damaged("its content does not match its checksum (it was edited or damaged "
                      "after training)")
    if record["kind"] != kind:
        raise damaged("field 'kind' is {!r}, expected {!r}".format(record["kind"], kind))
    genres = record["genres"]
    if not genres or not all(isinstance(g, str) and g for g in genres) or \
            len(set(genres)) != len(genres):
        raise damaged("field 'genres' must be a list of distinct non-empty strings")
    for field in ("mean", "std"):
        values = record["normalizer"].get(field)
        if not isinstance(values, list) or not all(_is(v, (int, float)) for v in values):
            raise damaged("field 'normalizer.{}' must be a list of numbers".format(field))
    names = set(net_names(kind, genres))
    for name, entry in record["models"].items():
        if name not in names:
            raise damaged("field 'models' holds {!r}, which is not one of its nets".format(name))
        if not isinstance(entry, dict):
            raise damaged("field 'models.{}' must be an object".format(name))
        for field, types in MODEL_FIELDS.items():
            if not _is(entry.get(field), types):
                raise damaged("field 'models.{}.{}' must be {}".format(
                    name, field, _type_name_of(types)))
        if entry["file"] != model_file(kind, name) and not _legacy_file(entry["file"]):
            raise damaged("field 'models.{}.file' names {!r}, not a model file of this "
                          "folder".format(name, entry["file"]))


def _legacy_file(filename):
    """A pickle name as written before names were hashed (a plain file of the folder)."""
    return re.fullmatch(r"specialist-[A-Za-z0-9_.-]+\.pkl", filename) is not None


def _is(value, types):
    # bool is an int to Python, but never a valid seed or statistic here.
    return isinstance(value, types) and not isinstance(value, bool)


def _type_name(value):
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _type_name_of(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES[t] for t in types)


def pack_weights(metadata, params):
    """The bytes of a weights file: ``metadata`` as JSON and every parameter as an array.

    Parameters
    ----------
    metadata : dict
        JSON-ready: ``kind``, ``genres``, ``feature_settings``, ``normalizer``,
        ``hyperparameters``, ``summaries``, ...
    params : dict
        ``{net name: {layer name: [W, b]}}``, as ``NeuralNet.get_all_params_values()``
        gives each net's.

    Returns
    -------
    data : bytes
        An uncompressed ``.npz`` (write it with :func:`soundtrack_cnn.files.write_bytes`).
    """
    arrays = {"metadata": np.array(json.dumps(metadata))}
    for name, layers in params.items():
        for layer, values in layers.items():
            for index, value in enumerate(values):
                arrays["{}/{}/{}".format(name, layer, index)] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_weights(path):
    """Parse and check a weights file of :func:`pack_weights`.

    Returns
    -------
    metadata : dict
    params : dict
        ``{net name: {layer name: [W, b]}}``, nets in column order, layers in
        :data:`PARAM_LAYERS` order.

    Raises
    ------
    InputError
        One line naming ``path``: not an ``.npz``, truncated, metadata
        missing or malformed, a net or layer missing, a parameter of the
        wrong shape or not finite.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> _ = open(path, "wb").write(b"PK not really")
    >>> read_weights(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /.../w.npz: not a weights file of soundtrack-cnn export (not an .npz archive)
    """
    if not os.path.isfile(path):
        raise InputError("{}: no such weights file".format(path))
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files:
                raise ValueError("no metadata")
            metadata = json.loads(str(archive["metadata"]))
            found = {key: archive[key] for key in archive.files if key != "metadata"}
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError("{}: not a weights file of soundtrack-cnn export ({})".format(
            path, reason)) from None
    try:
        return metadata, _check_weights(metadata, found)
    except ValueError as error:
        raise InputError("{} is damaged: {}".format(path, error)) from None


def _check_weights(metadata, found):
    """``{net: {layer: [W, b]}}`` from the arrays of a weights file; ValueError says what is wrong."""
    if not isinstance(metadata, dict):
        raise ValueError("its metadata is not an object")
    for field, types in (("kind", str), ("genres", list), ("feature_settings", dict),
                         ("normalizer", dict), ("hyperparameters", dict)):
        if not _is(metadata.get(field), types):
            raise ValueError("metadata field '{}' must be {}".format(field, _type_name_of(types)))
    kind, genres = metadata["kind"], metadata["genres"]
    if kind not in ("ensemble", "multilabel"):
        raise ValueError("metadata field 'kind' is {!r}, not 'ensemble' or 'multilabel'"
                         .format(kind))
    if not genres or not all(isinstance(g, str) and g for g in genres) or \
            len(set(genres)) != len(genres):
        raise ValueError("metadata field 'genres' must be a list of distinct non-empty strings")
    try:
        settings = FeatureSettings.from_dict(metadata["feature_settings"])
    except (InputError, TypeError, ValueError) as error:
        raise ValueError("metadata field 'feature_settings': {}".format(error))
    for field in ("mean", "std"):
        values = metadata["normalizer"].get(field)
        if not isinstance(values, list) or len(values) != settings.n_mfcc or \
                not all(_is(v, (int, float)) and np.isfinite(v) for v in values):
            raise ValueError("metadata field 'normalizer.{}' must be {} finite numbers".format(
                field, settings.n_mfcc))
    if min(metadata["normalizer"]["std"]) <= 0:
        raise ValueError("metadata field 'normalizer.std' must be positive")
    names = net_names(kind, genres)
    params = {name: {layer: [None, None] for layer, _ in PARAM_LAYERS} for name in names}
    for key, value in found.items():
        parts = key.rsplit("/", 2)
        if len(parts) != 3 or parts[0] not in params or parts[1] not in params[parts[0]] \
                or parts[2] not in ("0", "1"):
            raise ValueError("array {!r} is not a parameter of its nets".format(key))
        params[parts[0]][parts[1]][int(parts[2])] = value
    for name in names:
        _check_net(name, params[name], settings, 1 if kind == "ensemble" else len(genres))
    return params


def _check_net(name, layers, settings, n_outputs):
    """ValueError unless ``layers`` are the study's, chained, for ``settings``' tiles."""
    channels, height, width = 1, settings.n_mfcc, settings.n_frames
    for layer, ndim in PARAM_LAYERS:
        W, b = layers[layer]
        where = "net {!r} layer {}".format(name, layer)
        if W is None or b is None:
            raise ValueError("{}: its {} is missing".format(where, "W" if W is None else "b"))
        if ndim == 4:
            expected = W.ndim == 4 and W.shape[1] == channels and b.shape == W.shape[:1]
            if expected:
                channels = W.shape[0]
                height, width = (height - W.shape[2] + 1) // 2, (width - W.shape[3] + 1) // 2
                expected = height > 0 and width > 0
            wanted = "(filters, {}, rows, columns) filters fitting the tile".format(channels)
        else:
            inputs = channels * height * width if layer == "hidden5" else channels
            expected = W.ndim == 2 and W.shape[0] == inputs and b.shape == W.shape[1:] and \
                (layer != "output" or W.shape[1] == n_outputs)
            wanted = "({}, {})".format(inputs, n_outputs if layer == "output" else "units")
            channels = W.shape[1] if W.ndim == 2 else channels
        if not expected:
            raise ValueError("{}: W {} and b {} do not fit (W must be {})".format(
                where, W.shape, b.shape, wanted))
        for part, value in (("W", W), ("b", b)):
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise ValueError("{}: {} is not all finite numbers".format(where, part))
