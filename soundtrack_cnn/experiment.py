"""The study end to end: audio -> tiles -> ten specialists -> evaluation -> report.

``make train`` is :func:`run_experiment` with the ``demo`` profile.  A run
folder collects everything::

    RUN/
      experiment.json     profile, manifest, store, splits (track -> split), genres
      features/           the feature store (soundtrack_cnn.store)
      ensemble.json, specialist-*.pkl, multilabel.json, multilabel.pkl
      evaluation.json, evaluation.md
      report/             figures (PNG) and index.html, the prediction viewer

Every step reuses what an earlier (possibly interrupted) run finished.
"""
import dataclasses
import json
import os

import numpy as np

from . import evaluate, figures, viewer
from .audio import load_audio
from .corpus import generate_corpus
from .dataset import TileView
from .ensemble import MultiLabelNet, SpecialistEnsemble
from .errors import InputError
from .features import FeatureSettings
from .inference import load_model
from .labels import cooccurrence, label_matrix, label_statistics, vocabulary
from .runs import write_bytes, write_json
from .splits import assign_splits
from .store import FeatureStore, extract
from .streaming import tile_starts

__all__ = ["Profile", "PROFILES", "prepare_run", "train_run", "run_experiment", "evaluate_run",
           "report_run", "TrackSet"]


@dataclasses.dataclass(frozen=True)
class Profile(object):
    """How big a run is: corpus size, network overrides, feature settings.

    Parameters
    ----------
    name : str
    corpus : str
        Size of the bundled corpus generated when no manifest is given.
    net_params : dict
        Overrides of the study's hyperparameters (see ``network.build_net``).
    settings : dict
        Overrides of ``FeatureSettings`` defaults.
    """

    name: str
    corpus: str
    net_params: dict
    settings: dict = dataclasses.field(default_factory=dict)

    def feature_settings(self):
        return FeatureSettings(**self.settings)


PROFILES = {
    # The study's exact hyperparameters: up to 1000 epochs, patience 30, batch 1200.
    "study": Profile("study", corpus="demo", net_params={}),
    # `make train` on 2 cores in < 15 minutes.  The demo corpus has ~100x
    # fewer tiles than the study's, so: 8 epochs, batches of 64 (more updates
    # per epoch) and a 3x higher starting learning rate, still annealed by
    # AdjustVariable; the architecture and everything else are the study's.
    "demo": Profile("demo", corpus="demo",
                    net_params={"epochs": 8, "batch": 64, "patience": 4, "rate": .03}),
    # Tests and the notebook: seconds, not minutes.
    "small": Profile("small", corpus="small",
                     net_params={"epochs": 3, "batch": 64, "patience": 2}),
}


class TrackSet(object):
    """The tracks of one split and their rows in the feature store.

    Attributes
    ----------
    track_ids, paths : list of str
    tags : list of tuple of str
    labels : ndarray, shape (n_tracks, K)
    rows : ndarray of int
        Store tile rows of all these tracks, track after track.
    ranges : list of (int, int)
        Each track's [start, stop) within ``rows``.
    """

    def __init__(self, tracks, genres):
        self.track_ids = [t.track_id for t in tracks]
        self.paths = [t.path for t in tracks]
        self.tags = [tuple(t.tags) for t in tracks]
        self.labels = label_matrix(self.tags, genres)
        self.rows = np.concatenate([np.arange(t.start, t.stop) for t in tracks] or [[]]).astype(int)
        sizes = [t.stop - t.start for t in tracks]
        stops = np.cumsum(sizes)
        self.ranges = [(int(stop - size), int(stop)) for stop, size in zip(stops, sizes)]

    def tile_labels(self):
        """Each tile's labels (its track's), shape (n_tiles, K)."""
        return np.repeat(self.labels, [stop - start for start, stop in self.ranges], axis=0)


def _read_json(path):
    try:
        with open(path) as stream:
            return json.load(stream)
    except OSError as error:
        raise InputError("{}: not a run folder ({})".format(os.path.dirname(path) or ".",
                                                           error.strerror))
    except ValueError as error:
        raise InputError("{} is not valid JSON: {}".format(path, error))


def _track_sets(run_dir):
    """Store, genres and {split: TrackSet} of a run folder."""
    record = _read_json(os.path.join(run_dir, "experiment.json"))
    store = FeatureStore(record["store"])
    genres = record["genres"]
    by_split = {name: [t for t in store.ok_tracks if record["splits"].get(t.track_id) == name]
                for name in ("train", "valid", "test")}
    return store, genres, {name: TrackSet(tracks, genres) for name, tracks in by_split.items()}


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
    path = os.path.join(run_dir, "experiment.json")
    if os.path.exists(path):
        return _read_json(path)
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    tracks = FeatureStore(store_dir).ok_tracks
    if not tracks:
        raise InputError("the store {} holds no usable track".format(store_dir))
    splits = assign_splits([t.track_id for t in tracks],
                           given={t.track_id: t.split for t in tracks if t.split}, seed=seed)
    train_tags = [t.tags for t in tracks if splits[t.track_id] == "train"]
    genres = vocabulary(train_tags, k=n_genres, genres=genres)
    record = {"profile": dataclasses.asdict(profile), "store": os.path.abspath(store_dir),
              "manifest": manifest and os.path.abspath(manifest),
              "seed": seed, "genres": genres,
              "label_statistics": label_statistics(train_tags, genres), "splits": splits}
    write_json(path, record)
    return record


def train_run(run_dir, net_params=None, verbose=1):
    """Train the ensemble and the single-net baseline of a prepared run (resumable)."""
    record = _read_json(os.path.join(run_dir, "experiment.json"))
    store, genres, sets = _track_sets(run_dir)
    fit_rows = np.concatenate([sets["train"].rows, sets["valid"].rows])
    Y = np.concatenate([sets["train"].tile_labels(), sets["valid"].tile_labels()])
    valid = np.arange(len(fit_rows)) >= len(sets["train"].rows)
    X = TileView(store.tiles, fit_rows)
    params = record["profile"]["net_params"] if net_params is None else net_params
    for cls in (SpecialistEnsemble, MultiLabelNet):
        print("== training {} on {} tiles of {} tracks ({} validation tiles of {} tracks)".format(
            cls.__name__, int((~valid).sum()), len(sets["train"].track_ids), int(valid.sum()),
            len(sets["valid"].track_ids)), flush=True)
        cls(genres, run_dir=run_dir, settings=store.settings, net_params=params,
            seed=record["seed"], verbose=verbose).fit(X, Y, valid)


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
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    if manifest is None:
        manifest = generate_corpus(data_dir or os.path.join("data", profile.corpus),
                                   size=profile.corpus, seed=seed)
    record = os.path.join(run_dir, "experiment.json")
    recorded = os.path.exists(record) and _read_json(record).get("manifest")
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


def _scores(run_dir, store, sets, engine="numpy"):
    """Tile and track scores of every model (and baseline) on validation and test."""
    scores = {}
    for kind in ("ensemble", "multilabel"):
        model = load_model(run_dir, kind, settings=store.settings, engine=engine)
        scores[kind] = {}
        for split in ("valid", "test"):
            tiles = model.predict_tiles(TileView(store.tiles, sets[split].rows))
            scores[kind][split] = (tiles, evaluate.aggregate_tracks(tiles, sets[split].ranges))
    return scores


def evaluate_run(run_dir, engine="numpy"):
    """Metrics of the ensemble, the single net and two baselines on the test tracks.

    Thresholds for F1 and Hamming loss are chosen on the validation tracks
    only.  Writes ``evaluation.json`` and ``evaluation.md`` into ``run_dir``.
    ``engine`` ('numpy' or 'theano') evaluates the nets (same scores).

    Returns
    -------
    results : dict
        ``{model: {"tiles": metrics, "tracks": metrics, "mean_valid_loss": float}}``.
    """
    store, genres, sets = _track_sets(run_dir)
    test, valid = sets["test"], sets["valid"]
    if not test.track_ids:
        raise InputError("{} has no test tracks to evaluate".format(run_dir))
    results = {}
    n_test = len(test.track_ids)
    prior = evaluate.prior_scores(sets["train"].labels, n_test)
    baselines = {"label prior": prior, "uniform random": evaluate.random_scores(n_test, len(genres), 0)}
    for kind, by_split in _scores(run_dir, store, sets, engine).items():
        valid_tracks = by_split["valid"][1]
        thresholds = evaluate.choose_thresholds(valid.labels, valid_tracks)
        tile_scores, track_scores = by_split["test"]
        metadata = _read_json(os.path.join(run_dir, kind + ".json"))
        losses = [m["best_valid_loss"] for m in metadata["models"].values()]
        name = {"ensemble": "specialists", "multilabel": "single net"}[kind]
        results[name] = {
            "mean_valid_loss": float(np.mean(losses)),
            "tracks": evaluate.evaluate_scores(test.labels, track_scores, genres, thresholds),
            "tiles": evaluate.evaluate_scores(test.tile_labels(), tile_scores, genres, thresholds),
        }
    for name, scores in baselines.items():
        results[name] = {"tracks": evaluate.evaluate_scores(test.labels, scores, genres)}
    write_json(os.path.join(run_dir, "evaluation.json"), results)
    table = evaluate.compare({name: r["tracks"] for name, r in results.items()})
    tiles = evaluate.compare({name: r["tiles"] for name, r in results.items() if "tiles" in r})
    write_bytes(os.path.join(run_dir, "evaluation.md"), "# Test tracks ({})\n\n{}\n\n"
                "# Test tiles\n\n{}\n".format(n_test, table, tiles).encode())
    return results


def report_run(run_dir, out=None, engine="numpy"):
    """Figures (PNG) and the prediction viewer (offline HTML) of an evaluated run.

    Parameters
    ----------
    run_dir : str
    out : str, optional
        Output folder (default ``RUN/report``).
    engine : {'numpy', 'theano'}
        What evaluates the nets (same scores).

    Returns
    -------
    page : str
        Path of ``index.html``, the viewer, which links the figures.
    """
    store, genres, sets = _track_sets(run_dir)
    out = out or os.path.join(run_dir, "report")
    os.makedirs(out, exist_ok=True)
    test, train = sets["test"], sets["train"]
    ensemble = load_model(run_dir, "ensemble", settings=store.settings, engine=engine)
    tile_scores = ensemble.predict_tiles(TileView(store.tiles, test.rows))
    scores = evaluate.aggregate_tracks(tile_scores, test.ranges)
    all_tags = [tags for split in sets.values() for tags in split.tags]

    pictures = [
        figures.plot_label_overlap(cooccurrence(all_tags, genres), genres,
                                   os.path.join(out, "label_overlap.png")),
        figures.plot_tags_per_track(all_tags, os.path.join(out, "tags_per_track.png")),
        figures.plot_training_curves(
            {genre: [{"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss}
                     for epoch, (train_loss, valid_loss) in enumerate(summary["history"], 1)]
             for genre, summary in ensemble.summaries_.items()},
            os.path.join(out, "training_curves.png")),
        _plot_first_tile(store, test if test.track_ids else train, out),
        figures.plot_track_predictions(test.track_ids, scores, test.labels, genres,
                                       os.path.join(out, "track_predictions.png")),
        figures.plot_roc_curves(test.labels, scores, genres, os.path.join(out, "roc_curves.png")),
    ]
    shares = evaluate.normalise_scores(scores)
    tracks = [{"name": track_id, "audio_path": path, "scores": [float(s) for s in row],
               "true_tags": [g for g in tags if g in genres],
               "timeline": {"starts": tile_starts(stop - start, store.settings),
                            "scores": tile_scores[start:stop],
                            "tile_seconds": store.settings.n_frames * store.settings.winstep}}
              for track_id, path, row, tags, (start, stop)
              in zip(test.track_ids, test.paths, shares, test.tags, test.ranges)]
    return viewer.write_viewer(os.path.join(out, "index.html"), tracks, genres,
                               title="soundtrack_cnn: {}".format(os.path.basename(
                                   os.path.abspath(run_dir))), sr=store.settings.sr,
                               figures=pictures)


def _plot_first_tile(store, tracks, out):
    """The first tile of the first track beside the spectrogram of the same seconds."""
    settings = store.settings
    seconds = settings.n_frames * settings.winstep
    signal = load_audio(tracks.paths[0], sr=settings.sr)[:int(seconds * settings.sr)]
    return figures.plot_tile(signal, settings.sr, store.tiles[int(tracks.rows[0])][0],
                             os.path.join(out, "mfcc_tile.png"), settings=settings)
