"""The study's network: one binary specialist CNN, as a nolearn ``NeuralNet``.

This file is meant to be read beside the study's listing: first the
hyperparameter block with the study's names and values, then one
``NeuralNet(...)`` call with the 17 named layers.  :func:`build_net` takes
every hyperparameter as a keyword argument whose default is the study's value,
so small runs (tests, the demo) override only what they must.

Shapes for the default (None, 1, 40, 100) input::

    conv1 32x36x96  pool1 32x18x48  conv2 64x15x45  pool2 64x7x22
    conv3 128x6x21  pool3 128x3x10  conv4 256x2x9   pool4 256x1x4
    hidden5 50      hidden6 50      output 1        (251,739 parameters)
"""
import numpy as np
import theano
from lasagne import layers
from lasagne.nonlinearities import sigmoid
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from .batches import make_batch_iterator
from .callbacks import AdjustVariable, EarlyStopping, RaiseOnNonFiniteLoss, ValidationTrackAUC

__all__ = ["build_net", "LAYERS", "STUDY_HYPERPARAMETERS"]

# --- The study's hyperparameters -------------------------------------------
epochs = 1000
dropout1 = .1
dropout2 = .2
dropout3 = .3
dropout4 = .4
dropout5 = .5
c1 = 32
c2 = 64
c3 = 128
c4 = 256
h5 = 50
h6 = 50
batch = 1200
rate = .01
rate_stop = .0001
momentum = .9
momentum_stop = .999
patience = 30
# --- Options beyond the study (its choices are the defaults) ----------------
monitor = 'valid_loss'   # what EarlyStopping keeps: lowest loss, or 'valid_auc'
shuffle = 'none'         # training order: as stored, or 'once' / 'epoch' / 'balanced'
augment = None           # training tiles as stored, or e.g. {'hop': 25, 'time_mask': 20}

STUDY_HYPERPARAMETERS = dict(
    epochs=epochs, dropout1=dropout1, dropout2=dropout2, dropout3=dropout3,
    dropout4=dropout4, dropout5=dropout5, c1=c1, c2=c2, c3=c3, c4=c4, h5=h5, h6=h6,
    batch=batch, rate=rate, rate_stop=rate_stop, momentum=momentum,
    momentum_stop=momentum_stop, patience=patience, monitor=monitor, shuffle=shuffle,
    augment=augment)

LAYERS = [
    ('input', layers.InputLayer),
    ('conv1', layers.Conv2DLayer),
    ('pool1', layers.MaxPool2DLayer),
    ('dropout1', layers.DropoutLayer),
    ('conv2', layers.Conv2DLayer),
    ('pool2', layers.MaxPool2DLayer),
    ('dropout2', layers.DropoutLayer),
    ('conv3', layers.Conv2DLayer),
    ('pool3', layers.MaxPool2DLayer),
    ('dropout3', layers.DropoutLayer),
    ('conv4', layers.Conv2DLayer),
    ('pool4', layers.MaxPool2DLayer),
    ('dropout4', layers.DropoutLayer),
    ('hidden5', layers.DenseLayer),
    ('dropout5', layers.DropoutLayer),
    ('hidden6', layers.DenseLayer),
    ('output', layers.DenseLayer),
]


def build_net(epochs=epochs, dropout1=dropout1, dropout2=dropout2, dropout3=dropout3,
              dropout4=dropout4, dropout5=dropout5, c1=c1, c2=c2, c3=c3, c4=c4, h5=h5, h6=h6,
              batch=batch, rate=rate, rate_stop=rate_stop, momentum=momentum,
              momentum_stop=momentum_stop, patience=patience, monitor=monitor, shuffle=shuffle,
              augment=augment, n_outputs=1, input_shape=(None, 1, 40, 100), train_split=None,
              validation_data=None, seed=0, label="net", verbose=0):
    """Build (uncompiled) the study's specialist network.

    Parameters
    ----------
    epochs, dropout1..dropout5, c1..c4, h5, h6, batch, rate, momentum : number
        The study's hyperparameters (defaults are its values).
    rate_stop, momentum_stop : float
        Where ``AdjustVariable`` takes the learning rate and momentum by the
        last epoch (.0001 and .999 in the study).
    patience : int
        ``EarlyStopping`` patience (30 in the study).
    monitor : {'valid_loss', 'valid_auc'}
        Which epoch ``EarlyStopping`` keeps: the study's lowest validation
        loss, or the best validation-track ROC-AUC (needs ``validation_data``).
    shuffle : {'none', 'once', 'epoch', 'balanced'}
        Order of the training tiles (see :mod:`soundtrack_cnn.training.batches`); the
        study's listing uses nolearn's plain ``BatchIterator`` ('none').
    augment : dict or None
        Augmentation of the training tiles (keyword arguments of
        :class:`~soundtrack_cnn.training.batches.AugmentingBatchIterator`);
        the study has none.
    n_outputs : int
        Sigmoid outputs: 1 for a specialist, K for the single multi-label
        baseline net.
    input_shape : tuple
        ``(None, 1, n_mfcc, n_frames)``.
    train_split : callable or None
        nolearn ``train_split``; None keeps nolearn's default (20% of the
        rows, in order).  The ensemble passes a split by whole tracks.
    validation_data : (X, y, ranges) or None
        The validation tiles, targets and tracks: each epoch's history then
        carries ``valid_auc`` (:class:`~soundtrack_cnn.training.callbacks.ValidationTrackAUC`).
    seed : int
        Seed of the shuffled training order.
    label : str
        Named in the error raised when the loss diverges.
    verbose : int
        nolearn verbosity (1 prints a table row per epoch).

    Returns
    -------
    net : nolearn.lasagne.NeuralNet

    Examples
    --------
    >>> net = build_net(epochs=2, batch=64)
    >>> net.max_epochs, net.regression
    (2, True)
    """
    early_stopping = EarlyStopping(patience=patience, verbose=verbose > 0, monitor=monitor)
    ranking = [] if validation_data is None else [ValidationTrackAUC(*validation_data)]
    extra = {} if train_split is None else {'train_split': train_split}
    return NeuralNet(
        layers=LAYERS,
        input_shape=input_shape,
        conv1_num_filters=c1, conv1_filter_size=(5, 5), pool1_pool_size=(2, 2),
        dropout1_p=dropout1,
        conv2_num_filters=c2, conv2_filter_size=(4, 4), pool2_pool_size=(2, 2),
        dropout2_p=dropout2,
        conv3_num_filters=c3, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
        dropout3_p=dropout3,
        conv4_num_filters=c4, conv4_filter_size=(2, 2), pool4_pool_size=(2, 2),
        dropout4_p=dropout4,
        hidden5_num_units=h5,
        dropout5_p=dropout5,
        hidden6_num_units=h6,
        output_num_units=n_outputs, output_nonlinearity=sigmoid,

        update=nesterov_momentum,
        update_learning_rate=theano.shared(np.float32(rate)),
        update_momentum=theano.shared(np.float32(momentum)),

        on_epoch_finished=[
            AdjustVariable('update_learning_rate', start=rate, stop=rate_stop),
            AdjustVariable('update_momentum', start=momentum, stop=momentum_stop),
            RaiseOnNonFiniteLoss(label),
        ] + ranking + [
            early_stopping,
        ],
        on_training_finished=[early_stopping.restore_best],
        batch_iterator_train=make_batch_iterator(batch, shuffle, seed, augment),
        batch_iterator_test=BatchIterator(batch_size=batch),
        regression=True,
        max_epochs=epochs,
        verbose=verbose,
        **extra
    )
