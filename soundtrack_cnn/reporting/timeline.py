"""A track's genre timeline: every tile's scores with its start time, as CSV, JSON and PNG.

For a film soundtrack the track-level ranking hides where the music changes
character; the timeline shows it, tile by tile (10 s each by default).  Files
per scored track, named after the audio file (``theme.ogg`` ->
``theme.timeline.csv`` / ``.json`` / ``.png``)::

    start_s,end_s,Drama,Action,...      one row per tile, scores in [0, 1]
"""
import csv
import io
import json
import os
import re

import numpy as np

from ..errors import InputError
from ..files import write_bytes
from ..scoring.prediction import rank_genres

__all__ = ["write_timeline", "timeline_stem"]


def timeline_stem(path, taken):
    """A file-name stem for ``path``'s timeline that is not in ``taken`` (then added to it).

    Examples
    --------
    >>> taken = set()
    >>> timeline_stem("a/theme.ogg", taken), timeline_stem("b/theme.ogg", taken)
    ('theme', 'theme-2')
    """
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(path))[0]) or "track"
    stem, number = base, 1
    while stem in taken:
        number += 1
        stem = "{}-{}".format(base, number)
    taken.add(stem)
    return stem


def write_timeline(out_dir, prediction, genres, settings, stem):
    """Write one scored track's timeline as CSV, JSON and a PNG strip chart.

    Parameters
    ----------
    out_dir : str
    prediction : TrackPrediction
        With ``tile_scores`` and ``tile_starts`` (from
        :func:`soundtrack_cnn.scoring.prediction.predict_file`).
    genres : sequence of str
    settings : FeatureSettings
        The model's, for the tile length.
    stem : str
        File-name stem (see :func:`timeline_stem`).

    Returns
    -------
    paths : list of str
        The CSV, JSON and PNG files.
    """
    if prediction.error or prediction.tile_scores is None:
        raise InputError("{}: no tile scores to draw a timeline from".format(prediction.path))
    from .figures import plot_timeline, save_png  # matplotlib only for a timeline
    tile_seconds = settings.n_frames * settings.winstep
    starts = np.asarray(prediction.tile_starts, float)
    scores = np.asarray(prediction.tile_scores, float)
    base = os.path.join(out_dir, stem + ".timeline")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["start_s", "end_s"] + list(genres))
    for start, row in zip(starts, scores):
        writer.writerow(["{:.1f}".format(start), "{:.1f}".format(start + tile_seconds)]
                        + ["{:.4f}".format(s) for s in row])
    write_bytes(base + ".csv", text.getvalue().encode())
    record = {"path": prediction.path, "genres": list(genres), "tile_seconds": tile_seconds,
              "starts": [round(float(s), 3) for s in starts],
              "scores": [[round(float(s), 5) for s in row] for row in scores],
              "track_scores": prediction.scores,
              "top": [[genre, share] for genre, share in prediction.top]}
    write_bytes(base + ".json", json.dumps(record).encode())
    # Every genre ranked beside the strip, not only the top k that predict prints.
    ranking = rank_genres(np.array([prediction.scores[g] for g in genres]), genres,
                          k=len(genres))
    axes = plot_timeline(starts, scores, genres, ranking, tile_seconds=tile_seconds,
                         title=os.path.basename(prediction.path))
    png = save_png(axes[0].figure, base + ".png")
    return [base + ".csv", base + ".json", png]
