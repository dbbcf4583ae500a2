"""The report of an evaluated run: PNG figures and the study's prediction viewer.

The bars of the figures and of the viewer are the same numbers
(:func:`soundtrack_cnn.scoring.metrics.normalise_scores` of the track scores).
"""
import os
import warnings

from ..audio.io import load_audio
from ..audio.streaming import tile_starts
from ..collection.labels import cooccurrence
from ..files import check_writable, make_folder
from ..reporting import figures, viewer
from ..scoring import metrics
from ..scoring.pooling import pool_tracks
from ..training.checkpoint import ModelFolder
from ..beyond.trunk import describe_init
from .scores import read_scores
from .tracksets import track_sets

__all__ = ["report_run"]


def report_run(run_dir, out=None):
    """Figures (PNG) and the prediction viewer (offline HTML) of an evaluated run.

    Reads the test tiles' scores that ``evaluate`` wrote (``RUN/scores.npz``);
    runs no net.

    Parameters
    ----------
    run_dir : str
    out : str, optional
        Output folder (default ``RUN/report``).

    Returns
    -------
    page : str
        Path of ``index.html``, the viewer, which links the figures.
    """
    out = out or os.path.join(run_dir, "report")
    check_writable(out)  # before the run is read and the figures drawn
    store, genres, sets = track_sets(run_dir)
    out = make_folder(out)
    test, train = sets["test"], sets["train"]
    tile_scores = read_scores(run_dir)[0]["specialists"]["test"]
    scores = pool_tracks(tile_scores, test.ranges)
    all_tags = [tags for split in sets.values() for tags in split.tags]
    record = ModelFolder(run_dir, "ensemble").read()
    histories = {genre: [_history_row(epoch, row) for epoch, row in enumerate(summary["history"], 1)]
                 for genre, summary in record["models"].items()}
    init = describe_init(record.get("init"))

    def png(name, ax):
        first = ax.flat[0] if hasattr(ax, "flat") else ax
        return figures.save_png(first.figure, os.path.join(out, name))

    pictures = [
        png("label_overlap.png", figures.plot_label_overlap(cooccurrence(all_tags, genres), genres)),
        png("tags_per_track.png", figures.plot_tags_per_track(all_tags)),
        png("training_curves.png", figures.plot_training_curves(histories)),
        png("mfcc_tile.png", _plot_first_tile(store, test if test.track_ids else train)),
        png("track_predictions.png",
            figures.plot_track_predictions(test.track_ids, scores, test.labels, genres)),
        png("roc_curves.png", figures.plot_roc_curves(test.labels, scores, genres)),
    ]
    shares = metrics.normalise_scores(scores)
    tracks = [{"name": track_id, "audio_path": path, "scores": [float(s) for s in row],
               "true_tags": [g for g in tags if g in genres],
               "timeline": {"starts": tile_starts(stop - start, store.settings),
                            "scores": tile_scores[start:stop],
                            "tile_seconds": store.settings.n_frames * store.settings.winstep}}
              for track_id, path, row, tags, (start, stop)
              in zip(test.track_ids, test.paths, shares, test.tags, test.ranges)]
    return viewer.write_viewer(os.path.join(out, "index.html"), tracks, genres,
                               title="soundtrack_cnn: {}{}".format(os.path.basename(
                                   os.path.abspath(run_dir)), ", " + init if init else ""),
                               sr=store.settings.sr,
                               figures=pictures)


def _history_row(epoch, row):
    """A history row as a dict (runs trained before version 0.2 stored [train, valid] pairs)."""
    if isinstance(row, dict):
        return row
    warnings.warn("a history of [train, valid] pairs (compatibility path `history-pairs`, removed "
                  "in 0.4)", DeprecationWarning)
    return {"epoch": epoch, "train_loss": row[0], "valid_loss": row[1]}


def _plot_first_tile(store, tracks):
    """The first tile of the first track beside the spectrogram of the same seconds."""
    settings = store.settings
    seconds = settings.n_frames * settings.winstep
    signal = load_audio(tracks.paths[0], sr=settings.sr)[:int(seconds * settings.sr)]
    return figures.plot_tile(signal, settings.sr, store.tiles[int(tracks.rows[0])][0],
                             settings=settings)
