"""How options beyond the study were measured on real music: validation-track curves.

Trains the specialists of a prepared run (e.g. the real-music development
set) with the ``demo`` profile plus candidate options beyond the study, and
prints, per candidate and genre, the validation-track ROC-AUC and loss after
every epoch (no early stopping, so the whole curve shows), then one summary
line per candidate: mean over the genres of the best and of the last five
epochs' validation-track AUC, and the kept nets' validation macro ROC-AUC
with tiles scored at the study's hop and at a quarter of it.  Test tracks are
never touched.

    .venv/bin/python studies/tune_real.py RUN --candidates demo hop25 mean hop25+masks
    .venv/bin/python studies/tune_real.py RUN --candidates hop25 --seeds 0 1 2

With several ``--seeds`` each candidate is trained once per seed and the
summary adds the kept nets' validation macro ROC-AUC per seed and that of the
mean of the seeds' scores (an ensemble over seeds).

A candidate is a name of :data:`CANDIDATES` or several joined by ``+``.
RUN is a prepared run folder (only its store, genres and splits are used);
per-track normalisation is applied here to the stored tiles, track by track,
exactly as extraction with ``FeatureSettings(track_norm=...)`` would.
"""
import argparse
import json
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.audio.features import FeatureSettings, normalise_track
from soundtrack_cnn.experiment.profiles import get_profile
from soundtrack_cnn.experiment.tracksets import track_sets
from soundtrack_cnn.scoring.metrics import macro_roc_auc
from soundtrack_cnn.scoring.pooling import pool_tracks, track_ranges
from soundtrack_cnn.training.dataset import TileView, hop_view
from soundtrack_cnn.training.ensemble import SpecialistEnsemble

#: Options beyond the demo profile: (augmentation, net_params, track_norm).
CANDIDATES = {
    "demo": ({}, {}, "none"),
    "hop25": ({"hop": 25}, {}, "none"),
    "shift": ({"hop": 1}, {}, "none"),
    "masks": ({"time_mask": 20, "coef_mask": 6}, {}, "none"),
    "mixup": ({"mixup": 0.4}, {}, "none"),
    "gain": ({"gain_db": 6.0}, {}, "none"),
    "mean": ({}, {}, "mean"),
    "meanvar": ({}, {}, "meanvar"),
    "e40": ({}, {"epochs": 40}, "none"),
}


def track_means(values, groups):
    """Mean row of ``values`` per track (the package's pooling), tracks in sorted order."""
    order = np.argsort(groups, kind="stable")
    return pool_tracks(np.asarray(values)[order], track_ranges(np.asarray(groups)[order]))


def candidate(name, base):
    """net_params and track_norm of ``name`` (``a+b`` combines candidates)."""
    augment, params, track_norm = {}, dict(base), "none"
    for part in name.split("+"):
        more_augment, more_params, norm = CANDIDATES[part]
        augment.update(more_augment)
        params.update(more_params)
        track_norm = norm if norm != "none" else track_norm
    if augment:
        params["augment"] = augment
    return params, track_norm


def fit_view(store, sets, track_norm):
    """Train + valid tiles (with their tracks), normalised per track if asked."""
    train, valid = sets["train"], sets["valid"]
    rows = np.concatenate([train.rows, valid.rows])
    groups = np.concatenate([train.tile_groups(), valid.tile_groups()])
    if track_norm == "none":
        return TileView(store.tiles, rows, groups=groups)
    settings = FeatureSettings(track_norm=track_norm)
    tiles = np.concatenate([normalise_track(store.tiles[rows[groups == track]], settings)
                            for track in dict.fromkeys(groups)])
    return TileView(tiles, groups=groups)


def fit_candidate(name, params, track_norm, store, genres, sets, names, seed):
    """Train one candidate with one seed; print its curves; return the model and the fit data."""
    from sklearn.model_selection import PredefinedSplit
    columns = [genres.index(genre) for genre in names]
    train, valid = sets["train"], sets["valid"]
    Y = np.concatenate([train.tile_labels(), valid.tile_labels()])[:, columns]
    validation = PredefinedSplit(np.repeat([-1, 0], [len(train.rows), len(valid.rows)]))
    X = fit_view(store, sets, track_norm)
    model = SpecialistEnsemble(names, net_params=params, validation=validation,
                               settings=store.settings, random_state=seed, verbose=1)
    model.fit(X, Y, X.groups)
    for genre, summary in model.summaries_.items():
        curve = [(row["updates"], row["valid_auc"], round(row["valid_loss"], 4))
                 for row in summary["history"]]
        print(json.dumps({"candidate": name, "seed": seed, "genre": genre, "curve": curve,
                          "best_epoch": summary["best_epoch"]}), flush=True)
    return model, X, Y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--candidates", nargs="+", default=["demo"])
    parser.add_argument("--genres", nargs="+", help="default: all of the run's")
    parser.add_argument("--epochs", type=int, help="default: the candidate's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="train each candidate once per seed; with several, also score "
                             "the mean of their tile scores (an ensemble over seeds)")
    args = parser.parse_args()
    store, genres, sets = track_sets(args.run)
    names = args.genres or genres
    n_train = len(sets["train"].rows)
    base = dict(get_profile("demo").net_params)
    for name in args.candidates:
        params, track_norm = candidate(name, base)
        if args.epochs:
            params["epochs"] = args.epochs
        params["patience"] = params["epochs"]  # the whole curve
        best, last5, scored, seed_scores = [], [], {}, []
        start = time.perf_counter()
        for seed in args.seeds:
            model, X, Y = fit_candidate(name, params, track_norm, store, genres, sets,
                                         names, seed)
            for summary in model.summaries_.values():
                aucs = [row["valid_auc"] for row in summary["history"]]
                best.append(max(aucs))
                last5.append(float(np.mean(aucs[-5:])))
            valid_view = X[np.arange(n_train, len(X))]
            for hop in (store.settings.n_frames, store.settings.n_frames // 4):
                tiles, rows = hop_view(valid_view, hop)
                scores = track_means(model.predict_tiles(tiles), valid_view.groups[rows])
                truth = track_means(Y[n_train:][rows], valid_view.groups[rows]) > .5
                scored.setdefault(hop, []).append(macro_roc_auc(truth, scores))
                if hop == store.settings.n_frames:
                    seed_scores.append(scores)
                    seed_truth = truth
        summary = {"candidate": name, "params": params, "track_norm": track_norm,
                   "genres": names, "seeds": args.seeds,
                   "minutes": round((time.perf_counter() - start) / 60, 1),
                   "mean_best_valid_auc": round(float(np.mean(best)), 4),
                   "mean_last5_valid_auc": round(float(np.mean(last5)), 4),
                   "kept_valid_macro_auc_hop": {str(hop): round(float(np.mean(values)), 4)
                                                for hop, values in scored.items()}}
        if len(args.seeds) > 1:
            # The kept nets of every seed, their track scores averaged: an ensemble over seeds.
            summary["kept_valid_macro_auc_each_seed"] = [
                round(value, 4) for value in scored[store.settings.n_frames]]
            summary["seed_ensemble_valid_macro_auc"] = round(
                macro_roc_auc(seed_truth, np.mean(seed_scores, axis=0)), 4)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
