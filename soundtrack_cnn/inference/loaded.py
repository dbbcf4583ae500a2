"""What every model loaded for inference has, whichever engine scores its tiles."""
import numpy as np

from ..audio.features import FeatureSettings, Normalizer
from ..errors import InputError
from ..scoring.prediction import TileScorer

__all__ = ["LoadedModel", "SCORE_CHUNK_TILES"]

#: Tiles normalised and scored at once by ``predict_tiles`` (16 MB of study
#: tiles): enough to keep every thread busy, a bounded slice of a large store.
SCORE_CHUNK_TILES = 1024


class LoadedModel(TileScorer):
    """A trained model's description, as its weights file or ``.onnx`` metadata gives it.

    Parameters
    ----------
    metadata : dict
        ``kind``, ``genres``, ``feature_settings``, ``normalizer``,
        ``summaries`` (optional), ... (:func:`soundtrack_cnn.training.modelfiles.read_weights`).
    n_jobs : int or None
        Threads that score (-1: one per core; None: 1).
    where : str
        The model's file or run folder, named in errors.

    Attributes
    ----------
    genres_ : list of str
        The score columns, in order.
    settings_ : FeatureSettings
    normalizer_ : Normalizer
    engine : str
        'numpy' or 'onnx'.
    """

    engine = None

    def __init__(self, metadata, n_jobs=-1, where="the model"):
        self.where = where
        self.kind = metadata["kind"]
        self.genres = self.genres_ = list(metadata["genres"])
        self.settings_ = FeatureSettings.from_dict(metadata["feature_settings"])
        self.normalizer_ = Normalizer.from_dict(metadata["normalizer"])
        self.summaries_ = metadata.get("summaries", {})
        self.metadata = metadata
        self.n_jobs = n_jobs

    def _finite(self, scores):
        """``scores``, unless some are not finite: then InputError naming the model.

        A NaN is not a score: ranked, it would land anywhere, and averaged it
        poisons every track it touches.  Finite weights and finite tiles give
        finite sigmoids, so only a model file built to misbehave gets here.
        """
        bad = np.size(scores) - np.count_nonzero(np.isfinite(scores))
        if bad:
            raise InputError("{}: the model gave {} score(s) that are not finite numbers; it is "
                             "not a working model".format(self.where, bad))
        return scores
