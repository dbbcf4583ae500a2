"""A run's model as one shareable file: ``.onnx`` (ONNX Runtime, any language) or ``.npz``.

Written from the run's weights file (no pickle, no Theano), with the run's
in-distribution reference in its metadata (``RUN/in-distribution.json``,
:mod:`soundtrack_cnn.film.novelty`), so ``predict`` and ``film`` work from the
file alone.  Also ``soundtrack-cnn export``.
"""
import os

from ..errors import InputError
from ..files import check_not_input
from ..film.novelty import REFERENCE_FILE, REFERENCE_KEY, Novelty, read_reference
from ..inference.model import read_model
from ..inference.onnx_export import export_onnx
from ..training.modelfiles import KINDS, write_weights

__all__ = ["export_model", "FORMATS"]

#: What ``export_model`` writes, by the output's extension.
FORMATS = (".onnx", ".npz")


def export_model(run_dir, path, kind="ensemble"):
    """Write the run's model of ``kind`` to ``path`` (``.onnx`` or ``.npz``).

    Parameters
    ----------
    run_dir : str
        A trained run folder (with its weights file).
    path : str
        ``OUT.onnx`` or ``OUT.npz``; never a file of the run it reads.
    kind : {'ensemble', 'multilabel'}

    Returns
    -------
    path : str

    Raises
    ------
    InputError
        An output named otherwise, or one that is a file of the run; a run
        without a weights file; an in-distribution reference that does not
        read back (checked before it is written into the model).

    Examples
    --------
    >>> export_model("runs/demo", "demo.txt")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: demo.txt: export writes .onnx (ONNX Runtime, any language) or .npz (numpy arrays): name the file so
    """
    if not str(path).endswith(FORMATS):
        raise InputError("{}: export writes .onnx (ONNX Runtime, any language) or .npz (numpy "
                         "arrays): name the file so".format(path))
    if kind not in KINDS:
        raise InputError("kind must be one of {}, got {!r}".format(", ".join(KINDS), kind))
    # Never over a file of the run it reads (its weights-*.npz, say).
    check_not_input(path, [run_dir] + ([os.path.join(run_dir, name) for name in
                                        os.listdir(run_dir)] if os.path.isdir(run_dir) else []))
    metadata, params = read_model(run_dir, kind)
    if os.path.exists(os.path.join(run_dir, REFERENCE_FILE)):
        reference = read_reference(run_dir)
        # Read back as film will read it: a damaged file is refused here, not in a model.
        Novelty.from_reference(reference, os.path.join(run_dir, REFERENCE_FILE))
        metadata = dict(metadata, **{REFERENCE_KEY: reference})
    if str(path).endswith(".onnx"):
        export_onnx(metadata, params, path)
    else:
        write_weights(path, metadata, params)
    return path
