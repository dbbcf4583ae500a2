import os

import numpy as np
from matplotlib import image

from soundtrack_cnn import figures

GENRES = ["Drama", "Action", "Comedy"]


def _is_picture(path):
    pixels = image.imread(path)
    return os.path.getsize(path) > 5000 and pixels.ndim == 3 and pixels[..., :3].std() > 0.05


def test_every_figure_is_written_and_not_blank(tmp_path):
    rng = np.random.RandomState(0)
    y = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [1, 0, 1]])
    scores = np.clip(y * 0.5 + rng.rand(4, 3) * 0.5, 0, 1)
    tags = [["Drama", "Action"], ["Drama", "Comedy"], ["Action"], ["Drama", "Comedy"]]
    signal = np.sin(2 * np.pi * 440 * np.arange(22050 * 10) / 22050)
    paths = [
        figures.plot_label_overlap(np.array([[3, 1, 2], [1, 2, 0], [2, 0, 2]]), GENRES,
                                   str(tmp_path / "overlap.png")),
        figures.plot_tags_per_track(tags, str(tmp_path / "tags.png")),
        figures.plot_training_curves(
            {g: [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e} for e in (1, 2, 3)]
             for g in GENRES}, str(tmp_path / "curves.png")),
        figures.plot_tile(signal, 22050, rng.randn(40, 100), str(tmp_path / "tile.png")),
        figures.plot_track_predictions(["a", "b", "c", "d"], scores, y, GENRES,
                                       str(tmp_path / "bars.png")),
        figures.plot_roc_curves(y, scores, GENRES, str(tmp_path / "roc.png")),
    ]
    assert all(_is_picture(path) for path in paths)


def test_true_tags_are_drawn_bright_green(tmp_path):
    path = figures.plot_track_predictions(["only"], np.array([[.2, .7, .1]]),
                                          np.array([[0, 1, 0]]), GENRES,
                                          str(tmp_path / "bars.png"))
    pixels = image.imread(path)[..., :3]
    green = np.array([int(figures.TRUE_TAG_GREEN[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(pixels - green).max(axis=-1) < 0.02).sum() > 500
