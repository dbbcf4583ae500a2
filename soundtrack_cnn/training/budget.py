"""What a profile costs on a collection: updates per epoch, measured step time, convergence risk.

The study's profile (batch 1200, patience 30 epochs, up to 1000 epochs) was
sized for a collection of hundreds of hours.  On a small collection one epoch
is one or two weight updates, so early stopping may end training after a few
dozen updates.  :func:`plan_training` says so before any net trains;
:func:`plan_pretraining` gives a pretraining's updates and time before it starts.
"""
import math
import time

import lasagne.random
import numpy as np

from ..stack.threads import one_thread
from .network import build_net

__all__ = ["plan_training", "plan_pretraining", "measure_step_seconds", "MIN_UPDATES"]

#: Weight updates the study's network needs on the demo corpus: with ~110 the
#: specialists ranked by the label prior, and the validation-track AUC of the
#: slowest genre (Horror) was still rising after 200 (studies/tune_demo.py).
#: Fewer than this in all: cannot converge; early stopping allowed to end
#: training before half of it: warned.
MIN_UPDATES = 200


def measure_step_seconds(hyperparameters, input_shape=(1, 40, 100), n_outputs=1, steps=3):
    """Seconds per training step (one batch, forward and backward) of the network.

    Compiles the net (from Theano's cache after the first time) and times
    ``steps`` steps on random tiles, after one warm-up step, on one thread as
    a net trains (:mod:`soundtrack_cnn.stack.threads`).
    """
    batch = int(hyperparameters["batch"])
    rng = np.random.RandomState(0)
    X = rng.randn(batch, *input_shape).astype(np.float32)
    y = (rng.rand(batch, n_outputs) > 0.5).astype(np.float32)
    saved = lasagne.random.get_rng()
    try:
        net = build_net(n_outputs=n_outputs, input_shape=(None,) + tuple(input_shape),
                        **hyperparameters)
        net.initialize()
    finally:
        lasagne.random.set_rng(saved)
    with one_thread():
        net.train_iter_(X, y)
        start = time.perf_counter()
        for _ in range(steps):
            net.train_iter_(X, y)
        return (time.perf_counter() - start) / steps


def plan_training(n_train_tiles, n_valid_tiles, hyperparameters, n_nets, step_seconds=None,
                  n_parallel=1):
    """Updates per epoch, the most and fewest updates a net can get, time, and warnings.

    Parameters
    ----------
    n_train_tiles, n_valid_tiles : int
    hyperparameters : dict
        ``batch``, ``epochs`` and ``patience`` are used.
    n_nets : int
        Nets to train (ten specialists, or one).
    step_seconds : float, optional
        Measured seconds per training step at this batch size; gives the time
        estimate.
    n_parallel : int
        Nets trained at once (each on a core of its own).

    Returns
    -------
    plan : dict
        ``updates_per_epoch``, ``max_updates`` (all epochs),
        ``min_updates`` (early stopping at the first chance), ``max_hours``
        (all nets, all epochs, validation included, ``n_parallel`` at a time),
        and ``warnings``.

    Examples
    --------
    >>> plan = plan_training(888, 160, {"batch": 1200, "epochs": 1000, "patience": 30}, 10)
    >>> plan["updates_per_epoch"], plan["min_updates"]
    (1, 31)
    >>> print(plan["warnings"][0])
    batch 1200 >= 888 training tiles: one weight update per epoch, so patience 30 allows early stopping after only 31 updates (on the demo corpus the study's network needed about 200)
    """
    batch, epochs, patience = (int(hyperparameters[key]) for key in ("batch", "epochs", "patience"))
    updates_per_epoch = max(math.ceil(n_train_tiles / batch), 1)
    plan = {"updates_per_epoch": updates_per_epoch,
            "max_updates": updates_per_epoch * epochs,
            "min_updates": updates_per_epoch * min(patience + 1, epochs),
            "max_hours": None, "warnings": []}
    if step_seconds is not None:
        # Scoring the validation tiles costs about a third of a training step per tile.
        epoch_seconds = step_seconds * (updates_per_epoch + n_valid_tiles / (3.0 * batch))
        plan["max_hours"] = math.ceil(n_nets / n_parallel) * epochs * epoch_seconds / 3600
    if plan["min_updates"] < MIN_UPDATES / 2:
        reason = ("batch {} >= {} training tiles: one weight update per epoch".format(
            batch, n_train_tiles) if updates_per_epoch == 1 else
            "{} updates per epoch".format(updates_per_epoch))
        plan["warnings"].append(
            "{}, so patience {} allows early stopping after only {} updates (on the demo "
            "corpus the study's network needed about {})".format(reason, patience, plan["min_updates"],
                                                  MIN_UPDATES))
    if plan["max_updates"] < MIN_UPDATES:
        plan["warnings"].append(
            "at most {} weight updates per net ({} epochs x {}): too few to converge; raise "
            "epochs or lower batch".format(plan["max_updates"], epochs, updates_per_epoch))
    return plan


def plan_pretraining(n_tiles, n_tracks, batch, epochs, step_seconds=None):
    """Updates, time and warnings of a contrastive pretraining (:mod:`.pretraining`).

    Parameters
    ----------
    n_tiles, n_tracks : int
        What is pretrained on.
    batch : int
        Pairs per update (``2 * batch`` tiles of ``batch`` distinct tracks).
    epochs : int
        Each draws as many pairs as there are tiles.
    step_seconds : float, optional
        Measured seconds per update
        (:meth:`~soundtrack_cnn.beyond.pretraining.ContrastivePretrainer.measure_step_seconds`).

    Returns
    -------
    plan : dict
        ``updates_per_epoch``, ``updates``, ``hours`` and ``tiles_per_second``
        (None without ``step_seconds``), ``warnings``.

    Examples
    --------
    >>> plan = plan_pretraining(6000, 400, 64, 10, step_seconds=2.0)
    >>> plan["updates_per_epoch"], round(plan["hours"], 2), plan["tiles_per_second"]
    (94, 0.52, 64.0)
    >>> plan_pretraining(300, 40, 64, 1)["warnings"][0]
    'a batch of 64 pairs needs 64 distinct tracks; there are 40: lower the batch'
    """
    updates_per_epoch = max(math.ceil(n_tiles / batch), 1)
    plan = {"updates_per_epoch": updates_per_epoch, "updates": updates_per_epoch * epochs,
            "hours": None, "tiles_per_second": None, "warnings": []}
    if step_seconds:
        plan["hours"] = plan["updates"] * step_seconds / 3600
        plan["tiles_per_second"] = 2 * batch / step_seconds
    if n_tracks < batch:
        plan["warnings"].append("a batch of {} pairs needs {} distinct tracks; there are {}: "
                                "lower the batch".format(batch, batch, n_tracks))
    return plan
