"""Audio files to ranked tags: the scoring path every inference engine shares.

A model here is anything with ``genres_``, ``settings_`` and
``predict_tiles(X)`` -- the Theano-backed ``SpecialistEnsemble`` /
``MultiLabelNet``, the numpy ``NumpyEnsemble`` or the ONNX Runtime
``OnnxEnsemble``; :class:`TileScorer` gives each of them the same
``predict_track_scores`` and ``predict_tracks``.  A file is streamed
(:func:`~soundtrack_cnn.audio.streaming.stream_tiles`) and scored block by block,
so a film of any length fits in memory; its tags are ranked by the mean of
its tiles' scores, as in the study (or another pooling, optionally calibrated).
"""
import numpy as np

from ..audio.features import normalise_track
from ..audio.streaming import stream_tiles, tile_starts
from ..errors import InputError
from .metrics import normalise_scores, top_k
from .pooling import check_pooling, pool_tracks

__all__ = ["TrackPrediction", "TileScorer", "rank_genres", "predict_file", "score_tiles",
           "predict_tracks"]


class TrackPrediction(object):
    """Ranked tags of one audio file.

    Attributes
    ----------
    path : str
    scores : dict
        ``{genre: mean tile score}`` in vocabulary order.
    top : list of (str, float)
        Genres by decreasing score, with scores normalised to sum to 1.
    error : str or None
        Why the file could not be scored (then ``scores`` is empty).
    tile_scores : ndarray, shape (n_tiles, K), or None
        Every tile's score, columns in vocabulary order (the timeline).
    tile_starts : ndarray, shape (n_tiles,), or None
        Start of each tile in seconds.
    """

    def __init__(self, path, scores=None, top=None, error=None, tile_scores=None,
                 tile_starts=None):
        self.path = path
        self.scores = scores or {}
        self.top = top or []
        self.error = error
        self.tile_scores = tile_scores
        self.tile_starts = tile_starts

    def to_dict(self):
        return {"path": self.path, "scores": self.scores,
                "top": [[genre, score] for genre, score in self.top], "error": self.error}


def rank_genres(track_scores, genres, k=5):
    """The ``k`` best genres of one track, with display shares summing to 1 over all genres.

    Parameters
    ----------
    track_scores : ndarray, shape (K,)
        Mean tile score per genre.
    genres : sequence of str
    k : int

    Returns
    -------
    top : list of (str, float)

    Examples
    --------
    >>> rank_genres(np.array([.2, .6, .2]), ["Drama", "Action", "Horror"], k=2)
    [('Action', 0.6), ('Drama', 0.2)]
    """
    return top_k(normalise_scores(np.asarray(track_scores)[None, :]), genres, k)[0]


def predict_file(model, path, k=5, tiles_per_block=16, pooling="mean", calibration=None):
    """Score one audio file, streaming it through ``model`` ``tiles_per_block`` tiles at a time.

    Sixteen tiles at a time keep what an engine allocates for a batch small
    (ONNX Runtime keeps its largest: a 2-hour file peaked at 377 MB with
    blocks of 16, 430 MB with 64) and still give the numpy engine one job
    per net and block to spread over its threads.

    ``pooling`` turns tile scores into the track's (:mod:`soundtrack_cnn.scoring.pooling`;
    the study's is the mean) and ``calibration``, if given, maps them to
    probabilities (:mod:`soundtrack_cnn.beyond.calibration`) before ranking.

    Returns
    -------
    prediction : TrackPrediction
        With ``tile_scores`` and ``tile_starts``; ``error`` set (and no
        scores) if the file cannot be read or is too short.

    Raises
    ------
    InputError
        For a pooling that is not one, or a calibration with a pooling other
        than the mean (:func:`~soundtrack_cnn.scoring.pooling.check_pooling`).
    """
    check_pooling(pooling, calibration)
    return score_tiles(model, path, stream_tiles(path, model.settings_, tiles_per_block=tiles_per_block),
                       k=k, pooling=pooling, calibration=calibration)


def score_tiles(model, path, blocks, k=5, pooling="mean", calibration=None):
    """Like :func:`predict_file`, for the tiles of ``path`` decoded elsewhere.

    Parameters
    ----------
    blocks : iterable of ndarray, shape (n, 1, n_mfcc, n_frames)
        The file's raw tiles in order, e.g. from a decoding process; iterating
        may raise :class:`InputError` (the file is unreadable), which becomes
        the prediction's ``error``.

    Returns
    -------
    prediction : TrackPrediction
    """
    check_pooling(pooling, calibration)
    try:
        if model.settings_.track_norm != "none":
            # Normalised over the whole track: its tiles are gathered first
            # (a 2-hour film's are about 12 MB).
            blocks = [normalise_track(np.concatenate(list(blocks)), model.settings_)]
        tile_scores = np.concatenate([np.asarray(model.predict_tiles(tiles), dtype=np.float64)
                                      for tiles in blocks])
    except InputError as error:
        return TrackPrediction(path, error=str(error))
    scores = pool_tracks(tile_scores, [(0, len(tile_scores))], pooling=pooling)
    if calibration is not None:
        scores = calibration.predict(scores)
    scores = scores[0]
    return TrackPrediction(
        path, scores={g: float(s) for g, s in zip(model.genres_, scores)},
        top=rank_genres(scores, model.genres_, k), tile_scores=tile_scores,
        tile_starts=tile_starts(len(tile_scores), model.settings_))


class TileScorer(object):
    """Track-level scoring for a model that has ``predict_tiles``, ``genres_`` and ``settings_``.

    The one definition of :meth:`predict_track_scores` and
    :meth:`predict_tracks` for every engine; a model that can be unfitted
    overrides :meth:`_check_fitted`.
    """

    def _check_fitted(self):
        """Raise if the model cannot score yet (a loaded model always can)."""

    @property
    def mean_valid_loss_(self):
        """Mean best validation loss of the nets in ``summaries_`` (the study's 0.22)."""
        return float(np.mean([s["best_valid_loss"] for s in self.summaries_.values()]))

    def predict_track_scores(self, X, ranges):
        """Mean tile score of each track; ``ranges`` are (start, stop) rows of ``X``."""
        self._check_fitted()
        return pool_tracks(self.predict_tiles(X), ranges)

    def predict_tracks(self, paths, k=5, pooling="mean", calibration=None):
        """Audio files to ranked tags, end to end.

        Parameters
        ----------
        paths : sequence of str
            Audio files in any format ``load_audio`` reads.
        k : int
            How many tags to rank (the study looks at the top five).
        pooling : {'mean', 'max', 'lme'}
            How tile scores become the track's (see :mod:`soundtrack_cnn.scoring.pooling`);
            the study's is the mean.
        calibration : Calibration, optional
            Maps the pooled scores to probabilities on one scale
            (:mod:`soundtrack_cnn.beyond.calibration`) before ranking.

        Returns
        -------
        predictions : list of TrackPrediction
            One per path, in order; a file that cannot be read carries its
            ``error`` instead of scores, and the others are still scored.
        """
        self._check_fitted()
        return predict_tracks(self, paths, k=k, pooling=pooling, calibration=calibration)


def predict_tracks(model, paths, k=5, pooling="mean", calibration=None):
    """:func:`predict_file` for each path, in order; a bad file does not stop the others."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError("k (tags to rank) must be a positive integer, got {!r}".format(k))
    check_pooling(pooling, calibration)  # before the first file, not with it
    return [predict_file(model, path, k=k, pooling=pooling, calibration=calibration)
            for path in paths]
