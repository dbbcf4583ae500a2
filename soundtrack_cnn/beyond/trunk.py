"""A pretrained trunk: the study's network up to ``hidden6``, as plain arrays with its provenance.

A trunk is two files side by side::

    TRUNK.npz    one array per parameter, "<layer>/<index>" for conv1..hidden6,
                 and "metadata" (JSON text: format, feature settings, the
                 listing's c1..c4, h5, h6); np.load(allow_pickle=False) reads it
    TRUNK.json   provenance: packages and versions, stores, tracks and hours,
                 epochs, loss curve, the command that rebuilds it, and the
                 sha256 of TRUNK.npz

Both are data, never code: nothing is unpickled, every array is checked
against the listing's shapes for the recorded feature settings, and the
``.npz`` must match the sha256 its provenance records.  ``"pretrained"``
names the trunk that ships with the package (:data:`SHIPPED`).

:meth:`Trunk.load_into` copies a trunk into a net's Lasagne layers (the start
of fine-tuning, :class:`~soundtrack_cnn.training.ensemble.SpecialistEnsemble`'s
``init``) and can freeze its convolutional blocks; :func:`embed_tiles` gives
the trunk's ``hidden6`` activations (the linear probe's features).
"""
import io
import json
import os
import zipfile

import numpy as np

from ..audio.features import FeatureSettings
from ..errors import InputError
from ..files import read_json, sha256_bytes, sha256_file, write_bytes, write_json

__all__ = ["TRUNK_LAYERS", "CONV_LAYERS", "SHIPPED", "Trunk", "write_trunk", "read_trunk",
           "resolve_trunk", "trunk_shapes", "embed_tiles", "describe_init"]

FORMAT = "soundtrack_cnn trunk"
VERSION = 1
#: The layers a trunk holds, in order: the listing up to its second-to-last dense layer.
TRUNK_LAYERS = ("conv1", "conv2", "conv3", "conv4", "hidden5", "hidden6")
#: The convolutional blocks (what ``freeze_conv`` keeps fixed while fine-tuning).
CONV_LAYERS = TRUNK_LAYERS[:4]
#: The listing's sizes a trunk records (each a hyperparameter of ``build_net``).
ARCHITECTURE = ("c1", "c2", "c3", "c4", "h5", "h6")
#: Filter sizes of the listing's convolutions.
_FILTERS = ((5, 5), (4, 4), (2, 2), (2, 2))
#: The trunk that ships with the package (``--init pretrained``).
SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "trunks",
                       "pretrained.npz")


def trunk_shapes(architecture, settings):
    """``{layer: (W shape, b shape)}`` of a trunk of the listing for ``settings``' tiles.

    Examples
    --------
    >>> shapes = trunk_shapes(dict(c1=32, c2=64, c3=128, c4=256, h5=50, h6=50), FeatureSettings())
    >>> shapes["conv1"], shapes["hidden5"]
    (((32, 1, 5, 5), (32,)), ((1024, 50), (50,)))
    >>> sum(int(np.prod(w)) + int(np.prod(b)) for w, b in shapes.values())
    251688
    """
    channels, height, width = 1, settings.n_mfcc, settings.n_frames
    shapes = {}
    for index, (rows, columns) in enumerate(_FILTERS):
        filters = int(architecture["c{}".format(index + 1)])
        shapes[CONV_LAYERS[index]] = ((filters, channels, rows, columns), (filters,))
        channels = filters
        height, width = (height - rows + 1) // 2, (width - columns + 1) // 2
        if height < 1 or width < 1:
            raise InputError("tiles of {} x {} are too small for the listing's four "
                             "convolutions".format(settings.n_mfcc, settings.n_frames))
    h5, h6 = int(architecture["h5"]), int(architecture["h6"])
    shapes["hidden5"] = ((channels * height * width, h5), (h5,))
    shapes["hidden6"] = ((h5, h6), (h6,))
    return shapes


class Trunk(object):
    """A trunk read from disk (or just trained): weights, what they fit, where they come from.

    Attributes
    ----------
    params : dict
        ``{layer: [W, b]}`` for :data:`TRUNK_LAYERS`.
    settings : FeatureSettings
    architecture : dict
        ``c1..c4, h5, h6``.
    provenance : dict
    sha256 : str or None
        Of the ``.npz`` (None until written).
    path : str or None
    """

    def __init__(self, params, settings, architecture, provenance=None, sha256=None, path=None):
        self.params = params
        self.settings = settings
        self.architecture = {key: int(architecture[key]) for key in ARCHITECTURE}
        self.provenance = provenance or {}
        self.sha256 = sha256
        self.path = path

    @property
    def n_params(self):
        return sum(int(np.size(value)) for values in self.params.values() for value in values)

    def load_into(self, layers, freeze_conv=False):
        """Copy the weights into a net's Lasagne layers; optionally freeze the conv blocks.

        Parameters
        ----------
        layers : dict
            ``{name: lasagne layer}`` (a nolearn net's ``layers_`` after
            ``initialize_layers()``, before its training function is compiled).
        freeze_conv : bool
            Drop the ``trainable`` tag of conv1..conv4's parameters, so the
            updates leave them as the trunk has them.
        """
        for layer in TRUNK_LAYERS:
            for param, value in zip(layers[layer].get_params(), self.params[layer]):
                if param.get_value().shape != value.shape:
                    raise InputError("the trunk {}'s layer {} has shape {}, the net's {}".format(
                        self.path, layer, value.shape, param.get_value().shape))
                param.set_value(np.asarray(value, param.dtype))
            if freeze_conv and layer in CONV_LAYERS:
                for tags in layers[layer].params.values():
                    tags.discard("trainable")

    def record(self, freeze_conv=False):
        """What a model record keeps of its trunk (checked on resume): path, sha256, provenance.

        Examples
        --------
        >>> trunk = Trunk({}, FeatureSettings(), dict(c1=1, c2=1, c3=1, c4=1, h5=1, h6=1),
        ...               {"epochs": 3}, sha256="ab", path="t.npz")
        >>> trunk.record()["sha256"], trunk.record(freeze_conv=True)["freeze_conv"]
        ('ab', True)
        """
        return {"trunk": self.path, "sha256": self.sha256, "freeze_conv": bool(freeze_conv),
                "provenance": dict(self.provenance)}

    def check_fits(self, settings, architecture, where):
        """Raise :class:`InputError` unless a net of ``architecture`` on ``settings`` tiles can take it."""
        settings.check_same(self.settings, what="{} and the trunk {}".format(where, self.path))
        wanted = {key: int(architecture[key]) for key in ARCHITECTURE}
        if wanted != self.architecture:
            raise InputError("the trunk {} has layers {} but {} asks for {}".format(
                self.path, self.architecture, where, wanted))


def _npz_bytes(trunk):
    metadata = {"format": FORMAT, "version": VERSION, "feature_settings": trunk.settings.to_dict(),
                "architecture": trunk.architecture, "layers": list(TRUNK_LAYERS)}
    arrays = {"metadata": np.array(json.dumps(metadata))}
    for layer in TRUNK_LAYERS:
        for index, value in enumerate(trunk.params[layer]):
            arrays["{}/{}".format(layer, index)] = np.asarray(value, np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _json_path(path):
    return os.path.splitext(path)[0] + ".json"


def write_trunk(path, trunk):
    """Write ``TRUNK.npz`` then ``TRUNK.json`` (provenance + sha256), each atomically.

    Returns
    -------
    sha256 : str
        Of the ``.npz``; also set on ``trunk``.
    """
    if not path.endswith(".npz"):
        raise InputError("{}: a trunk is written as an .npz file".format(path))
    data = _npz_bytes(trunk)
    write_bytes(path, data)
    trunk.sha256, trunk.path = sha256_bytes(data), path
    write_json(_json_path(path), dict(trunk.provenance, file=os.path.basename(path),
                                      sha256=trunk.sha256, n_params=trunk.n_params))
    return trunk.sha256


def resolve_trunk(trunk):
    """The path of a trunk given as a path or as ``'pretrained'`` (the shipped one).

    Examples
    --------
    >>> os.path.basename(resolve_trunk("pretrained"))
    'pretrained.npz'
    """
    return SHIPPED if trunk == "pretrained" else trunk


def read_trunk(trunk):
    """Read and check a trunk (a path, or ``'pretrained'``).

    Raises
    ------
    InputError
        One line naming the file: missing, not an ``.npz`` of this format,
        an array missing, of the wrong shape or not finite, no provenance
        beside it, or a provenance whose sha256 is not the file's.
    """
    path = resolve_trunk(trunk)
    if not os.path.isfile(path):
        hint = (" (the package was installed without its trunk; `make pretrain-trunk` "
                "rebuilds it)" if trunk == "pretrained" else "")
        raise InputError("{}: no such trunk file{}".format(path, hint))
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files:
                raise ValueError("no metadata")
            metadata = json.loads(str(archive["metadata"]))
            found = {key: archive[key] for key in archive.files if key != "metadata"}
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT or \
                metadata.get("version") != VERSION:
            raise ValueError("not a version {} trunk".format(VERSION))
        settings = FeatureSettings.from_dict(metadata["feature_settings"])
        architecture = metadata["architecture"]
        if not isinstance(architecture, dict) or not all(
                isinstance(architecture.get(key), int) and 0 < architecture[key] <= 4096
                for key in ARCHITECTURE):
            raise ValueError("its architecture must give c1..c4, h5, h6 as sizes up to 4096")
        params = _check_params(found, trunk_shapes(architecture, settings))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError("{}: not a trunk of soundtrack-cnn pretrain ({})".format(path, reason)) \
            from None
    provenance = read_json(_json_path(path), what="trunk provenance")
    sha256 = sha256_file(path)
    if not isinstance(provenance, dict) or provenance.get("sha256") != sha256:
        raise InputError("{}: its provenance {} records another sha256 (the trunk was changed "
                         "after it was written)".format(path, _json_path(path)))
    return Trunk(params, settings, architecture, provenance, sha256, path)


def _check_params(found, shapes):
    expected = {"{}/{}".format(layer, index) for layer in shapes for index in (0, 1)}
    if set(found) != expected:
        raise ValueError("arrays {} instead of {}".format(sorted(found), sorted(expected)))
    params = {}
    for layer, (w_shape, b_shape) in shapes.items():
        W, b = found[layer + "/0"], found[layer + "/1"]
        if W.shape != w_shape or b.shape != b_shape:
            raise ValueError("layer {}: W {} and b {}, the listing needs {} and {}".format(
                layer, W.shape, b.shape, w_shape, b_shape))
        if W.dtype.kind != "f" or b.dtype.kind != "f" or not (np.isfinite(W).all()
                                                              and np.isfinite(b).all()):
            raise ValueError("layer {}: not all finite numbers".format(layer))
        params[layer] = [W.astype(np.float32), b.astype(np.float32)]
    return params


def embed_tiles(trunk, X, batch=256):
    """The trunk's ``hidden6`` activation for each tile (dropout off).

    Parameters
    ----------
    trunk : Trunk
    X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
        Normalised tiles (e.g. a normalising TileView).
    batch : int

    Returns
    -------
    embeddings : ndarray of float32, shape (n_tiles, h6)
    """
    import lasagne
    import theano
    import theano.tensor as T
    from ..training.network import build_net
    net = build_net(input_shape=(None,) + tuple(trunk.settings.tile_shape), **trunk.architecture)
    net.initialize_layers()
    trunk.load_into(net.layers_)
    tiles = T.tensor4("tiles")
    forward = theano.function([tiles], lasagne.layers.get_output(
        net.layers_["hidden6"], tiles, deterministic=True))
    out = np.empty((len(X), trunk.architecture["h6"]), np.float32)
    for start in range(0, len(X), batch):
        out[start:start + batch] = forward(np.asarray(X[start:start + batch], np.float32))
    return out


def describe_init(init):
    """One line on the trunk a model was fine-tuned from (its record's ``init``), or None.

    Examples
    --------
    >>> describe_init({"trunk": "t.npz", "sha256": "0123456789abcdef", "freeze_conv": False,
    ...                "provenance": {"data": {"tracks": 480, "hours": 18.1}, "epochs": 5}})
    'fine-tuned from the trunk t.npz (sha256 0123456789ab; pretrained on 480 tracks, 18.1 h, 5 epochs)'
    """
    if not init:
        return None
    provenance = init.get("provenance") or {}
    return "fine-tuned from the trunk {} (sha256 {}; pretrained on {} tracks, {} h, {} epochs){}" \
        .format(init["trunk"], init["sha256"][:12], provenance.get("data", {}).get("tracks"),
                provenance.get("data", {}).get("hours"), provenance.get("epochs"),
                "; conv blocks frozen" if init.get("freeze_conv") else "")
