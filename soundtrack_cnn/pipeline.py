"""The study end to end: audio -> tiles -> ten specialists -> evaluation (-> report).

``make train`` is :func:`run_experiment` with the ``demo`` profile.  A run
folder collects everything::

    RUN/
      experiment.json     profile, manifest, store, splits (track -> split), genres
      features/           the feature store (soundtrack_cnn.store)
      ensemble.json, specialist-*.pkl, multilabel.json, multilabel.pkl
      evaluation.json, evaluation.md
      report/             figures (PNG) and index.html, the prediction viewer

Every stage reuses what an earlier (possibly interrupted) run finished.
"""
import dataclasses
import os

import numpy as np
from sklearn.model_selection import PredefinedSplit

from . import evaluate
from .corpus import generate_corpus
from .dataset import TileView
from .ensemble import MultiLabelNet, SpecialistEnsemble
from .errors import InputError
from .extraction import extract
from .files import write_json, write_text
from .labels import label_statistics, vocabulary
from .loading import load_run
from .profiles import default_data_dir, get_profile
from .report import report_run
from .splits import assign_splits
from .store import FeatureStore
from .tracksets import read_run_record, track_sets

__all__ = ["prepare_run", "train_run", "evaluate_run", "run_experiment"]


def prepare_run(run_dir, store_dir, profile="demo", genres=None, n_genres=10, seed=0,
                manifest=None):
    """Split the store's tracks, choose the vocabulary and write ``experiment.json``.

    A rerun keeps the splits and genres already recorded, so a resumed
    training sees exactly the same data.  ``manifest`` (optional) is recorded
    so that a run folder is never reused for another collection.

    Returns
    -------
    record : dict
        The contents of ``experiment.json``.
    """
    if os.path.exists(os.path.join(run_dir, "experiment.json")):
        return read_run_record(run_dir)
    profile = get_profile(profile)
    tracks = FeatureStore(store_dir).ok_tracks
    if not tracks:
        raise InputError("the store {} holds no usable track".format(store_dir))
    splits = assign_splits([t.track_id for t in tracks],
                           given={t.track_id: t.split for t in tracks if t.split}, seed=seed,
                           groups={t.track_id: t.film for t in tracks if t.film})
    train_tags = [t.tags for t in tracks if splits[t.track_id] == "train"]
    genres = vocabulary(train_tags, k=n_genres, genres=genres)
    record = {"profile": dataclasses.asdict(profile), "store": os.path.abspath(store_dir),
              "manifest": manifest and os.path.abspath(manifest),
              "seed": seed, "genres": genres,
              "label_statistics": label_statistics(train_tags, genres), "splits": splits}
    write_json(os.path.join(run_dir, "experiment.json"), record)
    return record


def train_run(run_dir, net_params=None, verbose=1):
    """Train the ensemble and the single-net baseline of a prepared run (resumable)."""
    record = read_run_record(run_dir)
    store, genres, sets = track_sets(run_dir)
    train, valid = sets["train"], sets["valid"]
    X = TileView(store.tiles, np.concatenate([train.rows, valid.rows]))
    Y = np.concatenate([train.tile_labels(), valid.tile_labels()])
    groups = np.concatenate([train.tile_groups(), valid.tile_groups()])
    # The run's own validation tracks, given to the estimator as a splitter.
    validation = PredefinedSplit(np.repeat([-1, 0], [len(train.rows), len(valid.rows)]))
    params = record["profile"]["net_params"] if net_params is None else net_params
    for cls in (SpecialistEnsemble, MultiLabelNet):
        print("== training {} on {} tiles of {} tracks ({} validation tiles of {} tracks)".format(
            cls.__name__, len(train.rows), len(train.track_ids), len(valid.rows),
            len(valid.track_ids)), flush=True)
        cls(genres, net_params=params, validation=validation, settings=store.settings,
            run_dir=run_dir, warm_start=True, random_state=record["seed"],
            verbose=verbose).fit(X, Y, groups)


def _scores(run_dir, store, sets):
    """Tile and track scores of every model on validation and test."""
    scores = {}
    for kind in ("ensemble", "multilabel"):
        model = load_run(run_dir, kind, settings=store.settings)
        scores[kind] = {}
        for split in ("valid", "test"):
            tiles = model.predict_tiles(TileView(store.tiles, sets[split].rows))
            scores[kind][split] = (tiles, evaluate.aggregate_tracks(tiles, sets[split].ranges),
                                   model.mean_valid_loss_)
    return scores


def evaluate_run(run_dir):
    """Metrics of the ensemble, the single net and two baselines on the test tracks.

    Thresholds for F1 and Hamming loss are chosen on the validation tracks
    only.  Writes ``evaluation.json`` and ``evaluation.md`` into ``run_dir``.

    Returns
    -------
    results : dict
        ``{model: {"tiles": metrics, "tracks": metrics, "mean_valid_loss": float}}``.
    """
    store, genres, sets = track_sets(run_dir)
    test, valid = sets["test"], sets["valid"]
    if not test.track_ids:
        raise InputError("{} has no test tracks to evaluate".format(run_dir))
    results = {}
    n_test = len(test.track_ids)
    prior = evaluate.prior_scores(sets["train"].labels, n_test)
    baselines = {"label prior": prior, "uniform random": evaluate.random_scores(n_test, len(genres), 0)}
    for kind, by_split in _scores(run_dir, store, sets).items():
        thresholds = evaluate.choose_thresholds(valid.labels, by_split["valid"][1])
        tile_scores, track_scores, mean_valid_loss = by_split["test"]
        name = {"ensemble": "specialists", "multilabel": "single net"}[kind]
        results[name] = {
            "mean_valid_loss": mean_valid_loss,
            "tracks": evaluate.evaluate_scores(test.labels, track_scores, genres, thresholds),
            "tiles": evaluate.evaluate_scores(test.tile_labels(), tile_scores, genres, thresholds),
        }
    for name, scores in baselines.items():
        results[name] = {"tracks": evaluate.evaluate_scores(test.labels, scores, genres)}
    write_json(os.path.join(run_dir, "evaluation.json"), results)
    table = evaluate.compare({name: r["tracks"] for name, r in results.items()})
    tiles = evaluate.compare({name: r["tiles"] for name, r in results.items() if "tiles" in r})
    write_text(os.path.join(run_dir, "evaluation.md"), "# Test tracks ({})\n\n{}\n\n"
               "# Test tiles\n\n{}\n".format(n_test, table, tiles))
    return results


def run_experiment(run_dir, profile="demo", manifest=None, data_dir=None, genres=None,
                   n_genres=10, seed=0, jobs=None, verbose=1):
    """Run the whole study and return the path of the report page.

    Parameters
    ----------
    run_dir : str
        Output folder (reused: finished steps are skipped).
    profile : str or Profile
        ``'demo'`` (``make train``), ``'study'`` (the study's hyperparameters)
        or ``'small'``.
    manifest : str, optional
        Your own collection (CSV ``path,tags[,track_id,split]``); default:
        the bundled synthetic corpus, generated into ``data_dir``.
    data_dir : str, optional
        Where the bundled corpus goes (default ``data/<corpus size>``).
    genres : sequence of str, optional
        Explicit vocabulary; default the ``n_genres`` most frequent training tags.
    seed : int
        Seed of the corpus, the track split and the nets.
    jobs : int, optional
        Feature-extraction processes (default: all cores).
    verbose : int
        1 prints nolearn's line per epoch.

    Returns
    -------
    report : str
        Path of ``report/index.html``.
    """
    profile = get_profile(profile)
    if manifest is None:
        manifest = generate_corpus(data_dir or default_data_dir(profile), size=profile.corpus,
                                   seed=seed)
    recorded = (os.path.exists(os.path.join(run_dir, "experiment.json"))
                and read_run_record(run_dir).get("manifest"))
    if recorded and recorded != os.path.abspath(manifest):
        raise InputError("{} holds a run made from {}; give another --run folder for {}".format(
            run_dir, recorded, manifest))
    store_dir = os.path.join(run_dir, "features")
    print("== features: {} -> {}".format(manifest, store_dir), flush=True)
    extract(manifest, store_dir, settings=profile.feature_settings(), jobs=jobs)
    prepare_run(run_dir, store_dir, profile, genres=genres, n_genres=n_genres, seed=seed,
                manifest=manifest)
    train_run(run_dir, verbose=verbose)
    print("== evaluating", flush=True)
    results = evaluate_run(run_dir)
    print(evaluate.compare({name: r["tracks"] for name, r in results.items()}))
    report = report_run(run_dir)
    print("== report: {}".format(os.path.abspath(report)), flush=True)
    return report
