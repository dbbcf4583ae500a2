"""The report's figures, drawn with matplotlib onto axes you give (or new ones).

Every ``plot_*`` function takes plain arrays and ``ax=None`` (a multi-panel
figure takes an array of axes), draws, and returns the axes, as pandas and
scikit-learn plotting helpers do; :func:`save_png` writes a figure
atomically.  No backend is chosen here, so a notebook keeps its inline plots.
"""
import io

import matplotlib.pyplot as plt
import numpy as np
from scipy import signal as scipy_signal
from sklearn.metrics import roc_curve

from ..collection.labels import overlap
from ..files import write_bytes
from ..scoring.metrics import normalise_scores

__all__ = ["plot_label_overlap", "plot_tags_per_track", "plot_training_curves", "plot_tile",
           "plot_track_predictions", "plot_roc_curves", "plot_genre_counts", "plot_durations",
           "plot_timeline", "save_png", "TRUE_TAG_GREEN"]

#: The study's viewer draws true tags as bright green bars.
TRUE_TAG_GREEN = "#19e619"
_OTHER = "#8c9bab"


def _grid(ax, n_panels, columns, size, **options):
    """``ax`` as a 2-D array of axes, or a new figure with a grid for ``n_panels``."""
    if ax is not None:
        return np.atleast_2d(np.asarray(ax, dtype=object))
    columns = max(min(n_panels, columns), 1)
    rows = max(int(np.ceil(n_panels / columns)), 1)
    _, grid = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows),
                           squeeze=False, **options)
    return grid


def save_png(figure, path):
    """Write ``figure`` to ``path`` as PNG, atomically, close it and return the path."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    write_bytes(path, buffer.getvalue())
    return path


def plot_label_overlap(counts, genres, ax=None):
    """Heatmap of P(column tag | row tag), each cell annotated with its track count.

    Parameters
    ----------
    counts : array, shape (K, K)
        Co-occurrence counts, diagonal = tag counts (``labels.cooccurrence``).
    genres : sequence of str
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> ax = plot_label_overlap([[2, 1], [1, 1]], ["Drama", "Action"])
    >>> ax.get_title()
    'Label overlap P(B | A) (track counts)'
    """
    counts = np.asarray(counts, dtype=float)
    shares = np.nan_to_num(overlap(counts))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.75 * len(genres), 0.8 + 0.65 * len(genres)))
    image = ax.imshow(shares, cmap="viridis", vmin=0, vmax=1)
    for (a, b), value in np.ndenumerate(shares):
        ax.text(b, a, "{:.2f}\n({})".format(value, int(counts[a, b])), ha="center",
                va="center", fontsize=7, color="black" if value > 0.6 else "white")
    ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), genres)
    ax.set_xlabel("tag B")
    ax.set_ylabel("tag A")
    ax.set_title("Label overlap P(B | A) (track counts)")
    ax.figure.colorbar(image, ax=ax, label="P(B | A)")
    return ax


def plot_tags_per_track(tag_lists, ax=None):
    """Histogram of the number of tags per track."""
    sizes = [len(tags) for tags in tag_lists]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    bins = np.arange(0.5, max(sizes + [1]) + 1.5)
    ax.hist(sizes, bins=bins, color=_OTHER, edgecolor="black")
    ax.set_xticks(range(1, int(bins[-1])))
    ax.set_xlabel("tags per track")
    ax.set_ylabel("tracks")
    ax.set_title("Tags per track ({} tracks)".format(len(sizes)))
    return ax


def plot_training_curves(histories, ax=None):
    """Learning curves: training and validation loss, and validation-track ROC-AUC.

    One panel per net, against weight updates (or epochs, for histories
    without update counts), so that the budget question -- would more
    updates help? -- is answered by measurement.

    Parameters
    ----------
    histories : dict
        ``{name: [{'epoch', 'train_loss', 'valid_loss'[, 'updates', 'valid_auc']}, ...]}``
        (the ``history`` of a net's summary).
    ax : array of matplotlib Axes, optional
        At least one panel per net.

    Returns
    -------
    ax : 2-D array of matplotlib Axes
        The loss panels (each AUC curve is on a twin axis, scale 0.5-1 on the right).
    """
    names = list(histories)
    grid = _grid(ax, len(names), 5, (3.4, 2.7), sharey=True)
    for panel, name in zip(grid.flat, names):
        rows = histories[name]
        unit = "updates" if rows and "updates" in rows[0] else "epoch"
        x = [row[unit] for row in rows]
        panel.plot(x, [row["train_loss"] for row in rows], label="train loss")
        panel.plot(x, [row["valid_loss"] for row in rows], label="validation loss")
        auc = [row.get("valid_auc") for row in rows]
        if any(value is not None for value in auc):
            twin = panel.twinx()
            twin.plot(x, [np.nan if value is None else value for value in auc], color="C2",
                      label="validation-track AUC")
            twin.set_ylim(0.45, 1.02)
            twin.tick_params(labelsize=7)
        panel.set_title(name)
        panel.set_xlabel("weight updates" if unit == "updates" else "epoch")
        panel.grid(alpha=0.3)
    for panel in grid[:, 0]:
        panel.set_ylabel("loss (MSE)")
    for panel in list(grid.flat)[len(names):]:
        panel.set_visible(False)
    first = grid.flat[0]
    handles = first.get_legend_handles_labels()
    twins = [other for other in first.figure.axes if other.bbox.bounds == first.bbox.bounds
             and other is not first]
    for twin in twins:
        more = twin.get_legend_handles_labels()
        handles = (handles[0] + more[0], handles[1] + more[1])
    first.legend(*handles, fontsize=7)
    first.figure.suptitle("Learning curves per net: loss (left) and validation-track ROC-AUC (right)")
    first.figure.tight_layout()
    return grid


def plot_tile(signal, sr, tile, settings=None, ax=None):
    """One MFCC tile as an image next to the spectrogram of the same audio.

    Parameters
    ----------
    signal : ndarray
        The audio the tile was computed from (mono).
    sr : int
    tile : array, shape (n_mfcc, n_frames)
    settings : FeatureSettings, optional
        Gives the frame step for the time axis (default 0.1 s).
    ax : pair of matplotlib Axes, optional
        Spectrogram, tile.

    Returns
    -------
    ax : 2-D array of matplotlib Axes
    """
    step = settings.winstep if settings is not None else 0.1
    tile = np.asarray(tile)
    grid = _grid(ax, 2, 2, (5.5, 3.8))
    left, right = grid.flat[0], grid.flat[1]
    freqs, times, power = scipy_signal.spectrogram(np.asarray(signal, float), fs=sr,
                                                   nperseg=1024, noverlap=512)
    left.pcolormesh(times, freqs, 10 * np.log10(power + 1e-12), shading="auto", cmap="magma")
    left.set_ylim(0, min(sr / 2, 8000))
    left.set_xlabel("time (s)")
    left.set_ylabel("frequency (Hz)")
    left.set_title("Spectrogram (dB)")
    image = right.imshow(tile, aspect="auto", origin="lower", cmap="coolwarm",
                         extent=[0, tile.shape[1] * step, -0.5, tile.shape[0] - 0.5])
    right.set_xlabel("time (s)")
    right.set_ylabel("MFCC index")
    right.set_title("MFCC tile ({} x {} frames)".format(*tile.shape))
    right.figure.colorbar(image, ax=right, label="coefficient value")
    right.figure.tight_layout()
    return grid


def plot_track_predictions(track_names, scores, y_true, genres, max_tracks=12, ax=None):
    """Per-track bars of normalised predictions (as the viewer shows them); true tags green.

    Returns
    -------
    ax : 2-D array of matplotlib Axes
        One panel per track, bars in increasing score order.
    """
    shares = normalise_scores(np.asarray(scores, dtype=float)[:max_tracks])
    grid = _grid(ax, len(shares), 4, (3.6, 2.9), sharex=True)
    for panel, name, row, truth in zip(grid.flat, track_names, shares, y_true):
        order = np.argsort(row, kind="stable")
        colours = [TRUE_TAG_GREEN if truth[j] else _OTHER for j in order]
        panel.barh([genres[j] for j in order], row[order], color=colours)
        panel.set_title(str(name), fontsize=9)
        panel.tick_params(labelsize=7)
    for panel in list(grid.flat)[len(shares):]:
        panel.set_visible(False)
    for panel in grid[-1]:
        panel.set_xlabel("normalised score")
    grid.flat[0].figure.suptitle("Predictions per test track (true tags in green)")
    grid.flat[0].figure.tight_layout()
    return grid


def plot_roc_curves(y_true, scores, genres, ax=None):
    """ROC curve per genre (genres with one class only are left out, and say so)."""
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    skipped = []
    for j, genre in enumerate(genres):
        if not 0 < y_true[:, j].sum() < len(y_true):
            skipped.append(genre)
            continue
        false_positive, true_positive, _ = roc_curve(y_true[:, j], scores[:, j])
        ax.plot(false_positive, true_positive, label=genre)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    title = "ROC per genre (test tracks)"
    ax.set_title(title + ("\nno positives or negatives: " + ", ".join(skipped) if skipped else ""))
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_genre_counts(counts, min_tracks=None, ax=None):
    """Tracks per genre as horizontal bars, most frequent on top.

    Parameters
    ----------
    counts : dict
        ``{genre: tracks}``.
    min_tracks : int, optional
        Drawn as a dashed line; genres below it are drawn in red.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> ax = plot_genre_counts({"Drama": 30, "Horror": 4}, min_tracks=20)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['Horror', 'Drama']
    """
    names = sorted(counts, key=lambda genre: (counts[genre], genre))
    values = [counts[genre] for genre in names]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.8 + 0.32 * max(len(names), 1)))
    ax.barh(names, values, color=["#d62728" if min_tracks is not None and value < min_tracks
                                  else _OTHER for value in values])
    if min_tracks is not None:
        ax.axvline(min_tracks, color="black", linestyle="--",
                   label="{} tracks (fewer: too rare)".format(min_tracks))
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("tracks")
    ax.set_title("Tracks per genre")
    return ax


def plot_durations(seconds, ax=None):
    """Histogram of track durations in minutes.

    Examples
    --------
    >>> plot_durations([90.0, 150.0, 3600.0]).get_title()
    'Track durations (3 tracks, 1.1 h)'
    """
    minutes = np.asarray(seconds, dtype=float) / 60.0
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(minutes, bins=min(max(len(minutes), 1), 30), color=_OTHER, edgecolor="black")
    ax.set_xlabel("duration (minutes)")
    ax.set_ylabel("tracks")
    ax.set_title("Track durations ({} tracks, {:.1f} h)".format(len(minutes), minutes.sum() / 60))
    return ax


def plot_timeline(starts, tile_scores, genres, top, tile_seconds=10.0, title="", ax=None):
    """A track's genre timeline: one strip per genre, shaded by tile score, ranking beside it.

    Parameters
    ----------
    starts : ndarray, shape (n_tiles,)
        Tile start times in seconds.
    tile_scores : ndarray, shape (n_tiles, K)
        Sigmoid scores in [0, 1].
    genres : sequence of str
    top : list of (str, float)
        The track's ranking (normalised shares), best first; its genres are
        drawn top down, the others below in vocabulary order.
    tile_seconds : float
        Length of one tile (the last strip cell ends there).
    title : str
    ax : pair of matplotlib Axes, optional
        The strip's and the ranking's (sharing their y axis).

    Returns
    -------
    ax : array of 2 matplotlib Axes
    """
    starts, tile_scores = np.asarray(starts, float), np.asarray(tile_scores, float)
    ranked = [g for g, _ in top] + [g for g in genres if g not in dict(top)]
    rows = [list(genres).index(g) for g in ranked]
    step = starts[1] - starts[0] if len(starts) > 1 else tile_seconds
    edges = np.append(starts, starts[-1] + min(step, tile_seconds))
    minutes = edges[-1] > 600
    scale = 60.0 if minutes else 1.0
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(11, 0.35 * len(genres) + 1.4), sharey=True,
                             gridspec_kw={"width_ratios": [5, 1], "wspace": 0.05})
    strip, bars = ax
    mesh = strip.pcolormesh(edges / scale, np.arange(len(ranked) + 1), tile_scores[:, rows].T,
                            cmap="magma", vmin=0, vmax=1, shading="flat")
    strip.set_yticks(np.arange(len(ranked)) + 0.5)
    strip.set_yticklabels(ranked, fontsize=8)
    strip.invert_yaxis()
    strip.set_xlabel("time ({})".format("min" if minutes else "s"))
    strip.set_title(title, fontsize=9)
    shares = dict(top)
    bars.barh(np.arange(len(ranked)) + 0.5, [shares.get(g, 0.0) for g in ranked],
              color=_OTHER, height=0.8)
    bars.set_xlabel("track share")
    bars.tick_params(labelsize=7)
    strip.figure.colorbar(mesh, ax=[strip, bars], label="tile score", fraction=0.03, pad=0.02)
    return np.asarray([strip, bars], dtype=object)
