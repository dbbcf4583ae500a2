"""nolearn epoch handlers used by the study's network.

``AdjustVariable`` and ``EarlyStopping`` follow the nolearn/Lasagne tutorial the
study was built from (Daniel Nouri, "Using convolutional neural nets to detect
facial keypoints", 2014); ``RaiseOnNonFiniteLoss`` is this package's addition so
that a diverged specialist is never pickled.
"""
import numpy as np

from .errors import InputError

__all__ = ["AdjustVariable", "EarlyStopping", "RaiseOnNonFiniteLoss", "NonFiniteLossError"]


class AdjustVariable(object):
    """Move a shared hyperparameter linearly from ``start`` to ``stop`` over ``max_epochs``.

    Parameters
    ----------
    name : str
        Attribute of the net holding a Theano shared variable, e.g.
        ``'update_learning_rate'``.
    start, stop : float
        Value at the first and at the last (``max_epochs``-th) epoch.

    Examples
    --------
    >>> AdjustVariable('update_momentum', start=.9, stop=.999).value_at(1, 1000)
    0.9
    """

    def __init__(self, name, start=0.03, stop=0.001):
        self.name = name
        self.start = start
        self.stop = stop

    def value_at(self, epoch, max_epochs):
        """Value for 1-based ``epoch`` of ``max_epochs``."""
        schedule = np.linspace(self.start, self.stop, max_epochs)
        return float(schedule[min(epoch, max_epochs) - 1])

    def __call__(self, nn, train_history):
        epoch = train_history[-1]['epoch']
        getattr(nn, self.name).set_value(np.float32(self.value_at(epoch, nn.max_epochs)))


class EarlyStopping(object):
    """Stop once ``patience`` epochs pass without a better validation loss.

    Keeps the best validation loss and a copy of the weights that gave it.
    Used twice by the network: as an ``on_epoch_finished`` handler (raises
    ``StopIteration``, which nolearn takes as "stop training") and, through
    :meth:`restore_best`, as an ``on_training_finished`` handler, so the net
    always ends with its best weights, whether it stopped early or ran out of
    epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement tolerated before stopping.
    verbose : bool
        Print a line when stopping and when restoring.

    Attributes
    ----------
    best_valid : float
        Best validation loss seen in the current fit.
    best_valid_epoch : int
        Epoch at which it was seen.
    stopped_early : bool
        Whether the last fit ended by early stopping.
    finished : bool
        Whether the last fit ran to its end (False after an interrupted fit).
    """

    def __init__(self, patience=100, verbose=True):
        self.patience = patience
        self.verbose = verbose
        self._reset()

    def _reset(self):
        self.best_valid = np.inf
        self.best_valid_epoch = 0
        self.best_weights = None
        self.stopped_early = False
        self.finished = False

    def __call__(self, nn, train_history):
        current_valid = train_history[-1]['valid_loss']
        current_epoch = train_history[-1]['epoch']
        if current_epoch == 1:
            self._reset()
        if current_valid < self.best_valid:
            self.best_valid = current_valid
            self.best_valid_epoch = current_epoch
            self.best_weights = nn.get_all_params_values()
        elif self.best_valid_epoch + self.patience < current_epoch:
            self.stopped_early = True
            if self.verbose:
                print("Early stopping: best valid loss was {:.6f} at epoch {}.".format(
                    self.best_valid, self.best_valid_epoch))
            raise StopIteration()

    def restore_best(self, nn, train_history):
        """Load the best weights back into ``nn`` (an ``on_training_finished`` handler)."""
        if self.best_weights is not None:
            nn.load_params_from(self.best_weights)
            if self.verbose:
                print("Restored the weights of epoch {} (valid loss {:.6f}).".format(
                    self.best_valid_epoch, self.best_valid))
        # The copy has served its purpose; dropping it halves the pickle.
        self.best_weights = None
        self.finished = True


class NonFiniteLossError(InputError):
    """Training produced a NaN or infinite loss."""


class RaiseOnNonFiniteLoss(object):
    """Abort training with :class:`NonFiniteLossError` when a loss is not finite.

    Parameters
    ----------
    label : str
        Named in the error, e.g. the genre of a specialist.
    """

    def __init__(self, label="net"):
        self.label = label

    def __call__(self, nn, train_history):
        row = train_history[-1]
        # valid_loss is NaN by design when there is no validation set, so only
        # the training loss decides; a diverged net has a NaN training loss too.
        if not np.isfinite(row['train_loss']):
            raise NonFiniteLossError(
                "{}: training loss became {} at epoch {}; lower the learning rate or "
                "check the features for NaN/inf.".format(self.label, row['train_loss'], row['epoch']))
