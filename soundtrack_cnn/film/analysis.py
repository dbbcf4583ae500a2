"""``analyse_film``: a whole input in, its segments, verdict and evidence out.

The steps, each in its own module: stream and score the input
(:mod:`.source`), flag the tiles unlike the training collection
(:mod:`.novelty`), cut segments (:mod:`.segments`), rank the genres
(:mod:`.verdict`), then write ``cues.csv`` (:mod:`.cuesheet`),
``verdict.json`` and ``film.html`` (:mod:`.page`).
"""
import os
import time

import numpy as np

from .. import __version__
from ..errors import InputError
from ..files import check_not_input, check_writable, write_json
from ..inference.model import load_model
from ..scoring.pooling import check_pooling
from .cuesheet import check_fps, write_cues
from .novelty import REFERENCE_FILE, REFERENCE_KEY, Novelty, read_reference
from .page import write_film_page
from .segments import find_segments
from .source import expand_film_inputs, read_source
from .verdict import CALIBRATED, film_verdict

__all__ = ["FilmAnalysis", "analyse_film"]


class FilmAnalysis(object):
    """The analysis of one input.

    Attributes
    ----------
    run : str
    genres : list of str
    source : FilmSource
    distance : ndarray, shape (n_tiles,)
        Each tile's novelty (:meth:`Novelty.distance`).
    in_distribution : ndarray of bool, shape (n_tiles,)
        Under the novelty threshold and not in a silence.
    segments : list of Segment
    gaps : list of (float, float)
        Silences on the input's timeline.
    verdict : dict
        :func:`~soundtrack_cnn.film.verdict.film_verdict`.
    settings : dict
        The options it was made with.
    novelty : Novelty
    seconds : float
        Wall time of the analysis.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self):
        """Everything ``verdict.json`` holds."""
        return {
            "run": os.path.abspath(self.run), "package": "soundtrack_cnn",
            "version": __version__, "settings": self.settings,
            "feature_settings": self.source.settings.to_dict(),
            "inputs": [f.to_dict() for f in self.source.files],
            "duration_s": round(self.source.duration, 3),
            "genres": list(self.genres), "verdict": self.verdict,
            "novelty": self.novelty.to_dict(),
            "segments": [s.to_dict(self.genres) for s in self.segments],
            "silences": [[round(a, 3), round(b, 3)] for a, b in self.gaps],
            "tiles": {"tile_seconds": self.source.tile_seconds,
                      "starts": [round(float(s), 3) for s in self.source.starts],
                      "in_distribution": self.in_distribution.astype(int).tolist(),
                      # No sounding frame: infinitely far, which JSON cannot say.
                      "distance": [round(float(d), 3) if np.isfinite(d) else None
                                   for d in self.distance],
                      "scores": np.round(self.source.scores, 4).tolist()},
            "seconds": round(self.seconds, 2)}


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _novelty(run, model, quantile):
    """The in-distribution reference of a run folder's or a model file's model."""
    if os.path.isdir(run):
        return Novelty.from_reference(read_reference(run), os.path.join(run, REFERENCE_FILE),
                                      quantile=quantile)
    reference = model.metadata.get(REFERENCE_KEY)
    if reference is None:
        raise InputError("{}: the model carries no in-distribution reference (exported before "
                         "0.3, or from a run that was never evaluated); export it again from "
                         "its evaluated run".format(run))
    return Novelty.from_reference(reference, run, quantile=quantile)


def _calibration(run, calibrated, pooling, genres):
    """The Calibration ``calibrated`` asks for (None for none), checked against ``genres``."""
    if calibrated == "none":
        return None
    from ..beyond.calibration import Calibration, calibration_path
    if calibrated == "auto":
        # Probabilities where the run has them; a calibration maps mean-pooled scores only.
        if pooling != "mean" or not os.path.exists(calibration_path(run, "platt")):
            return None
        calibrated = "platt"
    return Calibration.load(run, calibrated, genres=genres)


#: The files ``analyse_film`` writes into ``out``.
_OUTPUTS = ("cues.csv", "verdict.json", "film.html")


def analyse_film(run, inputs, out=None, min_cue=20.0, fps=24, pooling="mean", calibrated="auto",
                 min_share=0.1, silence_db=-70.0, min_silence=2.0, n_boot=1000, seed=0, top=3,
                 engine=None, quantile=0.99, reference=None):
    """Segments, in-distribution flags, genre verdict and provenance of a whole input.

    Parameters
    ----------
    run : str
        A run folder (evaluated: its ``in-distribution.json`` says which tiles
        are like the training collection), or a model file written by
        ``export`` (``.onnx`` or ``.npz``), which carries the same reference:
        the same cues and verdict without the run or its feature store.
    inputs : str or list of str
        One long file, or files and folders taken in order (a folder's audio
        files in name order), laid end to end.
    out : str, optional
        Folder for ``cues.csv``, ``verdict.json`` and ``film.html``.
    min_cue : float
        Shortest segment, seconds.
    fps : int
        Frame rate of the timecodes.
    pooling : {'mean', 'max', 'lme'}
        Tile scores to the film's (the study's mean by default).
    calibrated : {'auto', 'none', 'platt', 'isotonic'}
        auto: Platt probabilities when the run has ``calibration-platt.json``
        (written by ``compare``) and pooling is the mean; a model file has
        no calibration.
    min_share : float
        Abstain when fewer of the tiles are in distribution.
    silence_db, min_silence : float
        Frames quieter than ``silence_db`` for ``min_silence`` seconds end a
        cue.  (The reference summarises the training tiles at the silence
        threshold it was made with, -70 dB; verdict.json records it.)
    n_boot, seed : int
        Resamples of the segments for the intervals.
    top : int
        Genres with a provenance, and per row of ``cues.csv``.
    engine : str, optional
        One of :data:`~soundtrack_cnn.inference.model.ENGINES`.  numpy by
        default (an ``.onnx`` file: onnx, the engine it runs on): over a
        2-hour film ONNX Runtime's memory arena took the peak from 374 MB to
        448-543 MB (``bench/bench_film.py``), past the 500 MB a film may
        take, for 10% less time.
    quantile : float
        Share of validation tiles under the in-distribution threshold.
    reference : dict, optional
        The in-distribution reference to use
        (:meth:`~soundtrack_cnn.film.novelty.Novelty.to_reference`); default:
        the one the run folder or model file carries.  For a run evaluated
        before there were references:
        ``reference=in_distribution_reference(run).to_reference()``
        (:mod:`soundtrack_cnn.experiment.tracksets`).

    Returns
    -------
    analysis : FilmAnalysis

    Examples
    --------
    >>> analysis = analyse_film("runs/demo", "film.flac", out="film")  # doctest: +SKIP
    >>> analysis.verdict["genres"][0]["genre"]  # doctest: +SKIP
    'Drama'
    """
    started = time.perf_counter()
    fps = check_fps(fps)
    for name, value, low in (("n_boot", n_boot, 0), ("top", top, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError("{} must be a whole number >= {}, got {!r}".format(name, low, value))
    for name, value in (("min_cue", min_cue), ("min_silence", min_silence)):
        if not _is_number(value) or not 0 < value < np.inf:
            raise InputError("{} must be a positive number of seconds, got {!r}".format(
                name, value))
    if not _is_number(min_share) or not 0 <= min_share <= 1:
        raise InputError("min_share must be a share between 0 and 1, got {!r}".format(min_share))
    if not _is_number(quantile) or not 0 < quantile < 1:
        raise InputError("quantile must be a share between 0 and 1 (both excluded), got {!r}"
                         .format(quantile))
    if not _is_number(silence_db) or not -np.inf < silence_db < np.inf:
        raise InputError("silence_db must be a finite level in dB, got {!r}".format(silence_db))
    if calibrated not in CALIBRATED:
        raise InputError("calibrated must be one of {}, got {!r}".format(
            ", ".join(CALIBRATED), calibrated))
    if calibrated not in ("auto", "none"):
        check_pooling(pooling, calibration=calibrated)
    if not os.path.isdir(run) and calibrated not in ("auto", "none"):
        raise InputError("{}: a model file carries no calibration; give its run folder for "
                         "calibrated probabilities".format(run))
    paths = expand_film_inputs([inputs] if isinstance(inputs, str) else list(inputs))
    if out is not None:
        check_writable(out)
        for name in _OUTPUTS:
            check_not_input(os.path.join(out, name), paths)
    engine = engine or ("onnx" if str(run).endswith(".onnx") and not os.path.isdir(run)
                        else "numpy")
    model = load_model(run, engine=engine)
    calibration = (_calibration(run, calibrated, pooling, model.genres_) if os.path.isdir(run)
                   else None)
    novelty = (_novelty(run, model, quantile) if reference is None else
               Novelty.from_reference(reference, "the reference given", quantile=quantile))
    source = read_source(model, paths, silence_db=silence_db)
    distance = novelty.distance(source.statistics)
    segments, silent, gaps = find_segments(source, distance <= novelty.threshold_,
                                           min_cue=min_cue, silence_db=silence_db,
                                           min_silence=min_silence)
    in_distribution = (distance <= novelty.threshold_) & ~silent
    verdict = film_verdict(source.scores, in_distribution, segments, model.genres_,
                           pooling=pooling, calibration=calibration, min_share=min_share,
                           n_boot=n_boot, seed=seed, top=top)
    settings = {"min_cue_s": min_cue, "fps": fps, "pooling": pooling,
                "calibrated": calibration.method if calibration else None,
                "min_share": min_share, "silence_db": silence_db, "min_silence_s": min_silence,
                "bootstrap": n_boot, "seed": seed, "top": top, "engine": engine,
                "quantile": quantile}
    analysis = FilmAnalysis(run=run, genres=list(model.genres_), source=source, distance=distance,
                            in_distribution=in_distribution, segments=segments, gaps=gaps,
                            verdict=verdict, settings=settings, novelty=novelty,
                            seconds=time.perf_counter() - started)
    if out is not None:
        cues, verdict_json, page = (os.path.join(out, name) for name in _OUTPUTS)
        write_cues(cues, segments, source.files, model.genres_, fps=fps, top=top)
        write_json(verdict_json, analysis.to_dict())
        write_film_page(page, analysis)
    return analysis
