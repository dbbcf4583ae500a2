"""A recurrent net that reads a track's slices in order (the study's proposed next step).

Instead of averaging tile scores, a GRU (or LSTM) -- Lasagne 0.1's own
``GRULayer`` / ``LSTMLayer``, which run on Python 3.11 through the pure-Python
scan of :mod:`soundtrack_cnn.stack.compat` -- reads the sequence of a track's tile
embeddings and predicts the track's K tags from its last state.  Embeddings
are the specialists' tile scores (K numbers per tile) or their ``hidden6``
activations (:func:`tile_embeddings`, 50 per specialist).  Tracks of different
lengths share a batch through padding and a mask; a masked step copies the
previous state, so whatever lies beyond a track's end never reaches its score.
"""
import lasagne
import lasagne.random
import numpy as np
import theano
import theano.tensor as T
from lasagne import layers
from lasagne.nonlinearities import sigmoid
from sklearn.base import BaseEstimator

from ..errors import InputError
from ..training.dataset import TileView

__all__ = ["SequenceModel", "pad_tracks", "tile_embeddings"]

_CELLS = {"gru": layers.GRULayer, "lstm": layers.LSTMLayer}


def pad_tracks(embeddings, ranges, length=None):
    """Stack each track's tile embeddings into one zero-padded batch with its mask.

    Parameters
    ----------
    embeddings : array, shape (n_tiles, D)
    ranges : sequence of (int, int)
        Each track's ``[start, stop)`` rows in ``embeddings``.
    length : int, optional
        Time steps of the batch (default: the longest track).

    Returns
    -------
    batch : ndarray of float32, shape (n_tracks, length, D)
    mask : ndarray of float32, shape (n_tracks, length)
        1 where a step belongs to the track.

    Examples
    --------
    >>> batch, mask = pad_tracks(np.arange(3.)[:, None], [(0, 1), (1, 3)])
    >>> batch[:, :, 0].tolist(), mask.tolist()
    ([[0.0, 0.0], [1.0, 2.0]], [[1.0, 0.0], [1.0, 1.0]])
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    sizes = [stop - start for start, stop in ranges]
    if not sizes or min(sizes) < 1:
        raise InputError("every track needs at least one tile; got ranges {}".format(
            list(ranges)[:3]))
    length = length or max(sizes)
    batch = np.zeros((len(ranges), length, embeddings.shape[1]), dtype=np.float32)
    mask = np.zeros((len(ranges), length), dtype=np.float32)
    for i, (start, stop) in enumerate(ranges):
        batch[i, :stop - start] = embeddings[start:stop]
        mask[i, :stop - start] = 1
    return batch, mask


def tile_embeddings(ensemble, X, layer="hidden6"):
    """Each tile's activations of ``layer`` in every specialist, side by side.

    Parameters
    ----------
    ensemble : SpecialistEnsemble
        Fitted (e.g. ``load_run(run_dir)``).
    X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
        Raw tiles (normalised here as for scoring).
    layer : str
        A layer of the study's net (``'hidden6'``: 50 units).

    Returns
    -------
    embeddings : ndarray, shape (n_tiles, K * units)
    """
    view = TileView(X, normalizer=ensemble.normalizer_)
    blocks = []
    for net in ensemble.models_.values():
        tiles = T.tensor4("tiles")
        # deterministic: dropout off, as when the net scores.
        activations = theano.function([tiles], layers.get_output(
            net.layers_[layer], tiles, deterministic=True))
        blocks.append(np.vstack([activations(Xb) for Xb, _ in net.batch_iterator_test(view)]))
    return np.hstack(blocks)


class SequenceModel(BaseEstimator):
    """GRU / LSTM over a track's tile embeddings, trained on track labels.

    Parameters
    ----------
    cell : {'gru', 'lstm'}
    n_units : int
        Size of the recurrent state.
    epochs : int
        Passes over the training tracks; with validation tracks the epoch of
        lowest validation loss is kept.
    batch : int
        Tracks per update.
    rate : float
        Adam's learning rate.
    random_state : int
        Initial weights and the order of tracks.
    verbose : int
        1 prints the losses of each epoch.

    Attributes
    ----------
    history_ : list of dict
        ``epoch``, ``train_loss`` and ``valid_loss`` (None without validation).
    best_epoch_ : int
    mean_, scale_ : ndarray
        Standardisation of the embeddings (training tiles).
    """

    def __init__(self, cell="gru", n_units=16, epochs=30, batch=16, rate=.01, random_state=0,
                 verbose=0):
        self.cell = cell
        self.n_units = n_units
        self.epochs = epochs
        self.batch = batch
        self.rate = rate
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_inputs, n_outputs):
        lasagne.random.set_rng(np.random.RandomState(self.random_state))
        sequences = layers.InputLayer((None, None, n_inputs))
        mask = layers.InputLayer((None, None))
        recurrent = _CELLS[self.cell](sequences, self.n_units, mask_input=mask)
        # Masked steps copy the state forward, so the last step is each track's own last state.
        last = layers.SliceLayer(recurrent, indices=-1, axis=1)
        self.output_layer_ = layers.DenseLayer(last, n_outputs, nonlinearity=sigmoid)
        x, m, y = T.tensor3("x"), T.matrix("mask"), T.matrix("y")
        inputs = {sequences: x, mask: m}
        loss = lasagne.objectives.binary_crossentropy(
            layers.get_output(self.output_layer_, inputs), y).mean()
        params = layers.get_all_params(self.output_layer_, trainable=True)
        updates = lasagne.updates.adam(loss, params, learning_rate=self.rate)
        self._train_fn = theano.function([x, m, y], loss, updates=updates)
        self._loss_fn = theano.function([x, m, y], loss)
        self._predict_fn = theano.function(
            [x, m], layers.get_output(self.output_layer_, inputs, deterministic=True))

    def _standardise(self, embeddings):
        return (np.asarray(embeddings, dtype=np.float32) - self.mean_) / self.scale_

    def fit(self, X, y, ranges, valid=None):
        """Train on whole tracks.

        Parameters
        ----------
        X : array, shape (n_tiles, D)
            Tile embeddings of the training tracks, track after track.
        y : array of {0, 1}, shape (n_tracks, K)
        ranges : sequence of (int, int)
            Each track's rows in ``X``.
        valid : (X, y, ranges), optional
            Validation tracks: the epoch with the lowest loss on them is kept.

        Returns
        -------
        self
        """
        if self.cell not in _CELLS:
            raise InputError("cell must be one of {}, got {!r}".format(sorted(_CELLS), self.cell))
        embeddings = np.asarray(X, dtype=np.float32)
        labels = np.asarray(y, dtype=np.float32)
        if embeddings.ndim != 2 or labels.ndim != 2 or len(labels) != len(ranges):
            raise InputError("embeddings {} must be (n_tiles, D) and labels {} (n_tracks={}, K)"
                             .format(embeddings.shape, labels.shape, len(ranges)))
        self.mean_ = embeddings.mean(axis=0)
        # A constant embedding (e.g. a dead unit) is centred, not divided by zero.
        self.scale_ = np.where(embeddings.std(axis=0) > 1e-6, embeddings.std(axis=0), 1
                               ).astype(np.float32)
        self._build(embeddings.shape[1], labels.shape[1])
        train_x, train_m = pad_tracks(self._standardise(embeddings), ranges)
        if valid is not None:
            valid_x, valid_m = pad_tracks(self._standardise(valid[0]), valid[2])
            valid_y = np.asarray(valid[1], dtype=np.float32)
        rng = np.random.RandomState(self.random_state)
        self.history_, best, self.best_epoch_ = [], np.inf, 0
        kept = layers.get_all_param_values(self.output_layer_)
        for epoch in range(1, self.epochs + 1):
            order = rng.permutation(len(ranges))
            losses = [self._train_fn(train_x[rows], train_m[rows], labels[rows])
                      for rows in np.array_split(order, max(1, len(order) // self.batch))]
            valid_loss = (float(self._loss_fn(valid_x, valid_m, valid_y))
                          if valid is not None else None)
            self.history_.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                                  "valid_loss": valid_loss})
            if self.verbose:
                print("sequence epoch {}: train {:.4f} valid {}".format(
                    epoch, np.mean(losses), valid_loss), flush=True)
            current = valid_loss if valid is not None else -epoch
            if current < best:
                best, self.best_epoch_ = current, epoch
                kept = layers.get_all_param_values(self.output_layer_)
        layers.set_all_param_values(self.output_layer_, kept)
        return self

    def predict(self, X, ranges):
        """Track scores, shape (n_tracks, K), of tile embeddings ``X`` in tracks ``ranges``."""
        batch, mask = pad_tracks(self._standardise(X), ranges)
        return self._predict_fn(batch, mask)

    def predict_padded(self, batch, mask):
        """Track scores of an already padded batch (raw embeddings), shape (n_tracks, K)."""
        batch = np.asarray(batch, dtype=np.float32)
        return self._predict_fn((batch - self.mean_) / self.scale_,
                                np.asarray(mask, dtype=np.float32))
