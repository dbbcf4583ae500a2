"""How unlike the training collection a tile is, and where "unlike" begins.

A tile is summarised by the mean of each of its first 13 MFCCs over its
sounding frames and the log of their standard deviations (its average timbre
and how much it moves: 26 numbers; the log, because how much a coefficient
moves varies over orders of magnitude between steady noise and music), and
scored by its distance to the nearest of the run's training tiles'
summaries.  The threshold is the distance that a given share
(1% by default) of held-out tiles exceed: the run's validation tiles, and
training tiles scored against the other tracks' tiles only (leave one track
out), so about 1% of new music like the collection's is flagged, whatever the
collection.  Dialogue, effects, noise and silence sit far from a music
collection's timbre and are flagged (``bench/bench_film.py`` measures how
well on synthesised speech).

The reference travels with the model.  It is fitted once, when a run is
evaluated (:func:`soundtrack_cnn.experiment.tracksets.in_distribution_reference`,
from at most :data:`MAX_TRAINING_TILES` training and as many validation
tiles), and written as ``RUN/in-distribution.json``; ``export`` copies it into
the ``.onnx`` or ``.npz`` (its metadata's ``in_distribution``), so a film is
analysed from either without the run's feature store.  What it holds
(:meth:`Novelty.to_reference`): the standardised training summaries (at most
20,000 x 26 float64), their mean and scale, and the held-out distances the
threshold is a quantile of, so any ``quantile`` gives the threshold the fit
would have.  A file handed in is data: :meth:`Novelty.from_reference` checks
every field, shape and size against its bounds before decoding an array.
"""
import base64
import os

import numpy as np

from ..errors import InputError, Remedy
from ..files import read_json, write_json

__all__ = ["Novelty", "summaries", "ordinal", "REFERENCE_FILE", "REFERENCE_KEY", "read_reference",
           "write_reference"]

#: Training tiles read at most (evenly spaced): bounds the cost for big collections.
MAX_TRAINING_TILES = 20000
#: Validation tiles read at most (evenly spaced), likewise.
MAX_VALID_TILES = 20000
#: Training tiles scored against the other tracks' to calibrate the threshold, at most.
MAX_HELD_OUT = 2000
#: The reference in a run folder.
REFERENCE_FILE = "in-distribution.json"
#: The reference in a model file's metadata.
REFERENCE_KEY = "in_distribution"
#: What a reference says it is.
REFERENCE_FORMAT = "soundtrack_cnn in-distribution reference"
#: Largest ``RUN/in-distribution.json`` read (its arrays at their bounds, in base64, take 6 MB).
MAX_REFERENCE_BYTES = 2 ** 24
#: Largest ``k`` a reference may name.
MAX_K = 100


#: MFCCs a summary keeps: the spectral envelope (timbre).  The higher ones
#: resolve pitch and differ from track to track; with all 40, synthesised speech
#: sat inside the demo collection's music (bench/bench_film.py: recall 0 vs 1).
COEFFICIENTS = 13
# Keeps the log finite for a coefficient that does not move at all (digital silence).
_MIN_STD = 1e-3


def summaries(statistics, n_coefficients=COEFFICIENTS):
    """Tile summaries from :func:`~soundtrack_cnn.film.source.tile_statistics`.

    The means of the first ``n_coefficients`` MFCCs and the logs of their
    standard deviations.

    Examples
    --------
    >>> summaries(np.array([[1.0, 2.0, 1.0, 0.0]]), n_coefficients=2).round(3).tolist()
    [[1.0, 2.0, 0.001, -6.908]]
    """
    statistics = np.asarray(statistics, dtype=np.float64)
    half = statistics.shape[1] // 2
    n = min(n_coefficients, half)
    return np.concatenate([statistics[:, :n],
                           np.log(statistics[:, half:half + n] + _MIN_STD)], axis=1)


def ordinal(n):
    """``n`` as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st...

    Examples
    --------
    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '103rd', '111th']
    """
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "{}{}".format(n, suffix)


class Novelty(object):
    """Distance of tile summaries to their nearest training summaries, with a calibrated threshold.

    Summaries are standardised by the training summaries' mean and standard
    deviation; a tile's distance is the Euclidean distance to its ``k``-th
    nearest training summary (a nearest-neighbour detector: a collection of
    several kinds of music is several clouds, which one mean and covariance
    would blur into one).

    Parameters
    ----------
    quantile : float
        Share of validation tiles that stay under the threshold (0.99: about
        1% of music like the collection's is flagged).
    k : int
        Which nearest neighbour counts (3: one stray training tile is not enough).

    Attributes
    ----------
    reference_ : ndarray, shape (n_train, d)
        The standardised training summaries.
    mean_, scale_ : ndarray, shape (d,)
    threshold_ : float
        Distances above it are out of distribution.
    valid_distances_ : ndarray, shape (n_valid,)
    held_out_ : ndarray
        The finite held-out distances the threshold is the ``quantile`` of.
    n_train_, n_valid_ : int
    n_held_out_ : int
        Tiles the threshold was calibrated on.
    silence_db_ : float or None
        The silence threshold the training summaries were made with (None
        if unknown: fitted on summaries given directly).

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> def tiles(n, shift=0):  # means, then standard deviations
    ...     return np.c_[rng.randn(n, 2) + shift, np.exp(rng.randn(n, 2) + shift)]
    >>> novelty = Novelty().fit(tiles(2000), tiles(1000))
    >>> flags = novelty.in_distribution(np.vstack([tiles(1000), tiles(10, shift=8)]))
    >>> round(float(1 - flags[:1000].mean()), 2), bool(flags[1000:].any())
    (0.01, False)
    """

    def __init__(self, quantile=0.99, k=3):
        self.quantile = quantile
        self.k = k
        self.silence_db_ = None

    def fit(self, train, valid, groups=None):
        """Keep the training summaries; set the threshold on held-out tiles.

        Parameters
        ----------
        train, valid : array, shape (n, 2 * n_mfcc)
            :func:`~soundtrack_cnn.film.source.tile_statistics` of tiles.
        groups : array, shape (n_train,), optional
            Each training tile's track.  Given, the threshold is also
            calibrated on training tiles scored against the *other* tracks'
            tiles (leave one track out; at most :data:`MAX_HELD_OUT` of them):
            a validation split of a few tracks alone gives a noisy 99th
            percentile.

        Returns
        -------
        self
        """
        _check_quantile(self.quantile)
        train = summaries(train)
        # Training tiles without a sounding frame describe no music.
        keep = ~np.isnan(train).any(axis=1)
        train = train[keep]
        if len(train) < self.k or len(valid) < 1:
            raise InputError("the in-distribution flag needs at least {} training tiles and "
                             "1 validation tile, got {} and {}".format(self.k, len(train),
                                                                        len(valid)))
        self.mean_ = train.mean(axis=0)
        std = train.std(axis=0)
        # A constant summary (never the case for real MFCCs) must not divide by zero.
        self.scale_ = np.where(std > 0, std, 1.0)
        self.reference_ = (train - self.mean_) / self.scale_
        self._norms = (self.reference_ ** 2).sum(axis=1)
        held_out = self.distance(valid)
        self.valid_distances_ = held_out
        if groups is not None and len(np.unique(np.asarray(groups)[keep])) > self.k:
            groups = np.asarray(groups)[keep]
            rows = np.linspace(0, len(train) - 1, min(len(train), MAX_HELD_OUT)).astype(int)
            held_out = np.concatenate([held_out, self._kth(self.reference_[rows], groups[rows],
                                                           groups)])
        # A held-out tile without a sounding frame is silence, judged elsewhere.
        self.held_out_ = held_out[np.isfinite(held_out)]
        self.n_train_, self.n_valid_ = len(train), len(valid)
        return self._set_threshold()

    def _set_threshold(self):
        self.threshold_ = float(np.quantile(self.held_out_, self.quantile))
        self.n_held_out_ = len(self.held_out_)
        return self

    def _kth(self, z, groups=None, reference_groups=None):
        """Distance of standardised summaries to the k-th nearest reference (other tracks only)."""
        result = np.empty(len(z))
        # Blocks of rows keep the (rows x n_train) distance matrix small.
        for start in range(0, len(z), 256):
            block = z[start:start + 256]
            squared = (block ** 2).sum(axis=1)[:, None] + self._norms[None] \
                - 2 * block.dot(self.reference_.T)
            if groups is not None:
                squared[groups[start:start + 256, None] == reference_groups[None]] = np.inf
            result[start:start + 256] = np.sqrt(np.maximum(
                np.partition(squared, self.k - 1, axis=1)[:, self.k - 1], 0))
        return result

    def distance(self, statistics):
        """Distance of each tile (its statistics) to the ``k``-th nearest training tile, shape (n,)."""
        z = (summaries(statistics) - self.mean_) / self.scale_
        unknown = np.isnan(z).any(axis=1)
        distance = np.full(len(z), np.inf)
        distance[~unknown] = self._kth(z[~unknown])
        return distance

    def in_distribution(self, statistics):
        """Whether each tile (its statistics) is at or under the threshold, shape (n,)."""
        return self.distance(statistics) <= self.threshold_

    def to_dict(self):
        return {"summary": "mean and log std of the first {} MFCCs over the tile's sounding "
                           "frames, standardised".format(COEFFICIENTS),
                "distance": "to the training tile with the {} nearest summary".format(
                    ordinal(self.k)),
                "threshold": round(self.threshold_, 4), "quantile": self.quantile,
                "calibrated_on": "validation tiles and training tiles against the other "
                                 "tracks' ({} tiles)".format(self.n_held_out_),
                "valid_tiles_over_threshold": round(float(
                    (self.valid_distances_ > self.threshold_).mean()), 4),
                "n_train_tiles": self.n_train_, "n_valid_tiles": self.n_valid_,
                "training_silence_db": self.silence_db_}

    # -- the reference that travels with the model ---------------------------
    def to_reference(self):
        """The fitted state as a JSON-ready dict (what :meth:`from_reference` reads).

        Examples
        --------
        >>> rng = np.random.RandomState(0)
        >>> def tiles(n):
        ...     return np.c_[rng.randn(n, 13), np.exp(rng.randn(n, 13))]
        >>> novelty = Novelty().fit(tiles(300), tiles(100))
        >>> again = Novelty.from_reference(novelty.to_reference(), "model.onnx")
        >>> probe = tiles(50)
        >>> bool((again.distance(probe) == novelty.distance(probe)).all())
        True
        >>> again.threshold_ == novelty.threshold_
        True
        """
        return {"format": REFERENCE_FORMAT, "version": 1, "k": int(self.k),
                "coefficients": COEFFICIENTS, "silence_db": self.silence_db_,
                "mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_],
                "reference": _encode(self.reference_), "held_out": _encode(self.held_out_),
                "valid_distances": _encode(self.valid_distances_)}

    @classmethod
    def from_reference(cls, reference, where, quantile=0.99):
        """A fitted Novelty from :meth:`to_reference`'s dict, every field checked first.

        Parameters
        ----------
        reference : dict
            As read from ``RUN/in-distribution.json`` or a model's metadata.
        where : str
            The file it came from, for messages.
        quantile : float
            Share of held-out tiles under the threshold.

        Raises
        ------
        InputError
            Naming ``where`` and the field: not a reference, a field missing
            or of the wrong type, an array of the wrong shape or larger than
            the bounds (checked from its declared shape and its text's length,
            before it is decoded), a value not finite.
        """
        _check_quantile(quantile)

        def damaged(problem):
            return InputError("{}: its in-distribution reference is damaged: {}".format(
                where, problem))

        if not isinstance(reference, dict) or reference.get("format") != REFERENCE_FORMAT:
            raise damaged("it is not one (format {!r})".format(
                reference.get("format") if isinstance(reference, dict) else type(reference)))
        if reference.get("version") != 1:
            raise damaged("version {!r}, not 1".format(reference.get("version")))
        k = reference.get("k")
        if not _is_int(k) or not 1 <= k <= MAX_K:
            raise damaged("field 'k' must be an integer from 1 to {}".format(MAX_K))
        if reference.get("coefficients") != COEFFICIENTS:
            raise damaged("field 'coefficients' must be {}".format(COEFFICIENTS))
        silence_db = reference.get("silence_db")
        if silence_db is not None and not (_is_number(silence_db) and np.isfinite(silence_db)):
            raise damaged("field 'silence_db' must be a finite number or null")
        width = 2 * COEFFICIENTS
        novelty = cls(quantile, k)
        for field in ("mean", "scale"):
            values = reference.get(field)
            if not isinstance(values, list) or len(values) != width or \
                    not all(_is_number(v) and np.isfinite(v) for v in values):
                raise damaged("field '{}' must be {} finite numbers".format(field, width))
        novelty.mean_ = np.array(reference["mean"], dtype=np.float64)
        novelty.scale_ = np.array(reference["scale"], dtype=np.float64)
        if (novelty.scale_ <= 0).any():
            raise damaged("field 'scale' must be positive")
        try:
            novelty.reference_ = _decode(reference.get("reference"), (MAX_TRAINING_TILES, width))
            novelty.held_out_ = _decode(reference.get("held_out"),
                                        (MAX_HELD_OUT + MAX_VALID_TILES,))
            novelty.valid_distances_ = _decode(reference.get("valid_distances"),
                                               (MAX_VALID_TILES,))
        except ValueError as error:
            raise damaged(str(error)) from None
        if not np.isfinite(novelty.reference_).all() or not np.isfinite(novelty.held_out_).all():
            raise damaged("its training summaries or held-out distances are not all finite")
        if len(novelty.reference_) < k or len(novelty.held_out_) < 1 or \
                len(novelty.valid_distances_) < 1:
            raise damaged("it needs at least {} training summaries and a held-out distance"
                          .format(k))
        novelty._norms = (novelty.reference_ ** 2).sum(axis=1)
        novelty.n_train_, novelty.n_valid_ = len(novelty.reference_), len(novelty.valid_distances_)
        novelty.silence_db_ = silence_db
        return novelty._set_threshold()


def _check_quantile(quantile):
    if not _is_number(quantile) or not 0 < quantile < 1:
        raise InputError("quantile must be a share between 0 and 1 (both excluded), got {!r}"
                         .format(quantile))


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _encode(array):
    """A float64 array as JSON: its shape and its little-endian bytes in base64 (exact)."""
    array = np.ascontiguousarray(array, dtype="<f8")
    return {"dtype": "<f8", "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def _decode(entry, bounds):
    """The array of :func:`_encode`; ValueError unless its shape is within ``bounds``.

    The shape is checked against ``bounds`` and the text's length against the
    shape before anything is decoded, so no allocation exceeds the bounds.
    """
    if not isinstance(entry, dict) or entry.get("dtype") != "<f8" or \
            not isinstance(entry.get("base64"), str) or not isinstance(entry.get("shape"), list):
        raise ValueError("an array must be {dtype: '<f8', shape: [...], base64: '...'}")
    shape = entry["shape"]
    if len(shape) != len(bounds) or not all(_is_int(n) and n >= 0 for n in shape):
        raise ValueError("an array of shape {}, not {} dimension(s)".format(shape, len(bounds)))
    for n, bound in zip(shape[:1], bounds[:1]):
        if n > bound:
            raise ValueError("{} rows, more than {}".format(n, bound))
    if tuple(shape[1:]) != tuple(bounds[1:]):
        raise ValueError("rows of {} values, not {}".format(shape[1:], list(bounds[1:])))
    size = 8 * int(np.prod(shape))
    text = entry["base64"]
    if len(text) != 4 * ((size + 2) // 3):
        raise ValueError("{} characters of base64 for an array of {} bytes".format(len(text), size))
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("its base64 is not valid") from None
    return np.frombuffer(data, dtype="<f8").reshape(shape).astype(np.float64)


def write_reference(run_dir, novelty):
    """Write ``RUN/in-distribution.json`` (atomically)."""
    write_json(os.path.join(run_dir, REFERENCE_FILE), novelty.to_reference())


def read_reference(run_dir):
    """The dict of ``RUN/in-distribution.json``, its size bounded before it is read.

    Raises
    ------
    InputError
        If the run has none (it names the call that writes it) or it is too large.
    """
    path = os.path.join(run_dir, REFERENCE_FILE)
    if not os.path.exists(path):
        fix = Remedy("evaluate_run", run_dir)
        raise InputError("{}: no in-distribution reference (a run evaluated before 0.3); {} "
                         "writes it".format(path, fix), remedy=fix)
    if os.path.getsize(path) > MAX_REFERENCE_BYTES:
        raise InputError("{}: {} bytes, more than an in-distribution reference takes ({})".format(
            path, os.path.getsize(path), MAX_REFERENCE_BYTES))
    return read_json(path, what="in-distribution reference")
