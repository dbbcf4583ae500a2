"""nolearn epoch handlers used by the study's network.

``AdjustVariable`` and ``EarlyStopping`` follow the nolearn/Lasagne tutorial the
study was built from (Daniel Nouri, "Using convolutional neural nets to detect
facial keypoints", 2014); ``RaiseOnNonFiniteLoss`` is this package's addition so
that a diverged specialist is never pickled, and ``ValidationTrackAUC`` adds
the ranking the study actually uses (per track) to every epoch's history, so
that learning curves show it and ``EarlyStopping`` can keep the epoch that
ranks best.
"""
import numpy as np

from ..errors import InputError, TrainingError
from ..scoring.metrics import macro_roc_auc
from ..scoring.pooling import pool_tracks

__all__ = ["AdjustVariable", "EarlyStopping", "ValidationTrackAUC", "RaiseOnNonFiniteLoss",
           "NonFiniteLossError", "MONITORS", "early_stopping_of"]

#: What EarlyStopping can watch: the study's validation loss, or the
#: validation tracks' macro ROC-AUC (written by ValidationTrackAUC).
MONITORS = ("valid_loss", "valid_auc")


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
    """Stop once ``patience`` epochs pass without a better validation figure.

    Keeps the best figure and a copy of the weights that gave it.  Used twice
    by the network: as an ``on_epoch_finished`` handler (raises
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
    monitor : {'valid_loss', 'valid_auc'}
        The study watches the validation loss (lower is better).
        ``'valid_auc'`` watches the validation tracks' ROC-AUC (higher is
        better; of equal AUCs the lower loss wins), which needs
        :class:`ValidationTrackAUC` to run before this handler.

    Attributes
    ----------
    best_valid : float
        Validation loss of the best epoch of the current fit.
    best_valid_epoch : int
        That epoch.
    stopped_early : bool
        Whether the last fit ended by early stopping.
    finished : bool
        Whether the last fit ran to its end (False after an interrupted fit).

    Examples
    --------
    >>> stopper = EarlyStopping(patience=1, verbose=False, monitor="valid_auc")
    >>> stopper._better({"valid_auc": .9, "valid_loss": .3}), stopper._better({"valid_loss": .1})
    (True, False)
    """

    def __init__(self, patience=100, verbose=True, monitor="valid_loss"):
        if monitor not in MONITORS:
            raise InputError("monitor must be one of {}, got {!r}".format(MONITORS, monitor))
        self.patience = patience
        self.verbose = verbose
        self.monitor = monitor
        self._reset()

    def _reset(self):
        self.best_valid = np.inf
        self.best_auc = -np.inf
        self.best_valid_epoch = 0
        self.best_weights = None
        self.stopped_early = False
        self.finished = False

    def _better(self, row):
        if self.monitor == "valid_loss":
            return row["valid_loss"] < self.best_valid
        auc = row.get("valid_auc")
        if auc is None or not np.isfinite(auc):
            return False
        return auc > self.best_auc or (auc == self.best_auc and row["valid_loss"] < self.best_valid)

    def __call__(self, nn, train_history):
        row = train_history[-1]
        current_epoch = row['epoch']
        if current_epoch == 1:
            self._reset()
        if self._better(row):
            self.best_valid = row['valid_loss']
            self.best_auc = row.get('valid_auc', -np.inf)
            self.best_valid_epoch = current_epoch
            self.best_weights = nn.get_all_params_values()
        elif self.best_valid_epoch + self.patience < current_epoch:
            self.stopped_early = True
            if self.verbose:
                print("Early stopping: best {} was at epoch {}.".format(
                    self.monitor, self.best_valid_epoch))
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


class ValidationTrackAUC(object):
    """Add ``valid_auc`` to each epoch's history: macro ROC-AUC of the validation *tracks*.

    Each track's score is the mean of its tiles' scores, as in the study's
    ranking.  The data is held only while training: a pickled net does not
    carry it.

    Parameters
    ----------
    X : array-like
        The validation tiles (normalised, e.g. a TileView).
    y : array, shape (n_tiles, n_outputs)
        Their targets.
    ranges : sequence of (int, int)
        Each validation track's ``[start, stop)`` rows in ``X``.

    Examples
    --------
    >>> import types
    >>> net = types.SimpleNamespace(predict_proba=lambda X: X)
    >>> X = np.array([[.9], [.7], [.2], [.4]])
    >>> history = [{"epoch": 1}]
    >>> ValidationTrackAUC(X, np.array([[1], [1], [0], [0]]), [(0, 2), (2, 4)])(net, history)
    >>> history[0]["valid_auc"]
    1.0
    """

    def __init__(self, X, y, ranges):
        self.X = X
        self.y = np.asarray(y)
        self.ranges = ranges

    def __call__(self, nn, train_history):
        if self.X is None:
            return
        scores = np.asarray(nn.predict_proba(self.X)).reshape(len(self.y), -1)
        y_tracks = pool_tracks(self.y, self.ranges)
        auc = macro_roc_auc(y_tracks > 0.5, pool_tracks(scores, self.ranges))
        train_history[-1]['valid_auc'] = np.nan if auc is None else auc

    def __getstate__(self):
        return dict(self.__dict__, X=None, y=np.zeros((0, 1)), ranges=[])


def early_stopping_of(net):
    """The :class:`EarlyStopping` among a net's epoch handlers, found by its type.

    Whoever reads a fitted net's kept epoch asks here, so nothing depends on
    the order of the handlers in :func:`soundtrack_cnn.training.network.build_net`.
    """
    found = [handler for handler in net.on_epoch_finished if isinstance(handler, EarlyStopping)]
    if len(found) != 1:
        raise TrainingError("a net needs exactly one EarlyStopping handler, it has {}".format(
            len(found)))
    return found[0]


class NonFiniteLossError(TrainingError):
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
