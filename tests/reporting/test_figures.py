import os

import numpy as np
from matplotlib import image

from soundtrack_cnn.reporting import figures

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
    drawn = {
        "overlap": figures.plot_label_overlap(np.array([[3, 1, 2], [1, 2, 0], [2, 0, 2]]), GENRES),
        "tags": figures.plot_tags_per_track(tags),
        "curves": figures.plot_training_curves(
            {g: [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e} for e in (1, 2, 3)]
             for g in GENRES}),
        "tile": figures.plot_tile(signal, 22050, rng.randn(40, 100)),
        "bars": figures.plot_track_predictions(["a", "b", "c", "d"], scores, y, GENRES),
        "roc": figures.plot_roc_curves(y, scores, GENRES),
    }
    paths = [_save(ax, tmp_path / (name + ".png")) for name, ax in drawn.items()]
    assert all(_is_picture(path) for path in paths)


def _save(ax, path):
    first = ax.flat[0] if hasattr(ax, "flat") else ax
    return figures.save_png(first.figure, str(path))


def test_figures_draw_on_given_axes_and_leave_the_backend_alone():
    import matplotlib
    import matplotlib.pyplot as plt
    backend = matplotlib.get_backend()
    figure, ax = plt.subplots()
    assert figures.plot_tags_per_track([["a"], ["a", "b"]], ax=ax) is ax
    plt.close(figure)
    assert matplotlib.get_backend() == backend


def test_bars_show_the_numbers_the_viewer_shows():
    from soundtrack_cnn.scoring.metrics import normalise_scores
    scores = np.array([[.2, .6, .2], [0., 0., 0.]])   # an all-zero row too
    grid = figures.plot_track_predictions(["a", "b"], scores, np.eye(2, 3), GENRES)
    for panel, expected in zip(grid.flat, normalise_scores(scores)):
        widths = {bar.get_y(): bar.get_width() for bar in panel.patches}
        drawn = [widths[y] for y in sorted(widths)]
        np.testing.assert_allclose(sorted(drawn), sorted(expected))


def test_true_tags_are_drawn_bright_green(tmp_path):
    path = _save(figures.plot_track_predictions(["only"], np.array([[.2, .7, .1]]),
                                                np.array([[0, 1, 0]]), GENRES),
                 tmp_path / "bars.png")
    pixels = image.imread(path)[..., :3]
    green = np.array([int(figures.TRUE_TAG_GREEN[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(pixels - green).max(axis=-1) < 0.02).sum() > 500
