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
        --candidates scratch pretrained runs/x/trunk.npz --seeds 0 1 2 [--epochs 8]

A candidate is ``scratch`` (the demo profile as it is), ``pretrained`` (the
shipped trunk), ``random`` (the untrained net's trunk: the probe's control),
or the path of a trunk; ``+frozen`` after a trunk keeps its conv blocks fixed.
The classical baseline (MFCC mean+std + logistic regression) is scored on the
validation tracks once.  For each trunk the linear probe (its embeddings per track
+ logistic regression, fitted on the training tracks) is scored on the
validation tracks too.  ``summary`` prints the table of OUT's results.
"""
import argparse
import json
import os
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.beyond.baseline import classical_baseline_scores
from soundtrack_cnn.experiment.pipeline import prepare_run
from soundtrack_cnn.experiment.profiles import get_profile
from soundtrack_cnn.experiment.tracksets import fit_data, track_sets
from soundtrack_cnn.beyond.probe import linear_probe_scores
from soundtrack_cnn.scoring.metrics import macro_roc_auc
from soundtrack_cnn.scoring.pooling import pool_tracks
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.training.ensemble import SpecialistEnsemble
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
        trunk_name, _, option = candidate.partition("+")
        trunk = (None if trunk_name == "scratch" else random_trunk(store.settings)
                 if trunk_name == "random" else read_trunk(trunk_name))
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
            folder = os.path.join(args.out, "{}-seed{}".format(
                os.path.basename(candidate).replace(".npz", ""), seed))
            start = time.perf_counter()
            model = SpecialistEnsemble(names, net_params=params, validation=validation,
                                       settings=store.settings, run_dir=folder, warm_start=True,
                                       random_state=seed, verbose=1,
                                       init=trunk,
                                       freeze_conv=option == "frozen").fit(X, Y[:, columns],
                                                                           groups)
            scores = pool_tracks(model.predict_tiles(TileView(store.tiles, valid.rows)),
                                 valid.ranges)
            _append(results, {
                "candidate": candidate, "seed": seed, "epochs": params["epochs"], "genres": names,
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
    two.add_argument("--probes-only", action="store_true",
                     help="only the linear probes of the candidates' trunks (minutes, not hours)")
    two.set_defaults(func=validate)
    three = commands.add_parser("summary")
    three.add_argument("out")
    three.set_defaults(func=summary)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
