"""One table: the study's method and each next step, on the same test tracks, with bootstrap CIs.

``soundtrack-cnn compare RUN`` (``make compare``) reads the specialists'
tile scores that ``evaluate`` wrote (``RUN/scores.npz``), builds every variant
from those scores, and evaluates them all on the same test tracks:

* the study's ranking (mean of the tile scores) -- always the first row;
* max and log-mean-exp pooling, and learned attention pooling (:mod:`pooling`);
* Platt and isotonic calibration of the specialists (:mod:`calibration`),
  saved into the run folder;
* the two-stage cluster-then-genre ranking (:mod:`clusters`);
* a GRU over the tiles in order (:mod:`sequence`);
* for a run fine-tuned from a pretrained trunk, the trunk's linear probe
  (:mod:`probe`).

:func:`compare_runs` (``soundtrack-cnn compare RUN OTHER...``) puts the
trained models of several runs of one collection -- profiles, options,
seeds -- beside the classical baseline and the label prior, on the same
resampled test tracks.

Whatever a variant learns after the specialists (attention, calibration,
first stage) is fitted on the *validation* tracks, whose scores the
specialists never trained on; the GRU, which has more parameters, trains on
the training tracks and keeps its best epoch on the validation tracks.  F1
thresholds are chosen per variant on the validation tracks, as in
``evaluate``.  The confidence intervals resample the test tracks (the same
resamples for every variant), so the differences from the study's row come
with their own intervals.
"""
import os

import numpy as np

from ..errors import InputError
from ..beyond.baseline import reference_scores
from ..beyond.calibration import Calibration
from ..beyond.probe import linear_probe_scores, probe_name
from ..beyond.clusters import TwoStage, ambiguous, cluster_report, genre_clusters
from ..beyond.sequence import SequenceModel, tile_embeddings
from ..files import check_writable, write_bytes, write_json
from ..scoring import metrics
from ..scoring.pooling import AttentionPooling, pool_tracks
from ..training.dataset import TileView
from ..training.loading import import_weights
from .pipeline import probe_trunks
from .scores import read_scores
from .tracksets import track_sets

__all__ = ["METRICS", "point_metrics", "bootstrap_intervals", "variant_scores", "compare_run",
           "compare_runs", "format_table", "bootstrap_table"]

STUDY = "study: mean of tile scores"

#: The table's columns: the ranking and F1 metrics of :data:`metrics.METRICS`.
METRICS = [(label, key) for label, key in metrics.METRICS
           if key not in (("top_k_all", 5), "precision_at_3", "recall_at_3", "hamming_loss")]


def point_metrics(y_true, scores, genres, thresholds=None):
    """The table's metrics for one score matrix, as a list in ``METRICS`` order.

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 1], [1, 0]])
    >>> point_metrics(y, np.array([[.9, .1], [.2, .8], [.4, .6]]), ["a", "b"])[:3]
    [1.0, 1.0, 0.6666666666666666]
    """
    result = metrics.evaluate_scores(y_true, scores, genres, thresholds)
    values = [metrics.metric_value(result, key) for _, key in METRICS]
    return [np.nan if value is None else value for value in values]


def bootstrap_intervals(y_true, scores, genres, thresholds=None, n_boot=500, seed=0, level=.95):
    """Percentile bootstrap intervals of the table's metrics, resampling tracks.

    Parameters
    ----------
    y_true : array of {0, 1}, shape (n, K)
    scores : dict
        ``{variant: (n, K) scores}``; every variant is evaluated on the same
        resamples, so differences are paired.
    genres : sequence of str
    thresholds : dict, optional
        ``{variant: (K,) thresholds}`` for F1 (default 0.5).
    n_boot : int
        Resamples (each one evaluates every variant once).
    seed : int
        The resamples depend only on this and ``n``.
    level : float
        Coverage of the intervals.

    Returns
    -------
    table : dict
        ``{variant: {"point": [...], "low": [...], "high": [...],
        "diff": [...], "diff_low": [...], "diff_high": [...]}}``, lists in
        ``METRICS`` order; ``diff*`` is the variant minus the first variant.
        Metrics undefined on a resample (a genre with one class only) are
        left out of that resample's share of the interval.
    """
    y_true = np.asarray(y_true)
    names = list(scores)
    if not names or any(np.shape(scores[n]) != y_true.shape for n in names):
        raise InputError("every variant's scores must be shaped like y_true {}".format(
            y_true.shape))
    thresholds = thresholds or {}
    point = {n: np.array(point_metrics(y_true, scores[n], genres, thresholds.get(n)))
             for n in names}
    rng = np.random.RandomState(seed)
    samples = {n: [] for n in names}
    for _ in range(n_boot):
        rows = rng.randint(len(y_true), size=len(y_true))
        for n in names:
            samples[n].append(point_metrics(y_true[rows], np.asarray(scores[n])[rows], genres,
                                            thresholds.get(n)))
    tails = [50 * (1 - level), 100 - 50 * (1 - level)]
    table = {}
    for n in names:
        values = np.array(samples[n])
        diffs = values - np.array(samples[names[0]])
        low, high = np.nanpercentile(values, tails, axis=0)
        diff_low, diff_high = np.nanpercentile(diffs, tails, axis=0)
        table[n] = {"point": point[n].tolist(), "low": low.tolist(), "high": high.tolist(),
                    "diff": (point[n] - point[names[0]]).tolist(),
                    "diff_low": diff_low.tolist(), "diff_high": diff_high.tolist()}
    return table


def _tile_scores(run_dir):
    """Store, genres, track sets and the specialists' tile scores on every split."""
    store, genres, sets = track_sets(run_dir)
    if not sets["test"].track_ids or not sets["valid"].track_ids:
        raise InputError("{} needs validation and test tracks to compare".format(run_dir))
    return store, genres, sets, read_scores(run_dir)[0]["specialists"]


def variant_scores(run_dir, embedding="scores", temperature=.1, seed=0, verbose=0):
    """Validation and test track scores of the study's method and every variant.

    Parameters
    ----------
    run_dir : str
        A trained run (``soundtrack-cnn run`` / ``train``).
    embedding : {'scores', 'hidden6'}
        What the GRU reads per tile: the K specialist scores, or the
        specialists' ``hidden6`` activations (50 per specialist).
    temperature : float
        Of the log-mean-exp pooling.
    seed : int
        Of the GRU.
    verbose : int

    Returns
    -------
    variants : dict
        ``{name: {"valid": (n_valid, K), "test": (n_test, K)}}``, the study's first.
    details : dict
        ``genres``, ``clusters`` (found clusters beside the study's),
        ``calibration`` (files written), ``sequence`` (its training history).
    """
    if embedding not in ("scores", "hidden6"):
        raise InputError("embedding must be 'scores' or 'hidden6', got {!r}".format(embedding))
    store, genres, sets, tiles = _tile_scores(run_dir)
    valid, test = sets["valid"], sets["test"]

    def pooled(**options):
        return {split: pool_tracks(tiles[split], sets[split].ranges, **options)
                for split in ("valid", "test")}

    mean = pooled()
    variants = {STUDY: mean, "max pooling": pooled(pooling="max"),
                "log-mean-exp pooling (T={:g})".format(temperature):
                    pooled(pooling="lme", temperature=temperature)}
    attention = AttentionPooling().fit(tiles["valid"], valid.labels, valid.ranges)
    variants["attention pooling"] = {split: attention.predict(tiles[split], sets[split].ranges)
                                     for split in ("valid", "test")}
    details = {"genres": genres, "calibration": []}
    for method in ("platt", "isotonic"):
        calibration = Calibration(method).fit(mean["valid"], valid.labels, genres)
        details["calibration"].append(calibration.save(
            run_dir, fitted_on="valid", pooling="mean", n_tracks=len(valid.track_ids)))
        variants["{} calibration".format(method.capitalize())] = {
            split: calibration.predict(mean[split]) for split in ("valid", "test")}
    clusters = genre_clusters(sets["train"].labels)
    flags = ambiguous(sets["train"].labels, clusters)
    details["clusters"] = cluster_report(genres, clusters, flags)
    two_stage = TwoStage(clusters, flags=flags).fit(mean["valid"], valid.labels)
    variants["two-stage (clusters, then genres)"] = {
        split: two_stage.predict(mean[split]) for split in ("valid", "test")}
    for trunk in probe_trunks(run_dir):
        # A run fine-tuned from a trunk: is the fine-tuning better than a linear read-out?
        variants[probe_name(trunk)] = linear_probe_scores(trunk, store.tiles, sets)

    if embedding == "scores":
        embedded = tiles
    else:
        # The hidden layer is not in scores.npz: only this variant runs the Theano nets,
        # rebuilt from the weights file (the same weights; a pickle would run code).
        ensemble = import_weights(run_dir, settings=store.settings, kind="ensemble")
        embedded = {split: tile_embeddings(ensemble, TileView(store.tiles, sets[split].rows))
                    for split in ("train", "valid", "test")}
    sequence = SequenceModel(random_state=seed, verbose=verbose).fit(
        embedded["train"], sets["train"].labels, sets["train"].ranges,
        valid=(embedded["valid"], valid.labels, valid.ranges))
    variants["GRU over the tiles ({})".format(embedding)] = {
        split: sequence.predict(embedded[split], sets[split].ranges) for split in ("valid", "test")}
    details["sequence"] = {"best_epoch": sequence.best_epoch_, "history": sequence.history_}
    details["n_tracks"] = {split: len(sets[split].track_ids) for split in sets}
    details["labels"] = {"valid": valid.labels, "test": test.labels}
    return variants, details


def format_table(table, digits=3):
    """Markdown: one row per variant, ``point [low, high]`` per metric, then the differences."""
    header = ["variant"] + [label for label, _ in METRICS]

    def cell(value, low, high, sign=""):
        if np.isnan(value):
            return "-"
        pattern = "{:" + sign + "." + str(digits) + "f} [{:." + str(digits) + "f}, {:." + \
                  str(digits) + "f}]"
        return pattern.format(value, low, high)

    points = [[name] + [cell(*v) for v in zip(row["point"], row["low"], row["high"])]
              for name, row in table.items()]
    diffs = [[name] + [cell(*v, sign="+") for v in zip(row["diff"], row["diff_low"], row["diff_high"])]
             for name, row in list(table.items())[1:]]
    return "\n\n".join([metrics.markdown_table(header, points),
                        "Difference from the first row (same resampled tracks):",
                        metrics.markdown_table(header, diffs)])


def bootstrap_table(variants, labels, genres, n_boot=500, seed=0, what=""):
    """The bootstrap table of ``variants`` on the test tracks and its Markdown, heading first.

    Each variant's F1 thresholds are chosen on the validation tracks; the
    intervals resample the test tracks, the same resamples for every row.

    Parameters
    ----------
    variants : dict
        Name -> ``{"valid": scores, "test": scores}``, track scores
        (n_tracks, K) in the order of ``labels``.
    labels : dict
        ``{"valid": labels, "test": labels}``, 0/1 (n_tracks, K).
    genres : list of str
    n_boot, seed : int
        Resamples of the test tracks, and their seed.
    what : str
        Said of the test tracks in the heading (e.g. ``", genres war, action"``).

    Returns
    -------
    table : list of dict
        :func:`bootstrap_intervals`' rows.
    markdown : str
    """
    thresholds = {name: metrics.choose_thresholds(labels["valid"], scores["valid"])
                  for name, scores in variants.items()}
    table = bootstrap_intervals(labels["test"], {n: s["test"] for n, s in variants.items()},
                                genres, thresholds, n_boot=n_boot, seed=seed)
    heading = "# {} test tracks{}; 95% bootstrap intervals ({} resamples, seed {})".format(
        len(labels["test"]), what, n_boot, seed)
    return table, heading + "\n\n" + format_table(table)


def compare_run(run_dir, n_boot=500, seed=0, embedding="scores", verbose=0):
    """Build every variant, evaluate it on the test tracks and write ``compare.md`` / ``.json``.

    Parameters
    ----------
    run_dir : str
    n_boot : int
        Bootstrap resamples of the test tracks.
    seed : int
        Of the resamples and of the GRU.
    embedding : {'scores', 'hidden6'}
        What the GRU reads.
    verbose : int

    Returns
    -------
    markdown : str
        The table (also in ``RUN/compare.md``).
    """
    check_writable(run_dir)  # compare.json and compare.md go there, after minutes of work
    variants, details = variant_scores(run_dir, embedding=embedding, seed=seed, verbose=verbose)
    genres, labels = details.pop("genres"), details.pop("labels")
    table, markdown = bootstrap_table(variants, labels, genres, n_boot, seed)
    markdown += "\n\nClusters found in the training labels: {}; ambiguous: {}\n".format(
        " / ".join(", ".join(group) for group in details["clusters"]["clusters"]),
        ", ".join(details["clusters"]["ambiguous"]) or "none")
    # An undefined metric (NaN) is written as null by write_json.
    write_json(os.path.join(run_dir, "compare.json"),
               dict(details, metrics=[label for label, _ in METRICS], table=table,
                    n_boot=n_boot, seed=seed, embedding=embedding))
    write_bytes(os.path.join(run_dir, "compare.md"), markdown.encode())
    return markdown


def _aligned(track_ids, tracks, values):
    """Rows of ``values`` (one per track of ``tracks``) in the order of ``track_ids``."""
    position = {track_id: row for row, track_id in enumerate(tracks.track_ids)}
    return np.asarray(values)[[position[track_id] for track_id in track_ids]]


def compare_runs(run_dirs, n_boot=500, seed=0, probe=()):
    """Every trained model of several runs, the classical baseline and the label prior, paired.

    The runs must share their genres and their validation and test tracks
    (several profiles or seeds on one collection).  Each model's thresholds
    are chosen on the validation tracks; the intervals resample the test
    tracks, the same resamples for every row, and the differences are from
    the first row (the first run's specialists).

    Parameters
    ----------
    run_dirs : sequence of str
        Evaluated runs (``soundtrack-cnn run``, or ``train`` then ``evaluate``).
    n_boot, seed : int
        Bootstrap resamples and their seed.
    probe : sequence of str
        Trunks whose linear probe is a row too (besides the trunk each
        fine-tuned run started from).

    Returns
    -------
    markdown : str
        The table; nothing is written.
    """
    names = [os.path.normpath(run_dir) for run_dir in run_dirs]
    if len(set(names)) < len(names):
        raise InputError("a run is given twice: {}".format(" ".join(run_dirs)))
    store, genres, sets = track_sets(run_dirs[0])
    ids = {split: sets[split].track_ids for split in ("valid", "test")}
    if not ids["valid"] or not ids["test"]:
        raise InputError("{} needs validation and test tracks to compare".format(run_dirs[0]))
    labels = {split: sets[split].labels for split in ids}
    variants = {}
    for index, (name, run_dir) in enumerate(zip(names, run_dirs)):
        # track_sets checks every tile of the store: the first run's once is enough.
        _, run_genres, run_sets = (store, genres, sets) if index == 0 else track_sets(run_dir)
        if list(run_genres) != list(genres):
            raise InputError("{}: its genres {} differ from the first run's {}".format(
                run_dir, list(run_genres), list(genres)))
        if any(sorted(run_sets[split].track_ids) != sorted(ids[split]) for split in ids):
            raise InputError("{}: its validation or test tracks differ from {}'s; runs side by "
                             "side need the same split".format(run_dir, run_dirs[0]))
        for label, tile_scores in read_scores(run_dir)[0].items():
            variants["{}: {}".format(name, label)] = {
                split: _aligned(ids[split], run_sets[split],
                                pool_tracks(tile_scores[split], run_sets[split].ranges))
                for split in ids}
    variants.update(reference_scores(store.tiles, sets))
    trunks = {}
    for index, run_dir in enumerate(run_dirs):
        trunks.update({trunk.sha256: trunk for trunk in probe_trunks(
            run_dir, probe if index == 0 else ())})
    for trunk in trunks.values():
        variants[probe_name(trunk)] = linear_probe_scores(trunk, store.tiles, sets)
    return bootstrap_table(variants, labels, genres, n_boot, seed)[1] + "\n"
