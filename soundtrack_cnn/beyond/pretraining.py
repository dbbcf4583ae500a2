"""Pretraining: the study's network learns from unlabelled tiles (NT-Xent), or from a pool's tags.

The positive pair is two ten-second tiles of one track starting at different
frames -- anywhere in the track: a tile may start between two stored tiles
and run on into the next (:meth:`~soundtrack_cnn.training.dataset.TileView.shifted`)
-- each changed at random by the training augmentations (time and
coefficient masks, gain; :class:`~soundtrack_cnn.training.batches.AugmentingBatchIterator`).
The other tracks of the batch are the negatives (every batch draws distinct
tracks, each with a probability proportional to its tiles, so a long track
counts as much as its length and never meets itself as a negative).  This is
COLA's pairing of two segments of one clip (Saeed et al., ICASSP 2021) with
SimCLR's NT-Xent loss and projection head, as CLMR uses them on music
(Spijkervet & Burgoyne, ISMIR 2021); the loss is
:func:`soundtrack_cnn.stack.contrastive.nt_xent`.

What is trained is the study's listing (:func:`~soundtrack_cnn.training.network.build_net`)
up to ``hidden6``, plus a projection head (two dense layers) that is thrown
away: the trunk (:mod:`soundtrack_cnn.beyond.trunk`) is what fine-tuning
starts from.  The update is the study's Nesterov momentum, the learning rate
annealed linearly as ``AdjustVariable`` does.  The listing's dropout is off
while pretraining (:data:`PRETRAINING_DROPOUT`; fine-tuning has it again): on
the development set, with the study's dropout (.1 to .5) the loss stayed at
chance (log of the 2B - 1 candidates) for two epochs at rates .03 and .003,
while without it the loss fell below chance within one epoch at rate .01
(``studies/results/pretraining.md``).

The objective is contrastive (above, needing no tag), or -- the measured
alternative -- ``"tags"``: a multi-label sigmoid head on ``hidden6`` learns
the pool's own tags (binary cross-entropy, like the single multi-label net),
from the tracks of its training split only (:func:`pretraining_data`; the
other tracks' tiles still make up the batches, without a target), or
``"contrastive+tags"``, the sum of both losses (the tags' weighted by
``tag_weight``).  Both heads are thrown away.

Every epoch's random draws (tracks, offsets, augmentations, dropout masks)
come from streams seeded by ``(random_state, epoch)``, and every finished
epoch is checkpointed atomically (weights, momentum, loss curve), so a run
killed at any moment -- ``kill -9`` included -- resumes from its last
finished epoch to the same weights as a run never interrupted.
"""
import hashlib
import io
import json
import os
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator

from ..audio.features import FeatureSettings, Normalizer
from ..collection.labels import label_matrix
from ..collection.store import FeatureStore
from ..errors import InputError, TrainingError
from ..files import write_bytes
from ..parallel.locks import lock
from ..parallel.pool import effective_n_jobs
from ..stack.threads import limit_threads
from ..training.batches import AugmentingBatchIterator
from ..training.callbacks import AdjustVariable
from ..training.dataset import TileView
from ..training.network import STUDY_HYPERPARAMETERS
from .options import OBJECTIVES
from .trunk import ARCHITECTURE, TRUNK_LAYERS, Trunk, write_trunk

__all__ = ["ContrastivePretrainer", "pretrain", "pretraining_data", "StackedTiles",
           "DEFAULT_AUGMENT", "NET_KEYS", "OBJECTIVES"]

#: The augmentations of a view (names of AugmentingBatchIterator's options):
#: SpecAugment-style masks and up to 6 dB of gain.  Offsets come from the pairing.
DEFAULT_AUGMENT = {"time_mask": 20, "coef_mask": 5, "gain_db": 6.0}
_VIEW_AUGMENTATIONS = ("time_mask", "coef_mask", "gain_db")
#: Each objective as the trunk's provenance states it.
OBJECTIVE_DESCRIPTIONS = {
    "contrastive": "NT-Xent (SimCLR/CLMR) on two tiles of one track at different offsets",
    "tags": "binary cross-entropy of the training tracks' tags (multi-label sigmoid head)",
    "contrastive+tags": "NT-Xent on two tiles of one track, plus the binary cross-entropy of "
                        "the training tracks' tags"}
#: What a tile without a target holds in the tags matrix (sklearn's mark of unlabelled).
UNLABELLED = -1
#: The updates a pretraining can use: the study's, or Adam.
UPDATES = ("nesterov", "adam")
#: The listing's hyperparameters a trunk is built from (sizes and dropouts).
NET_KEYS = ARCHITECTURE + ("dropout1", "dropout2", "dropout3", "dropout4", "dropout5")
#: Dropout while pretraining (see the module): none, unless ``net_params`` asks.
PRETRAINING_DROPOUT = {"dropout{}".format(i): 0.0 for i in range(1, 6)}


class StackedTiles(object):
    """The tiles of several stores as one array-like (indexing gathers a float32 copy).

    Examples
    --------
    >>> a, b = np.zeros((2, 1, 2, 3), np.float32), np.ones((3, 1, 2, 3), np.float32)
    >>> stacked = StackedTiles([a, b])
    >>> stacked.shape, stacked[np.array([4, 0])][:, 0, 0, 0].tolist()
    ((5, 1, 2, 3), [1.0, 0.0])
    """

    def __init__(self, parts):
        self.parts = list(parts)
        self.starts = np.cumsum([0] + [len(part) for part in self.parts])
        self.shape = (int(self.starts[-1]),) + tuple(self.parts[0].shape[1:])

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, slice):
            key = np.arange(*key.indices(len(self)))
        index = np.asarray(key, np.int64)
        out = np.empty((len(index),) + self.shape[1:], np.float32)
        part = np.searchsorted(self.starts, index, side="right") - 1
        for number in np.unique(part):
            where = np.flatnonzero(part == number)
            out[where] = self.parts[number][index[where] - self.starts[number]]
        return out


def pretraining_data(stores, exclude_splits=("test",), tag_splits=("train",)):
    """The tiles, tracks, tags and description of what pretraining learns from.

    Parameters
    ----------
    stores : sequence of str
        Feature stores (same feature settings).
    exclude_splits : sequence of str
        Tracks whose manifest split is one of these are left out (default:
        the test tracks, which a model is judged on).
    tag_splits : sequence of str
        Only the tags of tracks whose split is one of these are targets (the
        ``"tags"`` objectives); every other track is unlabelled.

    Returns
    -------
    X : TileView
        Raw tiles of the kept tracks, each track's tiles in time order.
    groups : ndarray of str
        Each tile's track (``"<store number>:<track_id>"``).
    tags : ndarray of int8, shape (n_tiles, n_tags)
        Each tile's track's tags (0/1) over ``description["tags"]``;
        :data:`UNLABELLED` (-1) in every column for an unlabelled track.
    description : dict
        ``stores`` (path, tracks, tiles, hours, tiles_sha256 digest),
        ``tracks``, ``tiles``, ``hours``, ``excluded_splits``, ``tags``
        (sorted), ``tagged_tracks``, ``tag_splits``, ``settings``.
    """
    if not stores:
        raise InputError("pretraining needs at least one feature store")
    opened = [FeatureStore(path) for path in stores]
    settings = opened[0].settings
    for store in opened[1:]:
        store.settings.check_same(settings, what="feature stores {} and {}".format(
            opened[0].path, store.path))
    parts, rows, groups, described, offset, tag_lists = [], [], [], [], 0, []
    excluded, tagged = set(exclude_splits or ()), set(tag_splits or ())
    for number, store in enumerate(opened):
        store.verify()
        kept = [track for track in store.ok_tracks if track.split not in excluded]
        digest = hashlib.sha256()
        for track in kept:
            rows.append(np.arange(track.start, track.stop) + offset)
            groups.extend(["{}:{}".format(number, track.track_id)] * (track.stop - track.start))
            tag_lists.append(track.tags if track.split in tagged else ())
            digest.update("{} {}\n".format(track.track_id, store.records[track.track_id].get(
                "tiles_sha256")).encode())
        described.append({"path": os.path.abspath(store.path), "tracks": len(kept),
                          "tiles": int(sum(t.stop - t.start for t in kept)),
                          "hours": round(sum(t.duration for t in kept) / 3600, 3),
                          "left_out": len(store.ok_tracks) - len(kept),
                          "tracks_sha256": digest.hexdigest()})
        parts.append(store.tiles)
        offset += len(store.tiles)
    if not rows:
        raise InputError("{}: no track with tiles to pretrain on{}".format(
            ", ".join(stores), " (splits {} left out)".format(sorted(excluded)) if excluded else ""))
    tiles = parts[0] if len(parts) == 1 else StackedTiles(parts)
    indices = np.concatenate(rows)
    names = sorted({tag for tags in tag_lists for tag in tags})
    per_track = label_matrix(tag_lists, names)
    per_track[[not tags for tags in tag_lists]] = UNLABELLED
    description = {"stores": described, "tracks": sum(s["tracks"] for s in described),
                   "tiles": int(len(indices)), "hours": round(sum(s["hours"] for s in described), 3),
                   "excluded_splits": sorted(excluded), "tags": names,
                   "tagged_tracks": int(sum(bool(tags) for tags in tag_lists)),
                   "tag_splits": sorted(tagged), "settings": settings}
    tile_tags = np.repeat(per_track, [len(track_rows) for track_rows in rows], axis=0)
    return TileView(tiles, indices), np.asarray(groups), tile_tags, description


def _epoch_seed(random_state, epoch, stream):
    """An int seed for one stream of one epoch (numpy mixes the three numbers)."""
    return int(np.random.RandomState([random_state, epoch, stream]).randint(1, 2 ** 30))


class ContrastivePretrainer(BaseEstimator):
    """Pretrain the study's network up to ``hidden6`` on unlabelled tiles (NT-Xent), or on tags.

    Parameters
    ----------
    objective : {'contrastive', 'tags', 'contrastive+tags'}
        NT-Xent on two views of a track; binary cross-entropy of the tracks'
        tags (``fit``'s ``tags``); or their sum (see the module).
    tag_weight : float
        The tags' loss is multiplied by it in ``'contrastive+tags'``.
    epochs : int
        An epoch draws as many positive pairs as there are tiles.
    batch : int
        Pairs per update (``2 * batch`` tiles, ``batch`` distinct tracks).
    temperature : float
        Of NT-Xent (CLMR's .5).
    rate, rate_stop : float
        Learning rate of the first and of the last epoch (linear in between).
    momentum : float
        Nesterov momentum (the study's .9; ``update='nesterov'`` only).
    update : {'nesterov', 'adam'}
        The study's update, or Adam (Kingma & Ba, 2015; ``rate`` is its step
        size), which contrastive learning usually uses.
    head_units, projection_units : int
        The projection head: dense ``head_units`` (ReLU), then dense
        ``projection_units`` (linear), on ``hidden6``; discarded after training
        (as is the tags' head, dense sigmoid, one unit per tag).
    augment : dict, optional
        Augmentations of each view (``time_mask``, ``coef_mask``,
        ``gain_db``); default :data:`DEFAULT_AUGMENT`; ``{}`` for none.
    net_params : dict, optional
        The listing's sizes and dropouts (:data:`NET_KEYS`); default the
        study's sizes, and no dropout (:data:`PRETRAINING_DROPOUT`).
    settings : FeatureSettings, optional
        The features the tiles were made with (recorded in the trunk).
    checkpoint : str, optional
        ``.npz`` written atomically after every epoch; ``fit`` resumes from
        it when it holds a pretraining of the same data and parameters.
    random_state : int
    n_jobs : int
        Threads of OpenMP and BLAS while pretraining, as in scikit-learn (-1:
        one per core). Thread counts change a net's sums, so the weights are
        those of the seed *and* this number, the same on any machine; 1 (the
        default) is how the shipped trunk was built. (Two threads trained a
        specialist only 1.23x faster than one: :mod:`soundtrack_cnn.stack.threads`.)
    progress : bool
        A tqdm bar (updates, loss, time left) on stderr, if it is a terminal.
    on_epoch : callable, optional
        Called with each finished epoch's history row (after its checkpoint):
        a log line where there is no terminal for the bar.

    Attributes
    ----------
    trunk_ : Trunk
    history_ : list of dict
        ``epoch``, ``loss`` (mean loss of the epoch), ``seconds``.
    normalizer_ : Normalizer
        Fitted on the tiles pretrained on; applied to every view.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(24, 1, 40, 100).astype(np.float32)
    >>> model = ContrastivePretrainer(epochs=1, batch=4, net_params={"c1": 2, "c2": 2, "c3": 2,
    ...                               "c4": 2, "h5": 4, "h6": 3}).fit(X, np.arange(24) // 3)
    >>> model.transform(X[:5]).shape, len(model.history_)
    ((5, 3), 1)

    With tags (rows of -1: a track without training tags):

    >>> tags = np.tile([[1, 0], [0, 1], [-1, -1]], (8, 1)).astype(np.int8)
    >>> tagged = ContrastivePretrainer(objective="contrastive+tags", epochs=1, batch=4,
    ...     net_params={"c1": 2, "c2": 2, "c3": 2, "c4": 2, "h5": 4, "h6": 3}).fit(
    ...     X, np.arange(24) // 3, tags=np.repeat(tags[::3], 3, axis=0))
    >>> tagged.trunk_.params["hidden6"][0].shape
    (4, 3)
    """

    def __init__(self, objective="contrastive", tag_weight=1.0, epochs=20, batch=64,
                 temperature=0.5, rate=0.01, rate_stop=0.001, momentum=0.9, update="nesterov",
                 head_units=64, projection_units=32, augment=None, net_params=None,
                 settings=None, checkpoint=None, random_state=0, n_jobs=1, progress=False,
                 on_epoch=None):
        self.objective = objective
        self.tag_weight = tag_weight
        self.epochs = epochs
        self.batch = batch
        self.temperature = temperature
        self.rate = rate
        self.rate_stop = rate_stop
        self.momentum = momentum
        self.update = update
        self.head_units = head_units
        self.projection_units = projection_units
        self.augment = augment
        self.net_params = net_params
        self.settings = settings
        self.checkpoint = checkpoint
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress
        self.on_epoch = on_epoch

    # -- parameters ----------------------------------------------------------
    def _net_params(self):
        unknown = sorted(set(self.net_params or {}) - set(NET_KEYS))
        if unknown:
            raise InputError("net_params: {} are not sizes or dropouts of the listing ({})"
                             .format(unknown, ", ".join(NET_KEYS)))
        defaults = dict(STUDY_HYPERPARAMETERS, **PRETRAINING_DROPOUT)
        return {key: (self.net_params or {}).get(key, defaults[key]) for key in NET_KEYS}

    def _augment(self):
        augment = DEFAULT_AUGMENT if self.augment is None else dict(self.augment)
        unknown = sorted(set(augment) - set(_VIEW_AUGMENTATIONS))
        if unknown:
            raise InputError("augment: {} are not augmentations of a view ({})".format(
                unknown, ", ".join(_VIEW_AUGMENTATIONS)))
        return augment

    def _check_params(self):
        for name in ("epochs", "batch", "head_units", "projection_units"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError("{} must be a positive integer, got {!r}".format(name, value))
        if self.batch < 2:
            raise InputError("batch must be at least 2 pairs (a pair needs negatives)")
        for name in ("temperature", "rate", "rate_stop"):
            if not float(getattr(self, name)) > 0:
                raise InputError("{} must be positive, got {!r}".format(name, getattr(self, name)))
        if self.objective not in OBJECTIVES:
            raise InputError("objective must be one of {}, got {!r}".format(OBJECTIVES,
                                                                          self.objective))
        if not float(self.tag_weight) > 0:
            raise InputError("tag_weight must be positive, got {!r}".format(self.tag_weight))
        if self.update not in UPDATES:
            raise InputError("update must be one of {}, got {!r}".format(UPDATES, self.update))
        if not 0 <= float(self.momentum) < 1:
            raise InputError("momentum must be in [0, 1), got {!r}".format(self.momentum))
        if not isinstance(self.random_state, (int, np.integer)) or isinstance(self.random_state,
                                                                              bool):
            raise InputError("random_state must be an int, got {!r}".format(self.random_state))
        self._threads()  # refuses an n_jobs that is not a count, or -1, -2, ...

    def _threads(self):
        return effective_n_jobs(self.n_jobs)

    def _uses_tags(self):
        return self.objective != "contrastive"

    def _config(self, groups, n_tiles, tags=None):
        """Everything that decides the weights: resumed only when it is the same."""
        data = hashlib.sha256()
        names, counts = np.unique(groups, return_counts=True)
        for name, count in zip(names, counts):
            data.update("{} {}\n".format(name, count).encode())
        config = {"objective": self.objective, "epochs": int(self.epochs),
                  "batch": int(self.batch), "temperature": float(self.temperature),
                  "rate": float(self.rate), "rate_stop": float(self.rate_stop),
                  "momentum": float(self.momentum), "update": self.update,
                  "head_units": int(self.head_units),
                  "projection_units": int(self.projection_units),
                  "augment": self._augment(), "net_params": self._net_params(),
                  "random_state": int(self.random_state), "threads": self._threads(),
                  "tiles": int(n_tiles),
                  "tracks": int(len(names)), "data": data.hexdigest()}
        if self._uses_tags():
            config.update(tag_weight=float(self.tag_weight), n_tags=int(tags.shape[1]),
                          tags_sha256=hashlib.sha256(np.ascontiguousarray(
                              tags, np.int8).tobytes()).hexdigest())
        return config

    # -- the Theano graph -----------------------------------------------------
    def _compile(self, input_shape, n_tags=0):
        """The trunk + head layers, the parameters, momentum buffers and the training step.

        The step takes the tiles, and with a tags objective their targets
        (``(2 * batch, n_tags)``, rows of :data:`UNLABELLED` without one).
        """
        import lasagne
        import theano
        import theano.tensor as T
        from lasagne.layers import DenseLayer, DropoutLayer
        from lasagne.nonlinearities import rectify, sigmoid
        from lasagne.objectives import binary_crossentropy
        from lasagne.updates import adam, nesterov_momentum
        from ..stack.contrastive import nt_xent
        from ..training.network import build_net
        saved = lasagne.random.get_rng()
        lasagne.random.set_rng(np.random.RandomState(self.random_state))
        try:
            net = build_net(input_shape=(None,) + tuple(input_shape), **self._net_params())
            net.initialize_layers()
            hidden6 = net.layers_["hidden6"]
            heads = []
            if self.objective != "tags":
                head = DenseLayer(hidden6, num_units=self.head_units, nonlinearity=rectify)
                heads.append(DenseLayer(head, num_units=self.projection_units,
                                        nonlinearity=None))
            if self._uses_tags():
                heads.append(DenseLayer(hidden6, num_units=n_tags, nonlinearity=sigmoid))
        finally:
            lasagne.random.set_rng(saved)
        tiles, targets = T.tensor4("tiles"), T.matrix("targets")
        outputs = lasagne.layers.get_output(heads, tiles)
        loss = 0
        if self.objective != "tags":
            loss = nt_xent(outputs[0], temperature=float(self.temperature))
        if self._uses_tags():
            # The mean over the tiles that have targets (a batch may hold none).
            labelled = T.neq(targets[:, 0], UNLABELLED)
            probabilities = T.clip(outputs[-1], 1e-7, 1 - 1e-7)
            per_tile = binary_crossentropy(probabilities, T.maximum(targets, 0)).mean(axis=1)
            tags_loss = T.sum(per_tile * labelled) / T.maximum(T.sum(labelled), 1)
            weight = float(self.tag_weight) if self.objective == "contrastive+tags" else 1.0
            loss = loss + weight * tags_loss
        params = lasagne.layers.get_all_params(heads, trainable=True)
        rate = theano.shared(np.float32(self.rate))
        updates = (adam(loss, params, learning_rate=rate) if self.update == "adam" else
                   nesterov_momentum(loss, params, learning_rate=rate,
                                     momentum=float(self.momentum)))
        velocities = [variable for variable in updates if all(variable is not p for p in params)]
        step = theano.function([tiles, targets] if self._uses_tags() else [tiles], loss,
                               updates=updates)
        dropouts = [layer for layer in lasagne.layers.get_all_layers(heads)
                    if isinstance(layer, DropoutLayer)]
        return net.layers_, params + velocities, rate, step, dropouts

    def measure_step_seconds(self, input_shape=(1, 40, 100), n_tags=10, steps=2):
        """Seconds per update (``2 * batch`` tiles forward and backward), on random tiles.

        Compiles the graph (from Theano's cache after the first time); what
        the budget planner's estimate of a pretraining's time rests on.
        """
        self._check_params()
        _, _, _, step, _ = self._compile(input_shape, n_tags)
        rng = np.random.RandomState(0)
        inputs = [rng.randn(2 * self.batch, *input_shape).astype(np.float32)]
        if self._uses_tags():
            inputs.append((rng.random_sample((2 * self.batch, n_tags)) < .3).astype(np.float32))
        with limit_threads(self._threads()):
            step(*inputs)
            start = time.perf_counter()
            for _ in range(steps):
                step(*inputs)
            return (time.perf_counter() - start) / steps

    # -- checkpoints -------------------------------------------------------------
    def _save(self, state, config, epoch, history):
        arrays = {"state/{}".format(i): variable.get_value() for i, variable in enumerate(state)}
        arrays["meta"] = np.array(json.dumps({
            "config": config, "epoch": epoch, "history": history,
            "normalizer": self.normalizer_.to_dict()}))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_bytes(self.checkpoint, buffer.getvalue())

    def _resume(self, state, config):
        """The epoch, history and normaliser of the checkpoint (state restored), or None."""
        if not self.checkpoint or not os.path.exists(self.checkpoint):
            return None
        try:
            with np.load(self.checkpoint, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                values = [archive["state/{}".format(i)] for i in range(len(state))]
        except (OSError, ValueError, KeyError, EOFError) as error:
            raise InputError("{}: not a pretraining checkpoint ({}); delete it to start "
                             "again".format(self.checkpoint, error)) from None
        if meta.get("config") != config:
            changed = sorted(key for key in config if meta.get("config", {}).get(key) != config[key])
            raise InputError("{} holds a pretraining of other data or parameters ({}); give "
                             "another output, or delete it to start again".format(
                                 self.checkpoint, ", ".join(changed)))
        for variable, value in zip(state, values):
            if variable.get_value().shape != value.shape:
                raise InputError("{}: its arrays do not fit the network".format(self.checkpoint))
            variable.set_value(value)
        return meta["epoch"], meta["history"], Normalizer.from_dict(meta["normalizer"])

    # -- fitting -------------------------------------------------------------
    def fit(self, X, groups, tags=None):
        """Pretrain on raw tiles ``X``, each track's tiles consecutive and in time order.

        Parameters
        ----------
        X : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            Raw tiles (e.g. a TileView of a store).
        groups : array, shape (n_tiles,)
            Each tile's track.
        tags : array, shape (n_tiles, n_tags), optional
            0/1 targets of the tags objectives (:data:`UNLABELLED` rows: a
            tile without); ignored by ``'contrastive'``.

        Returns
        -------
        self
        """
        import tqdm
        self._check_params()
        groups = np.asarray(groups)
        if len(groups) != len(X):
            raise InputError("groups has {} entries for {} tiles".format(len(groups), len(X)))
        firsts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        counts = np.diff(np.r_[firsts, len(groups)])
        if len(firsts) != len(np.unique(groups)):
            raise InputError("each track's tiles must be consecutive (in time order)")
        if len(firsts) < self.batch:
            raise InputError("a batch of {} pairs needs {} distinct tracks; these tiles hold {} "
                             "(lower batch)".format(self.batch, self.batch, len(firsts)))
        if self._uses_tags():
            tags = self._check_tags(tags, len(X))
        settings = self.settings or FeatureSettings()
        config = self._config(groups, len(X), tags)
        layers, state, rate, step, dropouts = self._compile(
            tuple(X.shape[1:]), tags.shape[1] if self._uses_tags() else 0)
        resumed = self._resume(state, config)
        first_epoch, history = 1, []
        if resumed:
            done, history, self.normalizer_ = resumed
            first_epoch = done + 1
        else:
            self.normalizer_ = Normalizer().fit(X)
        view = TileView(X, normalizer=self.normalizer_, groups=groups)
        # A view joins a stored tile to the next only where they abut (the study's
        # hop); tiles stored at another hop are drawn at their stored starts.
        n_frames = X.shape[-1] if settings.hop == settings.n_frames else 1
        updates_per_epoch = -(-len(X) // self.batch)
        schedule = AdjustVariable("rate", start=self.rate, stop=self.rate_stop)
        augment = self._augment()
        bar = tqdm.tqdm(total=self.epochs * updates_per_epoch,
                        initial=(first_epoch - 1) * updates_per_epoch, unit="update",
                        file=sys.stderr, desc="pretraining",
                        disable=not (self.progress and sys.stderr.isatty()))
        with bar, limit_threads(self._threads()):
            for epoch in range(first_epoch, self.epochs + 1):
                started = time.perf_counter()
                rate.set_value(np.float32(schedule.value_at(epoch, self.epochs)))
                for number, layer in enumerate(dropouts):
                    layer._srng.seed(_epoch_seed(self.random_state, epoch, 10 + number))
                draws = np.random.RandomState(_epoch_seed(self.random_state, epoch, 0))
                views = AugmentingBatchIterator(2 * self.batch, seed=_epoch_seed(
                    self.random_state, epoch, 1), **augment) if augment else None
                losses = []
                for _ in range(updates_per_epoch):
                    tiles, rows = self._pairs(view, firsts, counts, n_frames, draws, views)
                    loss = float(step(tiles, tags[rows].astype(np.float32)) if self._uses_tags()
                                 else step(tiles))
                    if not np.isfinite(loss):
                        raise TrainingError("pretraining: the loss became {} at epoch {}; lower "
                                            "the learning rate".format(loss, epoch))
                    losses.append(loss)
                    bar.update()
                    bar.set_postfix_str("epoch {} loss {:.3f}".format(epoch, np.mean(losses)),
                                        refresh=False)
                history.append({"epoch": epoch, "loss": float(np.mean(losses)),
                                "seconds": round(time.perf_counter() - started, 3)})
                if self.checkpoint:
                    self._save(state, config, epoch, history)
                if self.on_epoch is not None:
                    self.on_epoch(history[-1])
        self.history_ = history
        self.trunk_ = Trunk({name: [p.get_value() for p in layers[name].get_params()]
                             for name in TRUNK_LAYERS}, settings,
                            {key: config["net_params"][key] for key in ARCHITECTURE})
        return self

    def _check_tags(self, tags, n_tiles):
        if tags is None:
            raise InputError("objective {!r} needs the tiles' tags".format(self.objective))
        tags = np.asarray(tags)
        if tags.ndim != 2 or len(tags) != n_tiles:
            raise InputError("tags must be (n_tiles={}, n_tags) 0/1, got shape {}".format(
                n_tiles, tags.shape))
        if not np.isin(tags, (0, 1, UNLABELLED)).all():
            raise InputError("tags must hold 0, 1, or {} (no target)".format(UNLABELLED))
        if not tags.shape[1] or not (tags[:, 0] != UNLABELLED).any():
            raise InputError("objective {!r}: no tile has training tags (pretrain on a labelled "
                             "store, or use 'contrastive')".format(self.objective))
        return tags

    def _pairs(self, view, firsts, counts, n_frames, draws, views):
        """``2 * batch`` normalised, augmented tiles (rows i and i + batch: one track), and
        each one's stored tile (an index of ``X``).

        A view starts at any of ``n_frames`` frames of a stored tile (1: at a
        stored tile's start).
        """
        tracks = draws.choice(len(firsts), size=self.batch, replace=False,
                              p=counts / counts.sum())
        # A view may start at any frame from the track's first to its last tile's start.
        positions = (counts[tracks] - 1) * n_frames + 1
        a = draws.randint(0, positions)
        b = np.where(positions > 1, (a + 1 + (draws.random_sample(len(a)) * (positions - 1))
                                     .astype(np.int64)) % positions, a)
        starts = np.concatenate([a, b])
        rows = np.concatenate([firsts[tracks]] * 2) + starts // n_frames
        pairs = view[rows].shifted(starts % n_frames)
        if views is None:
            return pairs[:], rows
        tiles, _ = next(iter(views(pairs)))
        return tiles, rows

    def transform(self, X):
        """The trunk's ``hidden6`` activations of raw tiles (normalised here), dropout off."""
        from .trunk import embed_tiles
        return embed_tiles(self.trunk_, TileView(X, normalizer=self.normalizer_))


def pretrain(stores, out, exclude_splits=("test",), command=None, report=None,
             estimate=True, **params):
    """Pretrain a trunk on feature stores and write it (``out`` ``.npz`` + ``.json``), resumably.

    The checkpoint of the last finished epoch is ``OUT.checkpoint.npz``
    beside the trunk; rerunning the same call resumes from it (``OUT.lock``
    keeps a second pretraining of the same trunk out meanwhile).

    Parameters
    ----------
    stores : sequence of str
    out : str
        The trunk's ``.npz``.
    exclude_splits : sequence of str
        Manifest splits left out (default: test).
    command : str, optional
        The command that rebuilds the trunk (recorded in its provenance).
    report : callable, optional
        Called with one line of text: what is pretrained on and the time
        it will take (measured), before anything is trained; then once per
        finished epoch.
    estimate : bool
        Measure a step to estimate the time (for ``report``).
    **params
        :class:`ContrastivePretrainer` parameters.

    Returns
    -------
    trunk : Trunk
    """
    from importlib.metadata import version
    import platform
    from ..training.budget import plan_pretraining
    if not str(out).endswith(".npz"):
        raise InputError("{}: the trunk is written as an .npz file (its provenance beside it, "
                         ".json)".format(out))
    X, groups, tags, description = pretraining_data(stores, exclude_splits)
    settings = description.pop("settings")
    on_epoch = None if report is None else (lambda row: report(
        "epoch {}/{}: loss {:.4f} ({:.0f} s; checkpoint {})".format(
            row["epoch"], model.epochs, row["loss"], row["seconds"], model.checkpoint)))
    model = ContrastivePretrainer(settings=settings, checkpoint=out[:-4] + ".checkpoint.npz",
                                  on_epoch=on_epoch, **params)
    model._check_params()
    if model._uses_tags():  # before the estimate compiles anything (fit checks them too)
        model._check_tags(tags, len(X))
    else:  # the provenance names tags only where they were learnt
        for key in ("tags", "tagged_tracks", "tag_splits"):
            description.pop(key)
    if report:
        step = (model.measure_step_seconds(settings.tile_shape, n_tags=max(tags.shape[1], 1))
                if estimate else None)
        plan = plan_pretraining(description["tiles"], description["tracks"], model.batch,
                                model.epochs, step)
        what = ["{:.2f} h".format(description["hours"])]
        if description["excluded_splits"]:
            what.append("splits {} left out".format(", ".join(description["excluded_splits"])))
        if model._uses_tags():
            what.append("{} tags of {} training tracks".format(len(description["tags"]),
                                                                description["tagged_tracks"]))
        time_left = "" if step is None else ", about {:.2f} h ({:.2f} s per update, {:.0f} " \
            "tiles/s)".format(plan["hours"], step, plan["tiles_per_second"])
        report("pretraining ({}) on {} tiles of {} tracks ({}): {} epochs x {} updates of {} "
               "tiles{}".format(model.objective, description["tiles"], description["tracks"],
                                "; ".join(what), model.epochs, plan["updates_per_epoch"],
                                2 * model.batch, time_left))
        for warning in plan["warnings"]:
            report("warning: " + warning)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    held = lock(out[:-4] + ".lock")
    if held is None:
        raise InputError("{}: another pretraining is writing this trunk".format(out))
    with held:
        model.fit(X, groups, tags)
    os.unlink(out[:-4] + ".lock")
    seconds = sum(row["seconds"] for row in model.history_)
    tiles_seen = 2 * model.batch * -(-description["tiles"] // model.batch) * len(model.history_)
    names = ["Theano", "Lasagne", "nolearn", "numpy", "scipy", "scikit-learn",
             "python_speech_features", "soundtrack_cnn"]
    trunk = model.trunk_
    trunk.provenance = {
        "objective": OBJECTIVE_DESCRIPTIONS[model.objective],
        "data": description, "epochs": len(model.history_),
        "parameters": model._config(groups, len(X), tags),
        "loss_curve": [round(row["loss"], 5) for row in model.history_],
        "hours_of_training": round(seconds / 3600, 3),
        "tiles_per_second": round(tiles_seen / seconds, 1) if seconds else None,
        "normalizer": model.normalizer_.to_dict(),
        "command": command,
        "versions": dict({name: version(name) for name in names},
                         python=platform.python_version()),
    }
    write_trunk(out, trunk)
    return trunk
