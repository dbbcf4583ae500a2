"""The film's genres from its music like the training collection: ranking, intervals, provenance.

* **Ranking.** The in-distribution tiles of the whole input are pooled as
  ``predict`` pools a track's tiles (the study's mean by default; max or
  log-mean-exp, :mod:`soundtrack_cnn.scoring.pooling`) and, when a
  calibration is given, mapped to probabilities
  (:mod:`soundtrack_cnn.beyond.calibration`).  So a one-track input gets
  exactly that track's ``predict`` ranking.
* **Intervals.** Segments, not tiles, are resampled (with replacement, 1000
  times): neighbouring tiles of one cue are not independent evidence, cues
  are closer to it.  With a single segment the interval has no width, and
  says so by ``n_segments``.
* **Abstention.** Below ``min_share`` of the input's tiles in distribution,
  there is no verdict: "not enough music like the training collection".
* **Provenance.** For each top genre, the segments holding the largest share
  of the genre's summed in-distribution tile scores (the numerator of the
  mean; segments under 1% of it are left out): where to listen to hear why.
"""
import numpy as np

from ..errors import InputError
from ..beyond.options import CALIBRATIONS
from ..scoring.pooling import check_pooling, pool_tracks
from ..scoring.prediction import rank_genres

__all__ = ["film_verdict", "ABSTAIN", "CALIBRATED"]

#: What a film's ranking can be calibrated with: ``auto`` (Platt where the
#: model has it, and the pooling is the mean), ``none``, or a method.
CALIBRATED = ("auto", "none") + CALIBRATIONS

#: What an abstention says.
ABSTAIN = "not enough music like the training collection"


def _resampled(scores, groups, pooling, n_boot, seed, temperature):
    """Pooled scores of ``n_boot`` resamples of the groups (segments), shape (n_boot, K).

    A resample's tiles (each drawn segment's, counted as often as it is
    drawn) are pooled by :func:`~soundtrack_cnn.scoring.pooling.pool_tracks`
    itself, so every pooling is bootstrapped exactly as it ranks.
    """
    rng = np.random.RandomState(seed)
    n = len(groups)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    rows = np.concatenate(groups)
    lengths = [len(g) for g in groups]
    tiles = scores[rows]
    options = {"temperature": temperature} if pooling == "lme" else {}
    return np.vstack([pool_tracks(tiles, [(0, len(rows))], pooling,
                                  weights=np.repeat(counts, lengths), **options)
                      for counts in draws])


def film_verdict(scores, in_distribution, segments, genres, pooling="mean", calibration=None,
                 min_share=0.1, n_boot=1000, seed=0, top=3, n_sources=3, temperature=0.1):
    """Rank the genres of a whole input from its in-distribution tiles.

    Parameters
    ----------
    scores : array, shape (n_tiles, K)
    in_distribution : array of bool, shape (n_tiles,)
    segments : list of Segment
    genres : sequence of str
    pooling : {'mean', 'max', 'lme'}
    calibration : Calibration or None
        Maps mean-pooled scores to probabilities.
    min_share : float
        Abstain below this share of tiles in distribution.
    n_boot : int
        Resamples of the segments for the intervals (0: none).
    seed : int
    top : int
        Genres given a provenance.
    n_sources : int
        Segments named per genre.
    temperature : float
        Of log-mean-exp pooling.

    Returns
    -------
    verdict : dict
        ``abstained``, ``reason``, ``in_distribution_share``, ``pooling``,
        ``calibrated``, ``genres`` (best first: genre, score, probability,
        share, interval), ``provenance`` ({genre: segments}).

    Examples
    --------
    >>> from soundtrack_cnn.film.segments import Segment
    >>> scores = np.array([[.9, .1], [.8, .3], [.2, .7]])
    >>> parts = [Segment(1, "cue", 0, 20, (0, 2), 0, 1.0, None),
    ...          Segment(2, "cue", 20, 30, (2, 3), 0, 1.0, None)]
    >>> v = film_verdict(scores, [True, True, True], parts, ["Drama", "Horror"], n_boot=0)
    >>> [(g["genre"], round(g["score"], 3)) for g in v["genres"]]
    [('Drama', 0.633), ('Horror', 0.367)]
    >>> [(p["segment"], round(p["share"], 2)) for p in v["provenance"]["Horror"]]
    [(2, 0.64), (1, 0.36)]
    >>> film_verdict(scores, [False, False, True], parts, ["Drama", "Horror"], min_share=.5)["reason"]
    'not enough music like the training collection: 33% of the tiles are like it, 50% needed'
    """
    check_pooling(pooling, calibration)
    if not 0 <= min_share <= 1:
        raise InputError("min_share must be in [0, 1], got {!r}".format(min_share))
    scores = np.asarray(scores, dtype=np.float64)
    flags = np.asarray(in_distribution, dtype=bool)
    share = float(flags.mean()) if len(flags) else 0.0
    verdict = {"abstained": False, "reason": None, "in_distribution_share": round(share, 4),
               "in_distribution_tiles": int(flags.sum()), "tiles": int(len(flags)),
               "pooling": pooling, "calibrated": calibration.method if calibration else None,
               "genres": [], "provenance": {}}
    if not flags.any() or share < min_share:
        verdict.update(abstained=True, reason="{}: {:.0%} of the tiles are like it, {:.0%} needed"
                       .format(ABSTAIN, share, min_share))
        return verdict
    options = {"temperature": temperature} if pooling == "lme" else {}
    pooled = pool_tracks(scores[flags], [(0, int(flags.sum()))], pooling, **options)
    values = calibration.predict(pooled)[0] if calibration is not None else pooled[0]
    groups = [np.flatnonzero(flags[s.tiles[0]:s.tiles[1]]) + s.tiles[0] for s in segments]
    used = [(s, g) for s, g in zip(segments, groups) if len(g)]
    interval = None
    if n_boot:
        boot = _resampled(scores, [g for _, g in used], pooling, n_boot, seed, temperature)
        if calibration is not None:
            boot = calibration.predict(boot)
        interval = np.percentile(boot, [2.5, 97.5], axis=0)
    order = rank_genres(values, genres, k=len(genres))
    for genre, normalised in order:
        j = list(genres).index(genre)
        verdict["genres"].append({
            "genre": genre, "score": float(pooled[0, j]),
            "probability": float(values[j]) if calibration is not None else None,
            "share": normalised,
            "interval": None if interval is None else [float(interval[0, j]),
                                                        float(interval[1, j])]})
    verdict["n_segments"] = len(used)
    verdict["interval"] = ("95% percentile interval over {} resamples of the {} segments with "
                           "music like the training collection".format(n_boot, len(used))
                           if n_boot else None)
    for genre, _ in order[:top]:
        j = list(genres).index(genre)
        evidence = np.array([scores[g, j].sum() for _, g in used])
        total = evidence.sum()
        # A segment with next to none of the evidence explains nothing.
        ranked = [i for i in np.argsort(-evidence, kind="stable")[:n_sources]
                  if total > 0 and evidence[i] >= 0.01 * total]
        verdict["provenance"][genre] = [
            {"segment": used[i][0].number, "start_s": round(used[i][0].start, 3),
             "end_s": round(used[i][0].end, 3),
             "share": float(evidence[i] / total),
             "mean_score": float(scores[used[i][1], j].mean())} for i in ranked]
    return verdict
