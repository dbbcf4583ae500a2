"""Pretraining measured: speed, and fine-tuned specialists against training from scratch.

Validation tracks only (test tracks are never read here).  Every result is
appended to ``OUT/results.jsonl`` as it is measured, and every net is
checkpointed in ``OUT/<candidate>-seed<S>/`` as it finishes, so a killed
measurement resumes where it stopped when the same command is run again::

    # tiles per second of one pretraining update, per batch size
    .venv/bin/python studies/pretraining.py speed --batches 32 64

    # RUN: a run of the development set (experiment.json: store, genres, splits),
    # prepared here from STORE the first time
    .venv/bin/python studies/pretraining.py validate RUN --store STORE --out OUT \\
        --candidates scratch pretrained runs/x/trunk.npz --seeds 0 1 2 [--epochs 8] [--jobs 2]

A candidate is ``scratch`` (the demo profile as it is), ``single`` (the demo
profile's single multi-label net), ``pretrained`` (the shipped trunk), ``random``
(the untrained net's trunk: the probe's control), or the path of a trunk;
``+frozen`` after a trunk keeps its conv blocks fixed, ``+single`` trains the
single multi-label net from it instead of the specialists, and ``+rate<R>`` starts
the learning rate at R instead of the profile's (still annealed to its stop rate),
e.g. ``pretrained+rate0.003``.  Options combine: ``pretrained+single+rate0.003``.
The classical baseline (MFCC mean+std + logistic regression) is scored on the
validation tracks once.  For each trunk the linear probe (its embeddings per track
+ logistic regression, fitted on the training tracks) is scored on the
validation tracks too.  ``summary`` prints the table of OUT's results.

``test`` reads the test tracks, once, after the validation measurements are
finished: every net of OUT beside the trunks' probes, the classical baseline
and the label prior, with paired bootstrap intervals (``OUT/test.md``), and
the difference between two candidates' mean over seeds, resampling the test
tracks (each resample scores every seed of both)::

    .venv/bin/python studies/pretraining.py test RUN --out OUT \\
        --candidates scratch pretrained single --seeds 0 1 2
"""
import argparse
import json
import os
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.beyond.baseline import classical_baseline_scores, reference_scores
from soundtrack_cnn.experiment.pipeline import prepare_run
from soundtrack_cnn.files import write_bytes
from soundtrack_cnn.experiment.profiles import get_profile
from soundtrack_cnn.experiment.tracksets import fit_data, track_sets
from soundtrack_cnn.beyond.probe import linear_probe_scores, probe_name
from soundtrack_cnn.experiment.compare import bootstrap_table
from soundtrack_cnn.scoring.metrics import macro_roc_auc
from soundtrack_cnn.scoring.pooling import pool_tracks
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.training.ensemble import MultiLabelNet, SpecialistEnsemble
from soundtrack_cnn.training.loading import import_weights
from soundtrack_cnn.beyond.pretraining import ContrastivePretrainer
from soundtrack_cnn.beyond.trunk import read_trunk


def speed(args):
    for batch in args.batches:
        seconds = ContrastivePretrainer(batch=batch).measure_step_seconds(steps=args.steps)
        print(json.dumps({"batch_pairs": batch, "tiles_per_update": 2 * batch,
                          "seconds_per_update": round(seconds, 3),
                          "tiles_per_second": round(2 * batch / seconds, 1)}), flush=True)


def _done(path):
    if not os.path.exists(path):
        return {}
    with open(path) as stream:
        rows = [json.loads(line) for line in stream if line.strip()]
    return {(row["candidate"], row.get("seed")): row for row in rows}


def _append(path, row):
    with open(path, "a") as stream:
        stream.write(json.dumps(row) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    print(json.dumps(row), flush=True)


def random_trunk(settings, seed=0):
    """The trunk of an untrained net (the study's initial weights): the probe's control."""
    import lasagne
    from soundtrack_cnn.beyond.trunk import ARCHITECTURE, TRUNK_LAYERS, Trunk
    from soundtrack_cnn.training.network import STUDY_HYPERPARAMETERS, build_net
    saved = lasagne.random.get_rng()
    lasagne.random.set_rng(np.random.RandomState(seed))
    try:
        net = build_net(input_shape=(None,) + tuple(settings.tile_shape))
        net.initialize_layers()
    finally:
        lasagne.random.set_rng(saved)
    return Trunk({name: [p.get_value() for p in net.layers_[name].get_params()]
                  for name in TRUNK_LAYERS}, settings,
                 {key: STUDY_HYPERPARAMETERS[key] for key in ARCHITECTURE}, sha256="random",
                 path="random")


def _folder(out, candidate, seed):
    return os.path.join(out, "{}-seed{}".format(
        os.path.basename(candidate).replace(".npz", ""), seed))


def _options(candidate):
    """The options after a candidate's trunk, e.g. ``{'single': True, 'rate': 0.003}``."""
    options = {}
    for option in candidate.split("+")[1:]:
        if option in ("frozen", "single"):
            options[option] = True
        elif option.startswith("rate") and option[len("rate"):].replace(".", "", 1).isdigit():
            options["rate"] = float(option[len("rate"):])
        else:
            raise SystemExit("{}: unknown option {!r} (frozen, single, rate<R>)".format(
                candidate, option))
    return options


def _is_single(candidate):
    """Whether a candidate is the single multi-label net (from scratch or from a trunk)."""
    return candidate == "single" or "single" in _options(candidate)


def _trunk(candidate, settings):
    """The trunk a candidate starts from (None for scratch and the single net)."""
    trunk_name = candidate.partition("+")[0]
    return (None if trunk_name in ("scratch", "single") else random_trunk(settings)
            if trunk_name == "random" else read_trunk(trunk_name))


def _check_same_trunk(done, candidate, trunk, results):
    """Refuse results of a candidate measured with another trunk ('pretrained' was replaced)."""
    trunk_name = candidate.partition("+")[0]
    recorded = {row.get("trunk_sha256") for key, row in done.items()
                if key[0] in (candidate, "probe:" + trunk_name)} - {None}
    if trunk is not None and recorded - {trunk.sha256}:
        raise SystemExit("{}: its rows of {!r} were measured with another trunk (sha256 {}, now "
                         "{}); give another --out".format(results, candidate, ", ".join(
                             sha[:12] for sha in sorted(recorded)), trunk.sha256[:12]))


def validate(args):
    if args.store and not os.path.exists(os.path.join(args.run, "experiment.json")):
        # The run's split is the manifest's; its genres the ten most frequent training tags,
        # as `make train DATA=...` chooses them.
        prepare_run(args.run, args.store, "demo", seed=0)
    store, genres, sets = track_sets(args.run)
    valid = sets["valid"]
    X, Y, groups, validation = fit_data(store, sets)
    results = os.path.join(args.out, "results.jsonl")
    os.makedirs(args.out, exist_ok=True)
    done = _done(results)
    params = dict(get_profile("demo").net_params)
    if args.epochs:
        params["epochs"] = args.epochs
    truth = valid.labels > .5
    names = args.genres or genres
    columns = [genres.index(name) for name in names]
    if ("probe:MFCC mean+std", None) not in done:
        classical = classical_baseline_scores(store.tiles, {k: v for k, v in sets.items()})
        _append(results, {"candidate": "probe:MFCC mean+std", "seed": None, "genres": genres,
                          "valid_macro_auc": round(macro_roc_auc(truth, classical["valid"]), 4),
                          "valid_macro_auc_of_genres": round(macro_roc_auc(
                              truth[:, columns], classical["valid"][:, columns]), 4)})
        done = _done(results)
    for candidate in args.candidates:
        trunk_name = candidate.partition("+")[0]
        options = _options(candidate)
        trunk = _trunk(candidate, store.settings)
        _check_same_trunk(done, candidate, trunk, results)
        if trunk is not None and ("probe:" + trunk_name, None) not in done:
            start = time.perf_counter()
            probed = linear_probe_scores(trunk, store.tiles, sets)
            _append(results, {"candidate": "probe:" + trunk_name, "seed": None,
                              "trunk_sha256": trunk.sha256, "genres": genres,
                              "valid_macro_auc": round(macro_roc_auc(truth, probed["valid"]), 4),
                              "valid_macro_auc_of_genres": round(macro_roc_auc(
                                  truth[:, columns], probed["valid"][:, columns]), 4),
                              "minutes": round((time.perf_counter() - start) / 60, 2)})
        for seed in args.seeds if not args.probes_only else ():
            if (candidate, seed) in done:
                continue
            folder = _folder(args.out, candidate, seed)
            start = time.perf_counter()
            # The single net gets the tiles shuffled every epoch, as `make train` gives it
            # (class-balanced sampling is defined per genre).
            net_params = dict(params, rate=options.get("rate", params["rate"]))
            estimator, net_params = ((MultiLabelNet, dict(net_params, shuffle="epoch"))
                                     if _is_single(candidate) else
                                     (SpecialistEnsemble, net_params))
            model = estimator(names, net_params=net_params, validation=validation,
                              settings=store.settings, run_dir=folder, warm_start=True,
                              random_state=seed, verbose=1, init=trunk, n_jobs=args.jobs,
                              freeze_conv="frozen" in options).fit(X, Y[:, columns], groups)
            scores = pool_tracks(model.predict_tiles(TileView(store.tiles, valid.rows)),
                                 valid.ranges)
            _append(results, {
                "candidate": candidate, "seed": seed, "epochs": params["epochs"], "genres": names,
                "rate": net_params["rate"], "jobs": args.jobs,
                "trunk_sha256": None if trunk is None else trunk.sha256,
                "valid_macro_auc": round(macro_roc_auc(truth[:, columns], scores), 4),
                "kept_epochs": {g: s["best_epoch"] for g, s in model.summaries_.items()},
                "minutes": round((time.perf_counter() - start) / 60, 1)})


def summary(args):
    rows = list(_done(os.path.join(args.out, "results.jsonl")).values())
    by_candidate = {}
    for row in rows:
        by_candidate.setdefault(row["candidate"], []).append(row)
    print("| candidate | seeds | validation macro ROC-AUC (mean) | per seed | minutes per seed |")
    print("|---|---|---|---|---|")
    for candidate, group in by_candidate.items():
        values = [row["valid_macro_auc"] for row in group]
        print("| {} | {} | {:.3f} | {} | {} |".format(
            candidate, len(group) if group[0]["seed"] is not None else "-", np.mean(values),
            ", ".join("{:.3f}".format(v) for v in values),
            ", ".join(str(row.get("minutes", "-")) for row in group)))


def seed_mean_difference(truth, first, second, n_boot=2000, seed=0):
    """Macro ROC-AUC of ``second`` minus ``first``, each the mean over its seeds, resampling tracks.

    ``first`` and ``second`` are lists of (n, K) track scores, one per seed.
    Returns the point difference and its 95% percentile interval.
    """
    def difference(rows):
        return (np.mean([macro_roc_auc(truth[rows], s[rows]) for s in second])
                - np.mean([macro_roc_auc(truth[rows], s[rows]) for s in first]))

    rng = np.random.RandomState(seed)
    resampled = [difference(rng.randint(len(truth), size=len(truth))) for _ in range(n_boot)]
    low, high = np.nanpercentile(resampled, [2.5, 97.5])
    return difference(np.arange(len(truth))), low, high


def test(args):
    markdown = os.path.join(args.out, "test.md")
    if os.path.exists(markdown):
        # The test tracks are read once: the first reading stands.
        print(open(markdown).read())
        return
    results = os.path.join(args.out, "results.jsonl")
    done = _done(results)
    missing = [(c, s) for c in args.candidates for s in args.seeds if (c, s) not in done]
    if missing:
        raise SystemExit("validation is not finished ({}): test tracks are read after it".format(
            ", ".join("{} seed {}".format(*m) for m in missing)))
    store, genres, sets = track_sets(args.run)
    candidate_trunks = [_trunk(candidate, store.settings) for candidate in args.candidates]
    for candidate, trunk in zip(args.candidates, candidate_trunks):
        _check_same_trunk(done, candidate, trunk, results)
    # Without nets (probes only: --candidates with no value), --genres or all of the run's.
    genres_of_nets = (done[(args.candidates[0], args.seeds[0])]["genres"] if args.candidates
                      else args.genres or genres)
    columns = [genres.index(name) for name in genres_of_nets]
    truth = {split: sets[split].labels[:, columns] for split in ("valid", "test")}
    variants, by_candidate = {}, {}
    for candidate in args.candidates:
        for seed in args.seeds:
            model = import_weights(_folder(args.out, candidate, seed), settings=store.settings,
                                   kind="multilabel" if _is_single(candidate) else "ensemble")
            name = "{} seed {}".format(candidate, seed)
            variants[name] = {
                split: pool_tracks(model.predict_tiles(TileView(store.tiles, sets[split].rows)),
                                   sets[split].ranges) for split in truth}
            by_candidate.setdefault(candidate, []).append(variants[name]["test"])
    for trunk in candidate_trunks + [read_trunk(path) for path in args.probe]:
        if trunk is not None and probe_name(trunk) not in variants:
            probed = linear_probe_scores(trunk, store.tiles, sets)
            variants[probe_name(trunk)] = {split: probed[split][:, columns] for split in truth}
    for name, scores in reference_scores(store.tiles, sets).items():
        variants[name] = {split: scores[split][:, columns] for split in truth}
    lines = [bootstrap_table(variants, truth, genres_of_nets, n_boot=args.n_boot,
                             what=", genres " + ", ".join(genres_of_nets))[1]]
    if len(args.candidates) > 1:
        lines += ["", "Mean over seeds, macro ROC-AUC, paired (each resample scores every seed "
                  "of both):", ""]
        first = args.candidates[0]
        for other in args.candidates[1:]:
            point, low, high = seed_mean_difference(truth["test"], by_candidate[first],
                                                    by_candidate[other], n_boot=args.n_boot)
            lines.append("- {} minus {}: {:+.3f} [{:+.3f}, {:+.3f}]".format(
                other, first, point, low, high))
    text = "\n".join(lines) + "\n"
    write_bytes(markdown, text.encode())
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("speed")
    one.add_argument("--batches", type=int, nargs="+", default=[64])
    one.add_argument("--steps", type=int, default=3)
    one.set_defaults(func=speed)
    two = commands.add_parser("validate")
    two.add_argument("run")
    two.add_argument("--out", required=True)
    two.add_argument("--store", help="prepare RUN from this labelled store first (demo genres)")
    two.add_argument("--candidates", nargs="+", default=["scratch", "pretrained"])
    two.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    two.add_argument("--epochs", type=int, help="default: the demo profile's")
    two.add_argument("--genres", nargs="+", help="train only these specialists (default: all)")
    two.add_argument("--jobs", type=int, default=1,
                     help="specialists trained at once (the same weights for any number)")
    two.add_argument("--probes-only", action="store_true",
                     help="only the linear probes of the candidates' trunks (minutes, not hours)")
    two.set_defaults(func=validate)
    three = commands.add_parser("summary")
    three.add_argument("out")
    three.set_defaults(func=summary)
    four = commands.add_parser("test")
    four.add_argument("run")
    four.add_argument("--out", required=True)
    four.add_argument("--candidates", nargs="*", default=["scratch", "pretrained"],
                      help="the first is the reference of the differences")
    four.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    four.add_argument("--n-boot", type=int, default=1000)
    four.add_argument("--genres", nargs="+", help="without candidates: these genres only")
    four.add_argument("--probe", nargs="+", default=[], metavar="TRUNK",
                      help="trunks whose linear probe is a row too (besides the candidates')")
    four.set_defaults(func=test)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
