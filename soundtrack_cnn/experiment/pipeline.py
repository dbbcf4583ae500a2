"""The study end to end: audio -> tiles -> ten specialists -> evaluation (-> report).

``make train`` is :func:`run_experiment` with the ``demo`` profile.  A run
folder collects everything::

    RUN/
      experiment.json     profile, manifest, store, splits (track -> split), genres
      features/           the feature store (soundtrack_cnn.collection.store)
      ensemble.json, specialist-*.pkl, multilabel.json, multilabel.pkl
      scores.npz, scores.json   every model's tile scores on every split (evaluate)
      evaluation.json, evaluation.md
      report/             figures (PNG) and index.html, the prediction viewer

Every stage reuses what an earlier (possibly interrupted) run finished.
"""
import dataclasses
import os
import warnings

import numpy as np

from ..collection.corpus import generate_corpus
from ..collection.extraction import extract
from ..collection.labels import label_statistics, vocabulary
from ..collection.splits import assign_splits
from ..beyond.baseline import CLASSICAL, PRIOR, reference_scores
from ..collection.store import FeatureStore
from ..errors import InputError, TrainingWarning
from ..files import check_writable, printable, write_json, write_text
from ..film.novelty import write_reference
from ..beyond.probe import linear_probe_scores, probe_name
from ..scoring import metrics
from ..scoring.pooling import pool_tracks
from ..training.budget import measure_step_seconds, plan_training
from ..training.checkpoint import ModelFolder
from ..training.ensemble import MultiLabelNet, SpecialistEnsemble, nets_at_once
from ..training.network import STUDY_HYPERPARAMETERS
from ..beyond.trunk import describe_init, read_trunk
from .profiles import default_data_dir, get_profile
from .report import report_run
from .runfolder import check_inputs
from .scores import EQUAL_UPDATES_DIR, score_run
from .tracksets import (fit_data, in_distribution_reference, read_experiment_json, track_sets,
                        write_experiment_json)

__all__ = ["check_genres", "prepare_run", "train_run", "evaluate_run", "read_evaluation",
           "run_experiment", "probe_trunks"]


def check_genres(genres, run_dir):
    """``genres`` if a run can use them; InputError for fewer than two.

    Refused rather than half-supported: the study ranks genres per track, and
    everything a run does after training compares them -- the top-k tags, the
    single multi-label net against the specialists, calibration across genres,
    the genre clusters of ``compare``.  With one genre each of these is
    undefined or the same number twice.  A one-genre detector is a specialist
    of a two-genre run: train the genre beside any other tag.
    """
    if len(genres) < 2:
        raise InputError("{}: a run needs at least two genres, got {}: the study ranks genres "
                         "against each other; train the genre beside another one".format(
                             run_dir, list(genres)))
    return genres


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
    profile = get_profile(profile)
    if os.path.exists(os.path.join(run_dir, "experiment.json")):
        record = read_experiment_json(run_dir)
        check_inputs(run_dir, record, store_dir, profile.name, genres=genres, seed=seed)
        check_genres(record["genres"], run_dir)
        return record
    tracks = FeatureStore(store_dir).ok_tracks
    if not tracks:
        raise InputError("the store {} holds no usable track".format(store_dir))
    untagged = sum(1 for t in tracks if not t.tags)
    if untagged:
        raise InputError("the store {} holds {} of {} tracks without tags (a store to pretrain "
                         "on): train needs a store of labelled tracks".format(
                             store_dir, untagged, len(tracks)))
    splits = assign_splits([t.track_id for t in tracks],
                           given={t.track_id: t.split for t in tracks if t.split}, seed=seed,
                           groups={t.track_id: t.film for t in tracks if t.film})
    train_tags = [t.tags for t in tracks if splits[t.track_id] == "train"]
    genres = check_genres(vocabulary(train_tags, k=n_genres, genres=genres), run_dir)
    record = {"profile": dataclasses.asdict(profile), "store": os.path.abspath(store_dir),
              "manifest": manifest and os.path.abspath(manifest),
              "seed": seed, "genres": genres,
              "label_statistics": label_statistics(train_tags, genres), "splits": splits}
    write_experiment_json(run_dir, record)
    return record


def _models(run_dir, genres, params, equal_updates):
    """(label, estimator class, run folder, net_params) of every model a run trains."""
    # Class-balanced sampling is defined per genre: the single net, whose K
    # targets have no one class to balance, gets the tiles shuffled every epoch.
    single = dict(params, shuffle="epoch") if params.get("shuffle") == "balanced" else params
    models = [("specialists", SpecialistEnsemble, run_dir, params),
              ("single net", MultiLabelNet, run_dir, single)]
    if equal_updates:
        # As many weight updates as the K specialists together (K times the epochs,
        # patience scaled alike): the study's comparison gave it a tenth of the compute.
        scaled = dict(STUDY_HYPERPARAMETERS, **single)
        scaled = dict(single, epochs=scaled["epochs"] * len(genres),
                      patience=scaled["patience"] * len(genres))
        models.append(("single net, equal updates", MultiLabelNet,
                       os.path.join(run_dir, EQUAL_UPDATES_DIR), scaled))
    return models


def train_run(run_dir, net_params=None, verbose=0, estimate=True, equal_updates=None,
              client=None, trust_pickles=False, init=None, freeze_conv=None, n_jobs=None):
    """Train the ensemble and the single-net baselines of a prepared run (resumable).

    With ``client`` (a Dask client or scheduler address) every net is a task
    on the cluster (:mod:`soundtrack_cnn.parallel.cluster`); without, ``n_jobs``
    specialists train at once on this machine (None: one after another).  The
    results are the same.

    Before training, warns (:class:`~soundtrack_cnn.errors.TrainingWarning`)
    when the profile cannot converge on this collection
    (:func:`soundtrack_cnn.training.budget.plan_training`); with ``verbose``,
    prints how many weight updates the profile gives each net and an estimate
    of the time (from a measured training step; ``estimate=False`` skips the
    measurement), then each net as it is trained (``verbose=2``: nolearn's
    layer table and a line per epoch too).  ``equal_updates`` (default: the
    profile's) adds the single net trained with as many updates as all
    specialists together, also to a finished run.  ``trust_pickles`` resumes
    from saved nets this user did not sign (a pickle runs code: only for a run
    folder one trusts).  ``init`` and ``freeze_conv`` (default: the profile's)
    start every net from a pretrained trunk (:mod:`soundtrack_cnn.beyond.trunk`).
    """
    record = read_experiment_json(run_dir)
    store, genres, sets = track_sets(run_dir)
    train, valid = sets["train"], sets["valid"]
    X, Y, groups, validation = fit_data(store, sets)
    params = record["profile"]["net_params"] if net_params is None else net_params
    if equal_updates is None:
        equal_updates = record["profile"].get("equal_updates", False)
    if init is None:
        init = record["profile"].get("init")
    if freeze_conv is None:
        freeze_conv = record["profile"].get("freeze_conv", False)
    trunk = None if init is None else read_trunk(init)
    if trunk is not None and verbose:
        print("== every net starts from the trunk {} (sha256 {}; pretrained on {} tracks, {} h, "
              "{} epochs){}".format(trunk.path, trunk.sha256[:12],
                                    trunk.provenance.get("data", {}).get("tracks"),
                                    trunk.provenance.get("data", {}).get("hours"),
                                    trunk.provenance.get("epochs"),
                                    "; conv blocks frozen" if freeze_conv else ""), flush=True)
    for label, cls, folder, model_params in _models(run_dir, genres, params, equal_updates):
        n_nets = len(genres) if cls is SpecialistEnsemble else 1
        hyperparameters = dict(STUDY_HYPERPARAMETERS, **model_params)
        step = (measure_step_seconds(hyperparameters, store.settings.tile_shape,
                                     n_outputs=len(genres) // n_nets) if estimate else None)
        plan = plan_training(len(train.rows), len(valid.rows), hyperparameters, n_nets, step,
                             n_parallel=nets_at_once(n_nets, n_jobs, client))
        if verbose:
            print("== training {} ({} net{}) on {} tiles of {} tracks ({} validation tiles of "
                  "{} tracks): {} updates per epoch, at most {} per net{}".format(
                      label, n_nets, "s" if n_nets > 1 else "", len(train.rows),
                      len(train.track_ids), len(valid.rows), len(valid.track_ids),
                      plan["updates_per_epoch"], plan["max_updates"],
                      "" if step is None else ", at most {:.2f} h ({:.3f} s per update)".format(
                          plan["max_hours"], step)), flush=True)
        for warning in plan["warnings"]:
            warnings.warn("{}: {}".format(label, warning), TrainingWarning, stacklevel=2)
        cls(genres, net_params=model_params, validation=validation, settings=store.settings,
            run_dir=folder, warm_start=True, random_state=record["seed"],
            verbose=verbose, client=client, trust_pickles=trust_pickles, init=trunk,
            freeze_conv=freeze_conv, n_jobs=n_jobs).fit(X, Y, groups)


def _validation_mse(valid, tile_scores, label):
    """The study's "validation error" read three ways, on the validation tiles.

    Per output (what nolearn reports for each net, and the study's 0.22 for
    the specialists) and, for a multi-label net, summed over its K outputs.
    """
    per_output = float(np.mean((tile_scores - valid.tile_labels()) ** 2))
    figures = {label + " (MSE per output)": per_output}
    if label != "specialists":
        figures[label + " (MSE summed over K outputs)"] = per_output * tile_scores.shape[1]
    return figures


def probe_trunks(run_dir, probe=()):
    """The trunks whose linear probe a run is evaluated with: its own (if any), then ``probe``.

    Raises
    ------
    InputError
        If the run's trunk is no longer the file it was fine-tuned from.
    """
    trunks, seen = [], set()
    record = ModelFolder(run_dir, "ensemble").read() or {}
    init = record.get("init")
    for name in ([init["trunk"]] if init else []) + list(probe or ()):
        trunk = read_trunk(name)
        if init and name == init["trunk"] and trunk.sha256 != init["sha256"]:
            raise InputError("{}: the trunk {} changed since the run was fine-tuned from it "
                             "(sha256 {} then, {} now)".format(run_dir, name, init["sha256"][:12],
                                                               trunk.sha256[:12]))
        if trunk.sha256 not in seen:
            seen.add(trunk.sha256)
            trunks.append(trunk)
    return trunks


def evaluate_run(run_dir, engine=None, probe=()):
    """Metrics of the ensemble, the single net and two baselines on the test tracks.

    Thresholds for F1 and Hamming loss are chosen on the validation tracks
    only.  Scores every split once (``RUN/scores.npz``, read by ``report`` and
    ``compare``) and writes ``evaluation.json`` and ``evaluation.md``, and
    the run's in-distribution reference for ``film`` (``in-distribution.json``,
    :func:`~soundtrack_cnn.experiment.tracksets.in_distribution_reference`).
    ``engine`` ('numpy', 'onnx' or 'theano'; default ONNX Runtime where it is
    installed, else numpy) runs the nets: the same scores within 1e-5, and the
    same ``evaluation.md`` on the demo run.  A run fine-tuned from a trunk
    also gets that trunk's linear probe (:mod:`soundtrack_cnn.beyond.probe`),
    and so does every trunk of ``probe`` (paths, or ``'pretrained'``).

    Returns
    -------
    results : dict
        ``{model: {"tiles": metrics, "tracks": metrics, "mean_valid_loss": float}}``.
    """
    check_writable(run_dir)  # its files are written after minutes of scoring
    store, genres, sets = track_sets(run_dir)
    check_genres(genres, run_dir)  # a one-genre run trained by an older version
    test, valid = sets["test"], sets["valid"]
    if not test.track_ids:
        raise InputError("{} has no test tracks to evaluate".format(run_dir))
    results, mse = {}, {}
    n_test = len(test.track_ids)
    scores, record = score_run(run_dir, engine=engine)
    for name, model_scores in scores.items():
        valid_tiles, tile_scores = model_scores["valid"], model_scores["test"]
        thresholds = metrics.choose_thresholds(
            valid.labels, pool_tracks(valid_tiles, valid.ranges))
        track_scores = pool_tracks(tile_scores, test.ranges)
        mse.update(_validation_mse(valid, valid_tiles, name))
        results[name] = {
            "mean_valid_loss": record["models"][name]["mean_valid_loss"],
            "tracks": metrics.evaluate_scores(test.labels, track_scores, genres, thresholds),
            "tiles": metrics.evaluate_scores(test.tile_labels(), tile_scores, genres, thresholds),
        }
    references = reference_scores(store.tiles, sets)
    classical = references[CLASSICAL]
    results[CLASSICAL] = {"tracks": metrics.evaluate_scores(
        test.labels, classical["test"], genres,
        metrics.choose_thresholds(valid.labels, classical["valid"]))}
    for trunk in probe_trunks(run_dir, probe):
        probed = linear_probe_scores(trunk, store.tiles, sets)
        results[probe_name(trunk)] = {"tracks": metrics.evaluate_scores(
            test.labels, probed["test"], genres,
            metrics.choose_thresholds(valid.labels, probed["valid"]))}
    baselines = {PRIOR: references[PRIOR]["test"],
                 "uniform random": metrics.random_scores(n_test, len(genres), 0)}
    for name, baseline_scores in baselines.items():
        results[name] = {"tracks": metrics.evaluate_scores(test.labels, baseline_scores, genres)}
    results["validation MSE"] = mse
    # What film needs of the training tiles, fitted once and kept with the run
    # (and copied into the model files export writes).
    write_reference(run_dir, in_distribution_reference(run_dir))
    write_json(os.path.join(run_dir, "evaluation.json"), results)
    tracks = metrics.metrics_table({name: r["tracks"] for name, r in results.items() if "tracks" in r})
    tiles = metrics.metrics_table({name: r["tiles"] for name, r in results.items() if "tiles" in r})
    init = describe_init((ModelFolder(run_dir, "ensemble").read() or {}).get("init"))
    write_text(os.path.join(run_dir, "evaluation.md"), ("The specialists and the single net were "
               "{}.\n\n".format(init) if init else "") + "# Test tracks ({})\n\n{}\n\n"
               "# Test tiles\n\n{}\n\n# Validation MSE (the study's \"validation error\")\n\n"
               "{}\n".format(n_test, tracks, tiles, "\n".join(
                   "- {}: {:.4f}".format(metrics.markdown_text(name), value)
                   for name, value in mse.items())))
    return results


def read_evaluation(run_dir):
    """The text of ``RUN/evaluation.md`` (written by :func:`evaluate_run`).

    Raises
    ------
    InputError
        If the run has not been evaluated (the message names the file and the call).
    """
    path = os.path.join(run_dir, "evaluation.md")
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError as error:
        raise InputError("{}: cannot read it ({}); evaluate_run({!r}) writes it".format(
            path, error.strerror, run_dir)) from None


def run_experiment(run_dir, profile="demo", manifest=None, data_dir=None, corpus=None,
                   equal_updates=None, genres=None, n_genres=10, seed=0, n_jobs=-1, verbose=0,
                   client=None, init=None, freeze_conv=None):
    """Run the whole study and return the path of the report page.

    Parameters
    ----------
    run_dir : str
        Output folder (reused: finished steps are skipped).
    profile : str or Profile
        ``'demo'`` (``make train``, also on real collections), ``'study'``
        (the study's hyperparameters), ``'small'``, or a :class:`Profile` of
        your own (e.g. ``dataclasses.replace(get_profile('demo'), ...)`` with
        an option beyond the study).
    manifest : str, optional
        Your own collection (CSV ``path,tags[,track_id,split]``); default:
        the bundled synthetic corpus, generated into ``data_dir``.
    data_dir : str, optional
        Where the bundled corpus goes (default ``data/<corpus size>``).
    corpus : {'small', 'demo', 'large'}, optional
        Size of the bundled corpus (default: the profile's); e.g. the study's
        hyperparameters at work need ``profile='study', corpus='large'``.
    equal_updates : bool, optional
        Also train the single net with as many updates as all specialists
        together (default: the profile's; it doubles the training time).
    genres : sequence of str, optional
        Explicit vocabulary; default the ``n_genres`` most frequent training tags.
    seed : int
        Seed of the corpus, the track split and the nets.
    n_jobs : int
        Feature-extraction processes and specialists trained at once, as in
        scikit-learn (-1, the default: one per core; None or 1: this process).
    verbose : int
        0 prints nothing (warnings go through :mod:`warnings`); 1 prints each
        stage, the extraction's bar and summary, each net as it is trained
        and the evaluation tables (the command line's ``run``); 2 also
        nolearn's line per epoch.
    client : distributed.Client or str, optional
        A Dask cluster to extract and train on (see :mod:`soundtrack_cnn.parallel.cluster`).
    init : str, optional
        A pretrained trunk to fine-tune from (path or ``'pretrained'``;
        default: the profile's, none).
    freeze_conv : bool, optional
        Keep the trunk's convolutional blocks fixed (default: the profile's).

    Returns
    -------
    report : str
        Path of ``report/index.html``.
    """
    profile = get_profile(profile)
    if corpus is not None:
        profile = dataclasses.replace(profile, corpus=corpus)
    if equal_updates is not None:
        profile = dataclasses.replace(profile, equal_updates=equal_updates)
    if init is not None:
        profile = dataclasses.replace(profile, init=init)
    if freeze_conv is not None:
        profile = dataclasses.replace(profile, freeze_conv=freeze_conv)
    if manifest is None:
        manifest = generate_corpus(data_dir or default_data_dir(profile), size=profile.corpus,
                                   seed=seed, n_jobs=n_jobs, progress=bool(verbose))
    recorded = (os.path.exists(os.path.join(run_dir, "experiment.json"))
                and read_experiment_json(run_dir).get("manifest"))
    if recorded and recorded != os.path.abspath(manifest):
        raise InputError("{} holds a run made from {}; give another run folder for {}".format(
            run_dir, recorded, manifest))
    store_dir = os.path.join(run_dir, "features")
    if verbose:
        print("== features: {} -> {}".format(printable(manifest), printable(store_dir)), flush=True)
    summary = extract(manifest, store_dir, settings=profile.feature_settings(), n_jobs=n_jobs,
                      client=client, progress=bool(verbose))
    if verbose:
        print(summary, flush=True)
    prepare_run(run_dir, store_dir, profile, genres=genres, n_genres=n_genres, seed=seed,
                manifest=manifest)
    train_run(run_dir, verbose=verbose, equal_updates=profile.equal_updates, client=client,
              init=profile.init, freeze_conv=profile.freeze_conv, n_jobs=n_jobs)
    if verbose:
        print("== evaluating", flush=True)
    evaluate_run(run_dir)
    if verbose:
        print(read_evaluation(run_dir), flush=True)
    report = report_run(run_dir)
    if verbose:
        print("== report: {}".format(os.path.abspath(report)), flush=True)
    return report
