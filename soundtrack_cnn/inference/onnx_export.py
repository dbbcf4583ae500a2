"""A trained model as one ONNX file: the graph, its metadata and a checksum.

The graph is built from the run's weights with the ``onnx`` package's own
helpers (no PyTorch, no Theano)::

    tiles (n, 1, n_mfcc, n_frames), raw MFCC tiles
      -> Sub mean, Div std                      the training normalisation
      -> per net: 4 x (Conv, Relu, MaxPool 2x2), Flatten,
                  Gemm, Relu, Gemm, Relu, Gemm, Sigmoid
      -> Concat                                  scores (n, K), genres in order

Each Lasagne layer maps to one ONNX operator: Theano's ``conv2d`` flips its
filters (a true convolution) where ONNX ``Conv`` correlates, so the filters
are stored flipped; ``MaxPool`` without padding drops a ragged edge as
Lasagne's ``ignore_border=True`` does; ``Flatten`` keeps Lasagne's (C, H, W)
order; dropout is the identity at inference and is left out.

One graph holding every specialist side by side was measured against one
graph per specialist (``bench/bench_network.py --onnx-layouts``): one graph
was faster (ONNX Runtime schedules one session's nodes with no per-call
overhead per net), so that is the only layout written.

The model's ``metadata_props`` make the file self-sufficient:

``soundtrack_cnn.model``
    JSON: ``kind``, ``genres``, ``feature_settings`` (how to compute the
    tiles), ``normalizer`` (applied inside the graph), ``hyperparameters``,
    ``summaries``, ``versions``.
``soundtrack_cnn.io``
    JSON: the input's and output's names, shapes and meaning.
``soundtrack_cnn.sha256``
    Always the file's last entry: the sha256 of every byte before it (see
    :func:`seal_onnx`), so a truncated or edited file is refused.
"""
import json

import numpy as np

from ..errors import InputError
from ..files import sha256_bytes, write_bytes
from ..training.modelfiles import PARAM_LAYERS, net_names

__all__ = ["build_onnx", "seal_onnx", "check_onnx", "export_onnx", "INPUT", "OUTPUT",
           "OPSET", "CHECKSUM_KEY"]

#: The graph's input and output names.
INPUT, OUTPUT = "tiles", "scores"
#: The ONNX operator set the graph is written for (ONNX Runtime >= 1.14 runs it).
OPSET = 17
#: Metadata keys.
MODEL_KEY, IO_KEY, CHECKSUM_KEY = "soundtrack_cnn.model", "soundtrack_cnn.io", "soundtrack_cnn.sha256"


def _net_nodes(helper, numpy_helper, name, layers, source, prefix):
    """Nodes and initializers of one net from ``source`` to ``<prefix>out``."""
    nodes, weights, x = [], [], source
    for layer, ndim in PARAM_LAYERS:
        W, b = (np.asarray(value, np.float32) for value in layers[layer])
        if ndim == 4:
            W = np.ascontiguousarray(W[:, :, ::-1, ::-1])  # Theano convolves, ONNX correlates
        weights += [numpy_helper.from_array(W, prefix + layer + ".W"),
                    numpy_helper.from_array(b, prefix + layer + ".b")]
        out = prefix + layer
        if ndim == 4:
            nodes += [helper.make_node("Conv", [x, prefix + layer + ".W", prefix + layer + ".b"],
                                       [out + ".conv"], kernel_shape=list(W.shape[2:])),
                      helper.make_node("Relu", [out + ".conv"], [out + ".relu"]),
                      helper.make_node("MaxPool", [out + ".relu"], [out],
                                       kernel_shape=[2, 2], strides=[2, 2])]
        else:
            if layer == "hidden5":
                nodes.append(helper.make_node("Flatten", [x], [prefix + "flat"], axis=1))
                x = prefix + "flat"
            nodes += [helper.make_node("Gemm", [x, prefix + layer + ".W", prefix + layer + ".b"],
                                       [out + ".gemm"]),
                      helper.make_node("Sigmoid" if layer == "output" else "Relu",
                                       [out + ".gemm"], [out])]
        x = out
    return nodes, weights, x


def build_onnx(metadata, params, check=True):
    """An ONNX ``ModelProto`` scoring raw tiles with every net of a model.

    Parameters
    ----------
    metadata : dict
        As in a weights file (:func:`soundtrack_cnn.training.modelfiles.read_weights`).
    params : dict
        ``{net name: {layer name: [W, b]}}``.
    check : bool
        Run ``onnx.checker`` on it (as every export does).  The engine skips
        it for the graph it opens at once: ONNX Runtime checks what it loads,
        and the checker costs 45 ms of a one-second ``predict``.

    Returns
    -------
    model : onnx.ModelProto
        Not sealed (see :func:`seal_onnx`).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    settings = metadata["feature_settings"]
    n_mfcc, n_frames, genres = settings["n_mfcc"], settings["n_frames"], metadata["genres"]
    mean = np.asarray(metadata["normalizer"]["mean"], np.float32).reshape(1, 1, n_mfcc, 1)
    std = np.asarray(metadata["normalizer"]["std"], np.float32).reshape(1, 1, n_mfcc, 1)
    nodes = [helper.make_node("Sub", [INPUT, "normalizer.mean"], ["centred"]),
             helper.make_node("Div", ["centred", "normalizer.std"], ["normalised"])]
    weights = [numpy_helper.from_array(mean, "normalizer.mean"),
               numpy_helper.from_array(std, "normalizer.std")]
    outputs = []
    for index, name in enumerate(net_names(metadata["kind"], genres)):
        net_nodes, net_weights, out = _net_nodes(helper, numpy_helper, name, params[name],
                                                 "normalised", "net{}.".format(index))
        nodes += net_nodes
        weights += net_weights
        outputs.append(out)
    nodes.append(helper.make_node("Concat", outputs, [OUTPUT], axis=1) if len(outputs) > 1
                 else helper.make_node("Identity", outputs, [OUTPUT]))
    graph = helper.make_graph(
        nodes, "soundtrack_cnn_" + metadata["kind"],
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["n", 1, n_mfcc, n_frames])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["n", len(genres)])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="soundtrack_cnn",
                              doc_string="Film genres from soundtracks: genre scores of MFCC tiles "
                                         "(metadata soundtrack_cnn.io and soundtrack_cnn.model)")
    # Readable by ONNX Runtime releases from 1.14 on, not only the one installed.
    model.ir_version = 8
    io_description = {
        "input": {"name": INPUT, "shape": ["n", 1, n_mfcc, n_frames], "dtype": "float32",
                  "meaning": "MFCC tiles computed with feature_settings "
                             "(soundtrack_cnn.audio.features), per track as its track_norm "
                             "says if given; the training normalisation is inside the graph"},
        "output": {"name": OUTPUT, "shape": ["n", len(genres)], "dtype": "float32",
                   "columns": list(genres),
                   "meaning": "each tile's sigmoid score per genre; a track's tags are the "
                              "genres ranked by the mean score of its tiles"}}
    helper.set_model_props(model, {
        MODEL_KEY: json.dumps(metadata, sort_keys=True),
        IO_KEY: json.dumps(io_description, sort_keys=True)})
    if check:
        onnx.checker.check_model(model)
    return model


def _checksum_entry(digest):
    """The protobuf bytes of metadata entry ``soundtrack_cnn.sha256 = digest`` (field 14)."""
    key, value = CHECKSUM_KEY.encode(), digest.encode()
    entry = bytes([0x0A, len(key)]) + key + bytes([0x12, len(value)]) + value
    return bytes([0x72, len(entry)]) + entry


#: Length of the checksum entry that ends every sealed file.
_TRAILER = len(_checksum_entry("0" * 64))


def seal_onnx(data):
    """Append the checksum entry to a serialised model.

    Concatenated protobuf messages merge, and a repeated field's entries
    append: ``data + entry`` is ``data`` with one more ``metadata_props``
    entry, and since nothing follows it the checksum (of every byte before
    it) is checked by reading the file's tail, with no ONNX parser.

    Examples
    --------
    >>> sealed = seal_onnx(b"model bytes")
    >>> check_onnx(sealed, "m.onnx") == b"model bytes"
    True
    >>> check_onnx(sealed[:-1], "m.onnx")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: m.onnx: not a model of soundtrack-cnn export, or truncated (no checksum at its end)
    """
    return data + _checksum_entry(sha256_bytes(data))


def check_onnx(data, path):
    """The model bytes of a sealed file, once its checksum matches; else InputError naming ``path``."""
    body, trailer = data[:-_TRAILER], data[-_TRAILER:]
    if len(data) <= _TRAILER or trailer[:-64] != _checksum_entry("0" * 64)[:-64]:
        raise InputError("{}: not a model of soundtrack-cnn export, or truncated (no checksum "
                         "at its end)".format(path))
    if trailer[-64:] != sha256_bytes(body).encode():
        raise InputError("{}: its content does not match its checksum (it was changed or "
                         "damaged after export)".format(path))
    return body


def export_onnx(metadata, params, path):
    """Write a model as a sealed ``.onnx`` file, atomically.

    Parameters
    ----------
    metadata, params
        As :func:`build_onnx` takes them (e.g. from a run's weights file).
    path : str

    Returns
    -------
    path : str
    """
    if not str(path).endswith(".onnx"):
        raise InputError("{}: an ONNX model's file name ends in .onnx".format(path))
    write_bytes(path, seal_onnx(build_onnx(metadata, params).SerializeToString()))
    return path
