"""Calibration: each specialist's track scores mapped to probabilities on one scale.

Ten independently trained sigmoids are not comparable: a specialist for a
frequent genre scores high everywhere, so that genre tops most rankings.  A
:class:`Calibration` maps each genre's raw track score through a monotone
function fitted on the validation tracks -- Platt scaling (a logistic
regression on the score's logit) or isotonic regression (scikit-learn) -- so
that a calibrated 0.3 means "30% of such tracks carry the tag" for every
genre.  It is stored in the run folder as ``calibration-<method>.json``,
sealed with a checksum and checked field by field when read, like every
other file of a run: a NaN parameter would turn every probability into NaN,
and a knot out of [0, 1] into a "probability" that is not one.
"""
import os

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ..errors import InputError
from ..files import read_json, write_json
from ..scoring.metrics import safe_logit
from ..training.modelfiles import MAX_GENRES, check_seal, seal
from .options import CALIBRATIONS as METHODS

__all__ = ["Calibration", "METHODS", "calibration_path"]

#: Most knots an isotonic map may have (one per validation track at most).
MAX_KNOTS = 10 ** 6


def _check_method(method):
    if method not in METHODS:
        raise InputError("calibration method must be one of {}, got {!r}".format(
            list(METHODS), method))
    return method


def calibration_path(run_dir, method):
    """Where a run keeps its calibration by ``method``."""
    return os.path.join(run_dir, "calibration-{}.json".format(method))


class Calibration(BaseEstimator):
    """Per-genre monotone maps from raw track scores to probabilities.

    Parameters
    ----------
    method : {'platt', 'isotonic'}
        Platt: ``p = sigmoid(a * logit(score) + b)`` with ``a >= 0`` (a
        specialist ranking worse than chance on validation is not turned
        upside down: it gets ``a = 0``, its validation frequency).  Isotonic:
        the non-decreasing step function of scikit-learn's
        ``IsotonicRegression``, interpolated linearly between its knots.

    Attributes
    ----------
    genres_ : list of str
    params_ : dict
        ``{genre: {"a", "b"}}`` (Platt) or ``{genre: {"x": [...], "y": [...]}}``
        (isotonic knots).

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> truth = rng.uniform(size=(2000, 1))
    >>> raw = truth ** 3                       # a specialist scoring far too low
    >>> labels = (rng.uniform(size=truth.shape) < truth).astype(int)
    >>> calibration = Calibration("isotonic").fit(raw, labels, ["Drama"])
    >>> [round(float(p), 1) for p in calibration.predict([[.001], [.125], [.729]])[:, 0]]
    [0.1, 0.5, 0.9]
    """

    def __init__(self, method="platt"):
        self.method = method

    def fit(self, X, y, genres):
        """Fit one map per genre on validation tracks.

        Parameters
        ----------
        X : array, shape (n_tracks, K)
            Raw track scores in [0, 1].
        y : array of {0, 1}, shape (n_tracks, K)
        genres : sequence of str

        Returns
        -------
        self
        """
        _check_method(self.method)
        scores, labels = np.asarray(X, dtype=float), np.asarray(y).astype(int)
        if scores.shape != labels.shape or scores.ndim != 2 or scores.shape[1] != len(genres) \
                or len(scores) == 0:
            raise InputError("scores {} and labels {} must both be (n >= 1, {})".format(
                scores.shape, labels.shape, len(genres)))
        self.genres_ = list(genres)
        self.params_ = {genre: getattr(self, "_fit_" + self.method)(scores[:, j], labels[:, j])
                        for j, genre in enumerate(self.genres_)}
        return self

    @staticmethod
    def _fit_platt(score, label):
        if label.min() == label.max():
            # One class only: nothing to scale; keep the (smoothed) frequency.
            return {"a": 0.0, "b": float(safe_logit((label.sum() + 1.0) / (len(label) + 2.0)))}
        model = LogisticRegression(C=1.0).fit(safe_logit(score)[:, None], label)
        a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
        if a < 0:
            return {"a": 0.0, "b": float(safe_logit(label.mean()))}
        return {"a": a, "b": b}

    @staticmethod
    def _fit_isotonic(score, label):
        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        model.fit(score, label)
        return {"x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist()}

    def predict(self, X):
        """Calibrated probabilities of track scores ``X``, same shape (columns in ``genres_`` order)."""
        scores = np.asarray(X, dtype=float)
        if scores.ndim != 2 or scores.shape[1] != len(self.genres_):
            raise InputError("scores {} must be (n, {})".format(scores.shape, len(self.genres_)))
        columns = []
        for j, genre in enumerate(self.genres_):
            p = self.params_[genre]
            if self.method == "platt":
                columns.append(expit(p["a"] * safe_logit(scores[:, j]) + p["b"]))
            else:
                # np.interp clips outside the knots, as out_of_bounds="clip" does.
                columns.append(np.interp(scores[:, j], p["x"], p["y"]))
        return np.column_stack(columns)

    def to_dict(self):
        return {"method": self.method, "genres": self.genres_, "params": self.params_}

    @classmethod
    def from_dict(cls, record):
        """A calibration from :meth:`to_dict` output; ValueError says which field is wrong."""
        if not isinstance(record, dict):
            raise ValueError("it holds no object")
        if record.get("method") not in METHODS:
            raise ValueError("field 'method' must be one of {}".format(list(METHODS)))
        genres, params = record.get("genres"), record.get("params")
        if not isinstance(genres, list) or not 1 <= len(genres) <= MAX_GENRES or \
                not all(isinstance(g, str) and g for g in genres) or len(set(genres)) != len(genres):
            raise ValueError("field 'genres' must be a list of distinct non-empty strings")
        if not isinstance(params, dict) or set(params) != set(genres):
            raise ValueError("field 'params' must hold one map per genre")
        for genre in genres:
            problem = _check_map(record["method"], params[genre])
            if problem:
                raise ValueError("field 'params.{}': {}".format(genre, problem))
        calibration = cls(record["method"])
        calibration.genres_ = list(genres)
        calibration.params_ = {genre: params[genre] for genre in genres}
        return calibration

    def save(self, run_dir, **provenance):
        """Write ``calibration-<method>.json`` atomically, sealed; ``provenance`` is recorded beside it."""
        path = calibration_path(run_dir, self.method)
        write_json(path, seal(dict(self.to_dict(), **provenance)))
        return path

    @classmethod
    def load(cls, run_dir, method="platt", genres=None):
        """The calibration a run folder holds for ``method``, checked.

        Parameters
        ----------
        run_dir : str
        method : {'platt', 'isotonic'}
        genres : sequence of str, optional
            The score columns it will map (the model's genres); other genres,
            or the same in another order, are an error.
        """
        path = calibration_path(run_dir, _check_method(method))
        values = read_json(path, what="calibration (fitted by compare_run)")

        def damaged(problem):
            return InputError("{} is damaged: {}; fit it again (compare)".format(path, problem))

        if not isinstance(values, dict):
            raise damaged("it holds no object")
        check_seal(values, path, damaged)
        try:
            calibration = cls.from_dict(values)
        except ValueError as error:
            raise damaged(str(error)) from None
        if calibration.method != method:
            raise damaged("it holds a {} calibration".format(calibration.method))
        if genres is not None and calibration.genres_ != list(genres):
            raise InputError("{} maps genres {}, but the model scores {}".format(
                path, calibration.genres_, list(genres)))
        return calibration


def _finite_numbers(values):
    return isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values)


def _check_map(method, params):
    """What is wrong with one genre's map, or None."""
    if method == "platt":
        if not isinstance(params, dict) or set(params) != {"a", "b"} or \
                not _finite_numbers([params["a"], params["b"]]):
            return "a Platt map is finite numbers 'a' and 'b'"
        if params["a"] < 0:
            return "a Platt map's slope 'a' is not negative"
        return None
    if not isinstance(params, dict) or set(params) != {"x", "y"} or \
            not _finite_numbers(params["x"]) or not _finite_numbers(params["y"]):
        return "an isotonic map is lists 'x' and 'y' of finite numbers"
    x, y = np.asarray(params["x"], float), np.asarray(params["y"], float)
    if not 1 <= len(x) <= MAX_KNOTS or len(x) != len(y):
        return "an isotonic map has 1 to {} knots, as many 'x' as 'y'".format(MAX_KNOTS)
    if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0) or y.min() < 0 or y.max() > 1:
        return "an isotonic map is non-decreasing, with 'y' in [0, 1]"
    return None
