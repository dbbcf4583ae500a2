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
line naming it.  A weights file is data, never code, and may come from anyone:
it is read from its zip directory first (every member's declared size checked
against what the metadata describes before anything is decompressed), and
every array's shape is checked against the network its metadata describes
(:func:`param_shapes`) before it is read.  This module imports neither Theano
nor anything that does.
"""
import hashlib
import io
import json
import os
import re
import warnings
import zipfile

import numpy as np

from ..audio.features import FeatureSettings
from ..errors import InputError
from ..files import json_ready, write_bytes
from ..signing import is_signature

__all__ = ["seal", "check_seal", "check_model_json", "model_file", "net_names", "pack_weights",
           "write_weights", "read_weights", "check_metadata", "check_model_settings",
           "param_shapes", "PARAM_LAYERS", "KERNELS", "WIDTH_BOUNDS", "MAX_METADATA_CHARS",
           "MAX_MODEL_BYTES", "KINDS"]

#: The kinds of model a run trains: the study's specialists, and its single net.
KINDS = ("ensemble", "multilabel")

#: The study's layers that hold parameters, in order, with the number of
#: dimensions of their ``W`` (4: a convolution, 2: a dense layer).  Each
#: convolution is followed by a 2x2 max-pool that drops a ragged edge.
PARAM_LAYERS = (("conv1", 4), ("conv2", 4), ("conv3", 4), ("conv4", 4),
                ("hidden5", 2), ("hidden6", 2), ("output", 2))
#: Each parameter layer's width (its hyperparameter; the output's is the net's number
#: of outputs) and each convolution's filter size.  ``network.py`` spells the same
#: network out as the study's listing does; this module must not import it (Theano),
#: so the shapes are repeated here and a test builds nets to keep the two equal.
KERNELS = {"conv1": (5, 5), "conv2": (4, 4), "conv3": (2, 2), "conv4": (2, 2)}
WIDTHS = {"conv1": "c1", "conv2": "c2", "conv3": "c3", "conv4": "c4", "hidden5": "h5",
          "hidden6": "h6"}
#: Widths a weights file may declare: 1 to 16 times the study's largest (256 filters).
WIDTH_BOUNDS = (1, 4096)
#: Longest metadata a model file may carry, in characters of JSON: every key, the
#: in-distribution reference ``film`` reads (``in_distribution``, 0.2 M characters at
#: its largest, 20,000 training tiles) included; the study's other fields take ~10 kB.
MAX_METADATA_CHARS = 2 ** 24
#: Largest model file (or total of its arrays) read: a thousand study specialists.
MAX_MODEL_BYTES = 2 ** 30
#: Most genres a model may have (each is a net, or a column of one).
MAX_GENRES = 1000
#: Room for an .npy member's header (numpy writes 128 bytes; a long shape needs more).
_NPY_HEADER_BYTES = 1024
#: Array types a weights file may hold (little-endian floats, as numpy writes them).
_DTYPES = (np.dtype("<f4"), np.dtype("<f8"))

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


def check_seal(record, path, damaged):
    """Check ``record``'s ``checksum``: the one rule for every sealed JSON of a run folder.

    A missing checksum (a file written before checksums existed) is a
    warning; a wrong one raises ``damaged(reason)``.
    """
    if "checksum" not in record:
        warnings.warn("{} has no checksum (written by an older version): edits to it cannot "
                      "be detected (compatibility path `unsealed-json`, removed in 0.4)".format(
                          path), DeprecationWarning)
    elif record["checksum"] != _digest(record):
        raise damaged("its content does not match its checksum (it was edited or damaged "
                      "after it was written)")


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
    check_seal(record, path, damaged)
    if record["kind"] != kind:
        raise damaged("field 'kind' is {!r}, expected {!r}".format(record["kind"], kind))
    genres = record["genres"]
    if not genres or not all(isinstance(g, str) and g for g in genres) or \
            len(set(genres)) != len(genres):
        raise damaged("field 'genres' must be a list of distinct non-empty strings")
    try:
        FeatureSettings.from_dict(record["feature_settings"])
    except (InputError, TypeError) as error:
        raise damaged("field 'feature_settings': {}".format(error)) from None
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
        if "signature" in entry and not is_signature(entry["signature"]):
            raise damaged("field 'models.{}.signature' is not a signature".format(name))
        if entry["file"] != model_file(kind, name) and not _legacy_file(entry["file"]):
            raise damaged("field 'models.{}.file' names {!r}, not a model file of this "
                          "folder".format(name, entry["file"]))
        if entry["file"] != model_file(kind, name):
            warnings.warn("{}: {} has no hash in its name (compatibility path `unhashed-pickle-"
                          "names`, removed in 0.4)".format(path, entry["file"]), DeprecationWarning)


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


def write_weights(path, metadata, params):
    """Write a weights file atomically: the one writer of the format.

    A run's ``weights-<kind>.npz``, ``export_weights`` and ``soundtrack-cnn
    export ... OUT.npz`` all come here.

    Parameters
    ----------
    path : str
    metadata, params
        As :func:`pack_weights` takes them.
    """
    write_bytes(path, pack_weights(metadata, params))
    return path


def check_model_settings(metadata, settings, where):
    """InputError unless features made with ``settings`` (if given) are what the model takes.

    The one check for every reader of a model (run folder, ``.npz``, ``.onnx``).
    """
    if settings is not None:
        settings.check_same(FeatureSettings.from_dict(metadata["feature_settings"]),
                            what="the model in {}".format(where))


def check_metadata(metadata):
    """The feature settings of a model's metadata, once its common fields are sound.

    Checked here, for every model file (``.npz`` or ``.onnx``) before any
    array is read or any graph is opened: ``kind``, ``genres`` (distinct
    non-empty names, at most :data:`MAX_GENRES`), ``feature_settings``
    (within :data:`~soundtrack_cnn.audio.features.SETTINGS_BOUNDS`) and
    ``normalizer`` (``n_mfcc`` finite means and positive deviations).

    Raises
    ------
    ValueError
        Saying which field is wrong (the caller names the file).

    Examples
    --------
    >>> check_metadata({"kind": "ensemble", "genres": ["Drama"], "normalizer": {},
    ...                 "feature_settings": {"nfft": 2 ** 28}, "hyperparameters": {}})
    Traceback (most recent call last):
    ...
    ValueError: metadata field 'feature_settings': invalid FeatureSettings: nfft must be in [64, 16384] samples, got 268435456
    """
    if not isinstance(metadata, dict):
        raise ValueError("its metadata is not an object")
    for field, types in (("kind", str), ("genres", list), ("feature_settings", dict),
                         ("normalizer", dict), ("hyperparameters", dict)):
        if not _is(metadata.get(field), types):
            raise ValueError("metadata field '{}' must be {}".format(field, _type_name_of(types)))
    kind, genres = metadata["kind"], metadata["genres"]
    if kind not in KINDS:
        raise ValueError("metadata field 'kind' is {!r}, not 'ensemble' or 'multilabel'"
                         .format(kind))
    if not genres or len(genres) > MAX_GENRES or \
            not all(isinstance(g, str) and g for g in genres) or len(set(genres)) != len(genres):
        raise ValueError("metadata field 'genres' must be a list of 1 to {} distinct non-empty "
                         "strings".format(MAX_GENRES))
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
    return settings


def param_shapes(metadata):
    """``{array name: (W or b shape)}`` of every parameter the metadata's network has.

    The network is the study's (:data:`PARAM_LAYERS`, :data:`KERNELS`) with
    the widths of ``metadata["hyperparameters"]`` (``c1``..``c4``, ``h5``,
    ``h6``, each within :data:`WIDTH_BOUNDS`), on tiles of its feature
    settings, with one output per specialist or one per genre.

    Raises
    ------
    ValueError
        A width missing or out of bounds, or filters that do not fit the tile.

    Examples
    --------
    >>> from soundtrack_cnn.audio.features import FeatureSettings
    >>> widths = dict(c1=32, c2=64, c3=128, c4=256, h5=50, h6=50)
    >>> shapes = param_shapes({"kind": "ensemble", "genres": ["Drama"], "hyperparameters": widths,
    ...                        "feature_settings": FeatureSettings().to_dict(),
    ...                        "normalizer": {"mean": [0] * 40, "std": [1] * 40}})
    >>> shapes["Drama/conv1/0"], shapes["Drama/hidden5/0"], shapes["Drama/output/1"]
    ((32, 1, 5, 5), (1024, 50), (1,))
    """
    settings = check_metadata(metadata)
    hyperparameters = metadata["hyperparameters"]
    low, high = WIDTH_BOUNDS
    widths = {}
    for layer, name in WIDTHS.items():
        value = hyperparameters.get(name)
        if not _is(value, int) or not low <= value <= high:
            raise ValueError("metadata field 'hyperparameters.{}' must be an integer in [{}, {}], "
                             "got {!r}".format(name, low, high, value))
        widths[layer] = value
    kind, genres = metadata["kind"], metadata["genres"]
    widths["output"] = 1 if kind == "ensemble" else len(genres)
    channels, height, width = 1, settings.n_mfcc, settings.n_frames
    layers = {}
    for layer, ndim in PARAM_LAYERS:
        if ndim == 4:
            rows, columns = KERNELS[layer]
            layers[layer] = ((widths[layer], channels, rows, columns), (widths[layer],))
            channels = widths[layer]
            height, width = (height - rows + 1) // 2, (width - columns + 1) // 2
            if height < 1 or width < 1:
                raise ValueError("the study's filters do not fit tiles of {} x {}".format(
                    settings.n_mfcc, settings.n_frames))
        else:
            inputs = channels * height * width if layer == "hidden5" else channels
            layers[layer] = ((inputs, widths[layer]), (widths[layer],))
            channels = widths[layer]
    return {"{}/{}/{}".format(net, layer, index): shape
            for net in net_names(kind, genres)
            for layer, shapes in layers.items() for index, shape in enumerate(shapes)}


def read_weights(path):
    """Parse and check a weights file of :func:`pack_weights`.

    Nothing is decompressed before its declared size is known to fit: the
    zip directory is read first, the metadata member (at most
    :data:`MAX_METADATA_CHARS`) is read and checked (:func:`check_metadata`,
    :func:`param_shapes`), every other member must be one of those arrays with
    a declared size that fits its shape, and each array's own header must give
    that exact shape and a float type before its data is read.

    Returns
    -------
    metadata : dict
    params : dict
        ``{net name: {layer name: [W, b]}}``, nets in column order, layers in
        :data:`PARAM_LAYERS` order.

    Raises
    ------
    InputError
        One line naming ``path``: not an ``.npz``, truncated, too large,
        metadata missing or malformed, an array missing, unknown, of the wrong
        shape or not finite.

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
        if os.path.getsize(path) > MAX_MODEL_BYTES:
            raise ValueError("larger than {} bytes".format(MAX_MODEL_BYTES))
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            metadata = _read_metadata(archive, members)
            arrays = _read_arrays(archive, members, metadata)
    except InputError:
        raise
    except _Damaged as error:
        raise InputError("{} is damaged: {}".format(path, error)) from None
    except (OSError, ValueError, EOFError, RecursionError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise InputError("{}: not a weights file of soundtrack-cnn export ({})".format(
            path, reason)) from None
    try:
        return metadata, _check_weights(metadata, arrays)
    except ValueError as error:
        raise InputError("{} is damaged: {}".format(path, error)) from None


class _Damaged(ValueError):
    """A weights file whose parts are there but wrong (as opposed to not a weights file)."""


def _npy_header(stream):
    """(shape, fortran_order, dtype) of an .npy stream, read from its header alone."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError("an array of .npy format version {}".format(version))


def _read_metadata(archive, members):
    info = members.get("metadata.npy")
    if info is None:
        raise ValueError("no metadata")
    # numpy stores the JSON as a unicode scalar: 4 bytes per character.
    if info.file_size > 4 * MAX_METADATA_CHARS + _NPY_HEADER_BYTES:
        raise _Damaged("its metadata declares {} bytes, more than {} characters".format(
            info.file_size, MAX_METADATA_CHARS))
    with archive.open(info) as stream:
        shape, _, dtype = _npy_header(stream)
        # The header's own string length sizes the buffer numpy allocates: bound it too.
        if shape != () or dtype.kind != "U" or dtype.itemsize > info.file_size:
            raise _Damaged("its metadata is not a string of the size its member declares")
    with archive.open(info) as stream:
        text = str(np.lib.format.read_array(stream, allow_pickle=False))
    try:
        return json.loads(text)
    except ValueError as error:
        raise _Damaged("its metadata is not JSON ({})".format(error)) from None


def _read_arrays(archive, members, metadata):
    """``{array name: array}`` of every member but the metadata, each checked before reading."""
    try:
        shapes = param_shapes(metadata)
    except ValueError as error:
        raise _Damaged(str(error)) from None
    largest = max(dtype.itemsize for dtype in _DTYPES)
    total = sum(largest * int(np.prod(shape)) for shape in shapes.values())
    if total > MAX_MODEL_BYTES:
        raise _Damaged("its metadata describes {} bytes of weights, more than {}".format(
            total, MAX_MODEL_BYTES))
    arrays = {}
    for filename, info in members.items():
        if filename == "metadata.npy":
            continue
        key = filename[:-len(".npy")] if filename.endswith(".npy") else filename
        if key not in shapes:
            raise _Damaged("array {!r} is not a parameter of its nets".format(key))
        if info.file_size > largest * int(np.prod(shapes[key])) + _NPY_HEADER_BYTES:
            raise _Damaged("array {!r} declares {} bytes, more than a {} array".format(
                key, info.file_size, shapes[key]))
        with archive.open(info) as stream:
            shape, _, dtype = _npy_header(stream)
            if shape != shapes[key] or dtype not in _DTYPES:
                raise _Damaged("array {!r} is {} {}, not the {} floats its metadata describes"
                               .format(key, dtype, shape, shapes[key]))
        with archive.open(info) as stream:
            arrays[key] = np.lib.format.read_array(stream, allow_pickle=False)
    return arrays


def _check_weights(metadata, found):
    """``{net: {layer: [W, b]}}`` from the checked arrays; ValueError says what is missing."""
    names = net_names(metadata["kind"], metadata["genres"])
    params = {name: {layer: [None, None] for layer, _ in PARAM_LAYERS} for name in names}
    for key, value in found.items():
        name, layer, index = key.rsplit("/", 2)
        params[name][layer][int(index)] = value
    for name in names:
        for layer, _ in PARAM_LAYERS:
            for part, value in zip("Wb", params[name][layer]):
                where = "net {!r} layer {}".format(name, layer)
                if value is None:
                    raise ValueError("{}: its {} is missing".format(where, part))
                if not np.isfinite(value).all():
                    raise ValueError("{}: {} is not all finite numbers".format(where, part))
    return params
