"""The report's figures, each written atomically as one PNG (matplotlib, no display).

Every function takes plain arrays and an output path and returns the path.
"""
import io

import matplotlib

matplotlib.use("Agg")  # a report needs no display; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal as scipy_signal  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from .runs import write_bytes  # noqa: E402

__all__ = ["plot_label_overlap", "plot_tags_per_track", "plot_training_curves", "plot_tile",
           "plot_track_predictions", "plot_roc_curves", "plot_timeline", "TRUE_TAG_GREEN"]

#: The study's viewer draws true tags as bright green bars.
TRUE_TAG_GREEN = "#19e619"
_OTHER = "#8c9bab"


def _save(figure, path):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    write_bytes(path, buffer.getvalue())
    return path


def plot_label_overlap(counts, genres, path):
    """Heatmap of P(column tag | row tag), each cell annotated with its track count.

    Parameters
    ----------
    counts : array, shape (K, K)
        Co-occurrence counts, diagonal = tag counts (``labels.cooccurrence``).
    genres : sequence of str
    path : str
    """
    counts = np.asarray(counts, dtype=float)
    own = np.diag(counts)
    overlap = np.divide(counts, own[:, None], out=np.zeros_like(counts), where=own[:, None] > 0)
    figure, axes = plt.subplots(figsize=(1.0 + 0.75 * len(genres), 0.8 + 0.65 * len(genres)))
    image = axes.imshow(overlap, cmap="viridis", vmin=0, vmax=1)
    for (a, b), value in np.ndenumerate(overlap):
        axes.text(b, a, "{:.2f}\n({})".format(value, int(counts[a, b])), ha="center",
                  va="center", fontsize=7, color="black" if value > 0.6 else "white")
    axes.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    axes.set_yticks(range(len(genres)), genres)
    axes.set_xlabel("tag B")
    axes.set_ylabel("tag A")
    axes.set_title("Label overlap P(B | A) (track counts)")
    figure.colorbar(image, ax=axes, label="P(B | A)")
    return _save(figure, path)


def plot_tags_per_track(tag_lists, path):
    """Histogram of the number of tags per track."""
    sizes = [len(tags) for tags in tag_lists]
    figure, axes = plt.subplots(figsize=(5, 3.5))
    bins = np.arange(0.5, max(sizes + [1]) + 1.5)
    axes.hist(sizes, bins=bins, color=_OTHER, edgecolor="black")
    axes.set_xticks(range(1, int(bins[-1])))
    axes.set_xlabel("tags per track")
    axes.set_ylabel("tracks")
    axes.set_title("Tags per track ({} tracks)".format(len(sizes)))
    return _save(figure, path)


def plot_training_curves(histories, path):
    """Training and validation loss per epoch, one panel per net.

    Parameters
    ----------
    histories : dict
        ``{name: [{'epoch', 'train_loss', 'valid_loss'}, ...]}`` (nolearn's
        ``train_history_`` rows).
    path : str
    """
    names = list(histories)
    columns = min(len(names), 5)
    rows = int(np.ceil(len(names) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows),
                                squeeze=False, sharey=True)
    for axes, name in zip(grid.flat, names):
        epochs = [row["epoch"] for row in histories[name]]
        axes.plot(epochs, [row["train_loss"] for row in histories[name]], label="train")
        axes.plot(epochs, [row["valid_loss"] for row in histories[name]], label="validation")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    for axes in grid[:, 0]:
        axes.set_ylabel("loss (MSE)")
    for axes in list(grid.flat)[len(names):]:
        axes.set_visible(False)
    grid.flat[0].legend()
    figure.suptitle("Training and validation loss per specialist")
    figure.tight_layout()
    return _save(figure, path)


def plot_tile(signal, sr, tile, path, settings=None):
    """One MFCC tile as an image next to the spectrogram of the same audio.

    Parameters
    ----------
    signal : ndarray
        The audio the tile was computed from (mono).
    sr : int
    tile : array, shape (n_mfcc, n_frames)
    path : str
    settings : FeatureSettings, optional
        Gives the frame step for the time axis (default 0.1 s).
    """
    step = settings.winstep if settings is not None else 0.1
    tile = np.asarray(tile)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
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
    figure.colorbar(image, ax=right, label="coefficient value")
    figure.tight_layout()
    return _save(figure, path)


def plot_track_predictions(track_names, scores, y_true, genres, path, max_tracks=12):
    """Per-track bars of normalised predictions; true tags in bright green."""
    scores = np.asarray(scores, dtype=float)[:max_tracks]
    shares = scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12)
    columns = min(len(shares), 4)
    rows = max(int(np.ceil(len(shares) / max(columns, 1))), 1)
    figure, grid = plt.subplots(rows, max(columns, 1), figsize=(3.6 * max(columns, 1), 2.9 * rows),
                                squeeze=False, sharex=True)
    for axes, name, row, truth in zip(grid.flat, track_names, shares, y_true):
        order = np.argsort(row)
        colours = [TRUE_TAG_GREEN if truth[j] else _OTHER for j in order]
        axes.barh([genres[j] for j in order], row[order], color=colours)
        axes.set_title(str(name), fontsize=9)
        axes.tick_params(labelsize=7)
    for axes in list(grid.flat)[len(shares):]:
        axes.set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel("normalised score")
    figure.suptitle("Predictions per test track (true tags in green)")
    figure.tight_layout()
    return _save(figure, path)


def plot_roc_curves(y_true, scores, genres, path):
    """ROC curve per genre (genres with one class only are left out, and say so)."""
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    figure, axes = plt.subplots(figsize=(6, 5))
    skipped = []
    for j, genre in enumerate(genres):
        if not 0 < y_true[:, j].sum() < len(y_true):
            skipped.append(genre)
            continue
        false_positive, true_positive, _ = roc_curve(y_true[:, j], scores[:, j])
        axes.plot(false_positive, true_positive, label=genre)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    title = "ROC per genre (test tracks)"
    axes.set_title(title + ("\nno positives or negatives: " + ", ".join(skipped) if skipped else ""))
    axes.legend(fontsize=7, loc="lower right")
    return _save(figure, path)


def plot_timeline(starts, tile_scores, genres, top, path, tile_seconds=10.0, title=""):
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
    path : str
    tile_seconds : float
        Length of one tile (the last strip cell ends there).
    title : str
    """
    starts, tile_scores = np.asarray(starts, float), np.asarray(tile_scores, float)
    ranked = [g for g, _ in top] + [g for g in genres if g not in dict(top)]
    rows = [list(genres).index(g) for g in ranked]
    step = starts[1] - starts[0] if len(starts) > 1 else tile_seconds
    edges = np.append(starts, starts[-1] + min(step, tile_seconds))
    minutes = edges[-1] > 600
    scale = 60.0 if minutes else 1.0
    figure, (strip, bars) = plt.subplots(
        1, 2, figsize=(11, 0.35 * len(genres) + 1.4), sharey=True,
        gridspec_kw={"width_ratios": [5, 1], "wspace": 0.05})
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
    figure.colorbar(mesh, ax=[strip, bars], label="tile score", fraction=0.03, pad=0.02)
    return _save(figure, path)
