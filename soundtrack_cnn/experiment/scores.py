"""A run's tile scores, computed once: every trained model on every split.

``evaluate`` scores the run and writes ``RUN/scores.npz`` (with its record,
``RUN/scores.json``: the file's sha256 and the sha256 of every model record it
was scored from); ``report`` and ``compare`` read those scores instead of
scoring the tiles again, so the three agree by construction and reading a
run never runs a net.  A model retrained after ``evaluate`` makes the scores
stale, which :func:`read_scores` refuses with one line.
"""
import io
import os

import numpy as np

from ..errors import InputError, Remedy
from ..files import read_json, sha256_bytes, sha256_file, write_bytes, write_json
from ..inference.model import default_engine, load_model
from ..training.dataset import TileView
from .tracksets import track_sets

__all__ = ["SCORES_FILE", "EQUAL_UPDATES_DIR", "trained_models", "score_run", "read_scores"]

SCORES_FILE = "scores.npz"
_SCORES_JSON = "scores.json"
#: Where ``run --equal-updates`` puts the single net trained with the specialists' updates.
EQUAL_UPDATES_DIR = "multilabel-equal-updates"
SPLITS = ("train", "valid", "test")


def trained_models(run_dir):
    """``{label: (folder, kind)}`` of every model trained in the run, in table order."""
    models = {"specialists": (run_dir, "ensemble"), "single net": (run_dir, "multilabel")}
    fair = os.path.join(run_dir, EQUAL_UPDATES_DIR)
    if os.path.exists(os.path.join(fair, "multilabel.json")):
        models["single net, equal updates"] = (fair, "multilabel")
    return models


def _model_json_sha(folder, kind):
    path = os.path.join(folder, kind + ".json")
    if not os.path.exists(path):
        raise InputError("{} is missing: train the run before scoring it".format(path))
    return sha256_file(path)


def score_run(run_dir, engine=None):
    """Score every split's tiles with every trained model; write ``RUN/scores.npz``.

    Parameters
    ----------
    run_dir : str
        A trained run.
    engine : {'numpy', 'onnx', 'theano'}, optional
        What runs the nets (the same scores within 1e-5); default ONNX Runtime
        where it is installed, else numpy.

    Returns
    -------
    scores, record
        As :func:`read_scores` returns them.
    """
    store, _, sets = track_sets(run_dir)
    engine = engine or default_engine()
    scores, arrays, record = {}, {}, {"engine": engine, "models": {}}
    for label, (folder, kind) in trained_models(run_dir).items():
        model = load_model(folder, kind, settings=store.settings, engine=engine)
        scores[label] = {split: np.asarray(model.predict_tiles(TileView(store.tiles,
                                                                        sets[split].rows)))
                         for split in SPLITS if sets[split].track_ids}
        record["models"][label] = {"record_sha256": _model_json_sha(folder, kind),
                                   "mean_valid_loss": model.mean_valid_loss_}
        arrays.update({"{}/{}".format(label, split): value
                       for split, value in scores[label].items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    write_bytes(os.path.join(run_dir, SCORES_FILE), data)
    record["sha256"] = sha256_bytes(data)
    write_json(os.path.join(run_dir, _SCORES_JSON), record)
    return scores, record


def read_scores(run_dir):
    """The tile scores ``evaluate`` wrote, checked against the run's current models.

    Returns
    -------
    scores : dict
        ``{model label: {split: (n_tiles, K) tile scores}}``.
    record : dict
        ``{"engine": ..., "models": {label: {"mean_valid_loss": ...}}}``.

    Examples
    --------
    >>> read_scores("/nonexistent")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent/scores.json: no scores yet; run evaluate_run('/nonexistent') first
    """
    record_path = os.path.join(run_dir, _SCORES_JSON)
    fix = Remedy("evaluate_run", run_dir)
    if not os.path.exists(record_path):
        raise InputError("{}: no scores yet; run {} first".format(record_path, fix), remedy=fix)
    record = read_json(record_path, what="score record")
    path = os.path.join(run_dir, SCORES_FILE)
    if not os.path.exists(path) or sha256_file(path) != record.get("sha256"):
        raise InputError("{} is missing or does not match {}; run {} again".format(
            path, record_path, fix), remedy=fix)
    models = trained_models(run_dir)
    for label, (folder, kind) in models.items():
        if record.get("models", {}).get(label, {}).get("record_sha256") != _model_json_sha(folder, kind):
            raise InputError("{}: the {} changed after it was scored; run {} again".format(
                path, label, fix), remedy=fix)
    scores = {label: {} for label in models}
    with np.load(path) as archive:
        for key in archive.files:
            label, split = key.rsplit("/", 1)
            if label in scores:
                scores[label][split] = archive[key]
    return scores, record
