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
  flipped on both spatial axes, 'valid' borders, stride 1.  Done here as
  im2col (a strided window view copied into a matrix) times the flipped
  filters as one GEMM, the fastest of the variants measured with numpy's
  OpenBLAS (``bench/bench_engine.py``).  Bias and ReLU are applied after the
  max-pool (exactly equal, a quarter of the work).
* ``MaxPool2DLayer`` with ``ignore_border=True``: a trailing odd row or
  column is dropped ("floor" mode).
* ``DenseLayer`` flattens its input in (channel, row, column) order and
  computes ``x @ W + b``; ``rectify`` is ``max(x, 0)``; the output layer's
  ``sigmoid`` is ``1 / (1 + exp(-x))``.

Activations are kept channels-last (N, H, W, C) between layers so that each
im2col is a single reshape; :meth:`NumpyNet.layer_outputs` returns them in
Lasagne's (N, C, H, W) layout for comparison.
"""
import numpy as np

from .errors import InputError

__all__ = ["NumpyNet", "ARCHITECTURE", "BLOCK_TILES"]

#: The study's listing (``network.LAYERS``) without the input and dropout
#: layers, which do nothing at inference: (name, operation).
ARCHITECTURE = (
    ("conv1", "conv"), ("pool1", "pool"),
    ("conv2", "conv"), ("pool2", "pool"),
    ("conv3", "conv"), ("pool3", "pool"),
    ("conv4", "conv"), ("pool4", "pool"),
    ("hidden5", "dense"), ("hidden6", "dense"), ("output", "sigmoid"),
)

#: Tiles pushed through the layers at once: bounds the im2col matrices
#: (about 60 MB at 64 tiles) whatever the batch size asked for.
BLOCK_TILES = 64

#: Pool size of every pooling layer in the study's listing.
POOL_SIZE = (2, 2)


def _conv(x, kernel, filter_shape):
    """Valid convolution (no bias) of channels-last ``x`` (N, H, W, C)."""
    rows, columns = filter_shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (rows, columns), axis=(1, 2))
    n, out_rows, out_columns = windows.shape[:3]
    # (N, H', W', rows, columns, C): channels innermost, so the reshape (the
    # im2col copy) moves contiguous runs of C floats -- 3x faster than C first.
    out = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_rows * out_columns, -1) @ kernel
    return out.reshape(n, out_rows, out_columns, kernel.shape[1])


def _bias_relu(x, bias):
    x += bias
    return np.maximum(x, 0, out=x)


def _max_pool(x, pool_size=POOL_SIZE):
    """Max over non-overlapping windows of (N, H, W, C), dropping ragged edges."""
    n, height, width, channels = x.shape
    rows, columns = height // pool_size[0], width // pool_size[1]
    x = x[:, :rows * pool_size[0], :columns * pool_size[1]]
    return x.reshape(n, rows, pool_size[0], columns, pool_size[1], channels).max(axis=(2, 4))


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
        returns them (and :func:`soundtrack_cnn.loading.export_weights` stores
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
                self.layers.append((name, operation, None))
                continue
            W, b = (np.asarray(value, dtype=np.float32) for value in params[name])
            if operation == "conv":
                if W.ndim != 4 or b.shape != W.shape[:1]:
                    raise InputError("layer {}: W {} and b {} are not a convolution's"
                                     .format(name, W.shape, b.shape))
                # Flipped, (rows * columns * channels, filters): the GEMM's right side.
                kernel = np.ascontiguousarray(
                    W[:, :, ::-1, ::-1].transpose(2, 3, 1, 0).reshape(-1, len(W)))
                self.layers.append((name, operation, (kernel, b, W.shape[2:])))
            else:
                if W.ndim != 2 or b.shape != W.shape[1:]:
                    raise InputError("layer {}: W {} and b {} are not a dense layer's"
                                     .format(name, W.shape, b.shape))
                self.layers.append((name, operation, (W, b)))

    @property
    def n_outputs(self):
        """Sigmoid outputs: 1 for a specialist, K for the multi-label net."""
        return self.layers[-1][2][0].shape[1]

    def _run(self, x, every_layer=False):
        """Yield (layer name, channels-last activation) for one block of tiles.

        Unless ``every_layer``, a convolution's bias and ReLU are applied
        after its max-pool, on a quarter of the values: the result is
        bit-identical, because adding a bias and taking the positive part are
        monotonic (also in floating point), so they commute with the max.
        Only the pooled activations are yielded then.
        """
        x = np.ascontiguousarray(x, dtype=np.float32).transpose(0, 2, 3, 1)
        conv_bias = None
        for name, operation, weights in self.layers:
            if operation == "conv":
                kernel, conv_bias, filter_shape = weights
                x = _conv(x, kernel, filter_shape)
                if not every_layer:
                    continue
                x = _bias_relu(x, conv_bias)
            elif operation == "pool":
                x = _max_pool(x)
                if not every_layer:
                    x = _bias_relu(x, conv_bias)
            else:
                W, b = weights
                x = _flatten(x) @ W
                x = _sigmoid(x + b) if operation == "sigmoid" else _bias_relu(x, b)
            yield name, x

    def _check(self, X):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 4 or X.shape[1] != 1:
            raise InputError("tiles must have shape (n, 1, n_mfcc, n_frames), got {}"
                             .format(X.shape))
        return X

    def predict(self, X, block_tiles=BLOCK_TILES):
        """Sigmoid outputs for normalised tiles.

        Parameters
        ----------
        X : ndarray, shape (n_tiles, 1, n_mfcc, n_frames)
            Tiles already normalised (as the net saw them in training).
        block_tiles : int
            Tiles computed at once (memory grows with it, not with ``n_tiles``).

        Returns
        -------
        scores : ndarray of float32, shape (n_tiles, n_outputs)
        """
        X = self._check(X)
        if not isinstance(block_tiles, (int, np.integer)) or block_tiles < 1:
            raise InputError("block_tiles must be a positive integer, got {!r}"
                             .format(block_tiles))
        scores = np.empty((len(X), self.n_outputs), np.float32)
        for start in range(0, len(X), block_tiles):
            for _, out in self._run(X[start:start + block_tiles]):
                pass
            scores[start:start + block_tiles] = out
        return scores

    def layer_outputs(self, X):
        """Every layer's activation, in Lasagne's layout, for verification.

        Returns
        -------
        outputs : dict
            ``{layer name: ndarray}``, (N, C, H, W) for conv and pool layers,
            (N, units) for dense layers.
        """
        return {name: out.transpose(0, 3, 1, 2) if out.ndim == 4 else out
                for name, out in self._run(self._check(X), every_layer=True)}
