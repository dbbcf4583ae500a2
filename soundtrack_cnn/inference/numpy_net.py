"""The study's network as a plain numpy forward pass: inference without Theano.

At inference the study's 17 layers reduce to four convolutions (each with its
ReLU and a 2x2 max-pool), two ReLU dense layers and a sigmoid dense layer;
the dropout layers are the identity.  :class:`NumpyNet` computes exactly
that in float32 from the weights Lasagne stores, so a trained run can be used
on a machine with no C compiler and in a process that never imports Theano.

How each Lasagne 0.1 layer is reproduced (``tests/test_engine.py`` checks
every layer's output against Theano's):

* ``Conv2DLayer`` calls ``theano.tensor.nnet.conv2d``, whose ``filter_flip``
  defaults to True: a true convolution, i.e. a correlation with the filters
  flipped on both spatial axes, 'valid' borders, stride 1.
* ``MaxPool2DLayer`` with ``ignore_border=True``: a trailing odd row or
  column is dropped ("floor" mode).
* Each convolution and the max-pool after it are computed together
  (:class:`_ConvPool`): im2col (a strided window view copied into a matrix)
  of the windows the pool keeps, one GEMM against the flipped filters, and
  the max of the four results of each pool window.  Of the variants
  measured with numpy's OpenBLAS this was the fastest: it skips the
  convolution outputs the pool drops, and the pool becomes a max of
  contiguous blocks.
* ``DenseLayer`` flattens its input in (channel, row, column) order and
  computes ``x @ W + b``; ``rectify`` is ``max(x, 0)``; the output layer's
  ``sigmoid`` is ``1 / (1 + exp(-x))``.

Activations are kept channels-last (N, H, W, C) between layers so that each
im2col is a single reshape; :meth:`NumpyNet.layer_outputs` returns them in
Lasagne's (N, C, H, W) layout for comparison.

Blocks of tiles are scored on ``n_jobs`` threads, each with a
single-threaded BLAS: numpy's copies (im2col) then run on every core, not
only the GEMMs, which on 2 cores gave about 1.5x the throughput of one
thread with a 2-threaded BLAS.  Because the BLAS is single-threaded whatever
``n_jobs`` is, the scores are bit-identical for every ``n_jobs``.
"""
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..parallel.pool import effective_n_jobs
from ..errors import InputError

__all__ = ["NumpyNet", "predict_nets", "ARCHITECTURE", "THREAD_BLOCK_TILES"]

#: The study's listing (``network.LAYERS``) without the input and dropout
#: layers, which do nothing at inference: (name, operation).
ARCHITECTURE = (
    ("conv1", "conv"), ("pool1", "pool"),
    ("conv2", "conv"), ("pool2", "pool"),
    ("conv3", "conv"), ("pool3", "pool"),
    ("conv4", "conv"), ("pool4", "pool"),
    ("hidden5", "dense"), ("hidden6", "dense"), ("output", "sigmoid"),
)

#: Tiles pushed through the layers at once by one thread: bounds the im2col
#: matrices (about 5 MB) whatever the batch size asked for.  4 to 24 tiles
#: measured alike on 2 cores (1,500-1,700 tiles/s), 64 and 128 slower
#: (1,300-1,450): the working set of a small block stays in the core's cache.
THREAD_BLOCK_TILES = 16


def _im2col(x, window, step=1, offsets=((0, 0),), out_shape=None):
    """Windows of channels-last ``x`` (N, H, W, C) as the rows of a matrix.

    For each (row, column) offset in turn, the windows starting at
    ``offset + step * (i, j)`` for the ``out_shape`` output positions (all
    positions if None).  Returns (len(offsets) * N * out rows * out columns,
    window rows * window columns * C).
    """
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=(1, 2))
    rows, columns = view.shape[1:3] if out_shape is None else out_shape
    matrix = np.empty((len(offsets), len(x), rows, columns) + tuple(window) + x.shape[3:],
                      np.float32)
    for index, (row, column) in enumerate(offsets):
        # (N, rows, columns, window rows, window columns, C): channels innermost,
        # so the copy moves contiguous runs of C floats -- 3x faster than C first.
        matrix[index] = view[:, row::step, column::step][:, :rows, :columns].transpose(
            0, 1, 2, 4, 5, 3)
    return matrix.reshape(-1, matrix[0, 0, 0, 0].size)


def _conv(x, W):
    """Valid convolution (no bias) of channels-last ``x`` (N, H, W, C) with Lasagne's ``W``."""
    n, height, width, _ = x.shape
    filters, _, rows, columns = W.shape
    # Flipped, (rows * columns * channels, filters): the GEMM's right side.
    kernel = W[:, :, ::-1, ::-1].transpose(2, 3, 1, 0).reshape(-1, filters)
    out = _im2col(x, (rows, columns)) @ kernel
    return out.reshape(n, height - rows + 1, width - columns + 1, filters)


def _bias_relu(x, bias):
    x += bias
    return np.maximum(x, 0, out=x)


class _ConvPool(object):
    """A convolution with its 2x2 max-pool, bias and ReLU, as one GEMM.

    Only the convolution outputs the pool keeps are computed (a ragged last
    row or column is never evaluated).  Of the four outputs a pooled value
    is the max of, the two side by side always come from two im2cols (one
    per column offset).  The two above each other come either

    * from the same im2col of a window one row taller than the filter,
      against the flipped filters placed at its top and at its bottom (a
      zero row elsewhere): twice the filters and (rows + 1) / rows times the
      multiplies, but half the copying and a wider GEMM, which OpenBLAS runs
      faster; or
    * from two more im2cols (one per row offset), with no wasted multiply.

    The first is used for filters of 3 rows and more, the second for
    smaller ones.  Measured per layer with one BLAS thread on 16 tiles, per
    1200 tiles (rows merged / not merged / rows and columns merged):
    conv1 (5x5) 0.35 / 0.49 / 0.39 s, conv2 (4x4) 1.03 / 1.21 / 1.08 s,
    conv3 (2x2) 0.23 / 0.19 / 0.31 s, conv4 (2x2) 0.11 / 0.08 / 0.19 s.
    The GEMM is taken filters-first (kernel @ windows.T), the faster
    orientation of OpenBLAS for these narrow outputs, so the pool is a max
    of contiguous blocks.  Bias and ReLU come after the max: exactly equal,
    since both are monotonic (also in floating point), on a quarter of the
    values.

    Parameters
    ----------
    W, b : ndarray
        The convolution's weights (filters, channels, rows, columns) and bias.
    """

    def __init__(self, W, b):
        filters, channels, rows, columns = W.shape
        merge = int(rows >= 3)
        self.filter_shape, self.bias = (rows, columns), b
        self.window = (rows + merge, columns)
        self.offsets = [(row, column) for row in range(2 - merge) for column in range(2)]
        flipped = W[:, :, ::-1, ::-1].transpose(0, 2, 3, 1)  # (filters, rows, columns, channels)
        kernel = np.zeros((1 + merge, filters) + self.window + (channels,), np.float32)
        for row in range(1 + merge):
            kernel[row, :, row:row + rows] = flipped
        self.kernel = kernel.reshape(-1, kernel[0, 0].size)

    def __call__(self, x):
        n, height, width, _ = x.shape
        out_shape = ((height - self.filter_shape[0] + 1) // 2,
                     (width - self.filter_shape[1] + 1) // 2)
        out = self.kernel @ _im2col(x, self.window, 2, self.offsets, out_shape).T
        filters, positions = len(self.bias), out.shape[1] // len(self.offsets)
        corners = [out[row:row + filters, column:column + positions]
                   for row in range(0, len(out), filters)
                   for column in range(0, out.shape[1], positions)]
        pooled = np.maximum(corners[0], corners[1])
        for corner in corners[2:]:
            np.maximum(pooled, corner, out=pooled)
        pooled += self.bias[:, None]
        np.maximum(pooled, 0, out=pooled)
        return np.ascontiguousarray(pooled.T).reshape((n,) + out_shape + (filters,))


def _flatten(x):
    """Lasagne's flattening order: (N, C, H, W) rows."""
    return x.transpose(0, 3, 1, 2).reshape(len(x), -1) if x.ndim == 4 else x


def _sigmoid(x):
    # exp overflows to inf for x < -88 in float32, and 1 / inf is the right 0.
    with np.errstate(over="ignore"):
        return np.float32(1) / (np.float32(1) + np.exp(-x))


class NumpyNet(object):
    """One trained network of the study, evaluated with numpy only.

    Parameters
    ----------
    params : dict
        ``{layer name: [W, b]}`` as ``NeuralNet.get_all_params_values()``
        returns them (and :func:`soundtrack_cnn.training.loading.export_weights` stores
        them): conv ``W`` is (filters, channels, rows, columns), dense ``W``
        is (inputs, units).

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> shapes = {"conv1": (32, 1, 5, 5), "conv2": (64, 32, 4, 4), "conv3": (128, 64, 2, 2),
    ...           "conv4": (256, 128, 2, 2), "hidden5": (1024, 50), "hidden6": (50, 50),
    ...           "output": (50, 3)}
    >>> params = {name: [rng.randn(*shape) * .05, np.zeros(shape[0] if name.startswith("conv")
    ...           else shape[1])] for name, shape in shapes.items()}
    >>> net = NumpyNet(params)
    >>> net.predict(rng.randn(7, 1, 40, 100)).shape
    (7, 3)
    """

    def __init__(self, params):
        missing = [name for name, operation in ARCHITECTURE
                   if operation != "pool" and name not in params]
        if missing:
            raise InputError("weights for layer(s) {} are missing".format(", ".join(missing)))
        self.layers = []
        for name, operation in ARCHITECTURE:
            if operation == "pool":
                # The pool is computed with its convolution (_ConvPool).
                _, _, (W, b) = self.layers[-1]
                self.layers.append((name, operation, _ConvPool(W, b)))
                continue
            W, b = (np.asarray(value, dtype=np.float32) for value in params[name])
            if operation == "conv" and (W.ndim != 4 or b.shape != W.shape[:1]):
                raise InputError("layer {}: W {} and b {} are not a convolution's"
                                 .format(name, W.shape, b.shape))
            if operation != "conv" and (W.ndim != 2 or b.shape != W.shape[1:]):
                raise InputError("layer {}: W {} and b {} are not a dense layer's"
                                 .format(name, W.shape, b.shape))
            self.layers.append((name, operation, (W, b)))

    @property
    def n_outputs(self):
        """Sigmoid outputs: 1 for a specialist, K for the multi-label net."""
        return self.layers[-1][2][0].shape[1]

    def _run(self, x, every_layer=False):
        """Yield (layer name, channels-last activation) for one block of tiles.

        A convolution's own output is computed only if ``every_layer`` (for
        verification); otherwise each conv + pool pair is one
        :class:`_ConvPool`, and only the pooled activations are yielded.
        """
        x = np.ascontiguousarray(x, dtype=np.float32).transpose(0, 2, 3, 1)
        for name, operation, weights in self.layers:
            if operation == "conv":
                conv_input = x
                if not every_layer:
                    continue
                W, b = weights
                x = _bias_relu(_conv(x, W), b)
            elif operation == "pool":
                x = weights(conv_input)
            else:
                W, b = weights
                x = _flatten(x) @ W
                x = _sigmoid(x + b) if operation == "sigmoid" else _bias_relu(x, b)
            yield name, x

    def predict(self, X, thread_block_tiles=THREAD_BLOCK_TILES, n_jobs=-1):
        """Sigmoid outputs for normalised tiles.

        Parameters
        ----------
        X : ndarray, shape (n_tiles, 1, n_mfcc, n_frames)
            Tiles already normalised (as the net saw them in training).
        thread_block_tiles : int
            Tiles computed at once by one thread (memory grows with it and
            ``n_jobs``, not with ``n_tiles``).
        n_jobs : int or None
            Threads: -1 for one per core, None for 1.  The scores do not
            depend on it.

        Returns
        -------
        scores : ndarray of float32, shape (n_tiles, n_outputs)
        """
        return predict_nets([self], X, thread_block_tiles=thread_block_tiles, n_jobs=n_jobs)

    def layer_outputs(self, X):
        """Every layer's activation, in Lasagne's layout, for verification.

        Returns
        -------
        outputs : dict
            ``{layer name: ndarray}``, (N, C, H, W) for conv and pool layers,
            (N, units) for dense layers.
        """
        return {name: out.transpose(0, 3, 1, 2) if out.ndim == 4 else out
                for name, out in self._run(_check_tiles(X), every_layer=True)}


def _check_tiles(X):
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4 or X.shape[1] != 1:
        raise InputError("tiles must have shape (n, 1, n_mfcc, n_frames), got {}"
                         .format(X.shape))
    return X


# threadpoolctl's limit is process-wide: one scoring call at a time sets and
# restores it (a second caller waits; each call already uses every core).
_BLAS_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _blas_controller():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()  # inspects the loaded libraries once


def _single_threaded_blas():
    return _blas_controller().limit(limits=1, user_api="blas")


def predict_nets(nets, X, thread_block_tiles=THREAD_BLOCK_TILES, n_jobs=-1):
    """Several nets' outputs on the same tiles, side by side.

    Every (net, block of tiles) pair is one job; the jobs run on ``n_jobs``
    threads, each with a single-threaded BLAS, so the result is the same
    for every ``n_jobs``.

    Parameters
    ----------
    nets : list of NumpyNet
    X : ndarray, shape (n_tiles, 1, n_mfcc, n_frames)
        Normalised tiles.
    thread_block_tiles : int
    n_jobs : int or None
        As in :meth:`NumpyNet.predict`.

    Returns
    -------
    scores : ndarray of float32, shape (n_tiles, total outputs of the nets)

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> shapes = {"conv1": (32, 1, 5, 5), "conv2": (64, 32, 4, 4), "conv3": (128, 64, 2, 2),
    ...           "conv4": (256, 128, 2, 2), "hidden5": (1024, 50), "hidden6": (50, 50),
    ...           "output": (50, 1)}
    >>> nets = [NumpyNet({name: [rng.randn(*shape) * .05, np.zeros(shape[0]
    ...          if name.startswith("conv") else shape[1])] for name, shape in shapes.items()})
    ...         for _ in range(2)]
    >>> X = rng.randn(9, 1, 40, 100)
    >>> both = predict_nets(nets, X, thread_block_tiles=4, n_jobs=2)
    >>> both.shape
    (9, 2)
    >>> np.array_equal(both[:, 1:], nets[1].predict(X, thread_block_tiles=4, n_jobs=None))
    True
    """
    X = _check_tiles(X)
    if not isinstance(thread_block_tiles, (int, np.integer)) or thread_block_tiles < 1:
        raise InputError("thread_block_tiles must be a positive integer, got {!r}".format(thread_block_tiles))
    workers = effective_n_jobs(n_jobs)
    offsets = np.cumsum([0] + [net.n_outputs for net in nets])
    scores = np.empty((len(X), offsets[-1]), np.float32)

    def score(job):
        index, start = job
        for _, out in nets[index]._run(X[start:start + thread_block_tiles]):
            pass
        scores[start:start + thread_block_tiles, offsets[index]:offsets[index + 1]] = out

    jobs = [(index, start) for start in range(0, len(X), thread_block_tiles)
            for index in range(len(nets))]
    with _BLAS_LOCK, _single_threaded_blas():
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                score(job)
        else:
            with ThreadPoolExecutor(min(workers, len(jobs))) as pool:
                list(pool.map(score, jobs))
    return scores
