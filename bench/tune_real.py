"""How the ``real`` profile's options were chosen: validation-track curves on real music.

Trains the specialists of a prepared run (e.g. the real-music development
set) with the ``demo`` profile plus candidate options beyond the study, and
prints, per candidate and genre, the validation-track ROC-AUC and loss after
every epoch (no early stopping, so the whole curve shows), then one summary
line per candidate: mean over the genres of the best and of the last five
epochs' validation-track AUC, and the kept nets' validation macro ROC-AUC
with tiles scored at the study's hop and at a quarter of it.  Test tracks are
never touched.

    .venv/bin/python bench/tune_real.py RUN --candidates demo hop25 mean hop25+masks

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--candidates", nargs="+", default=["demo"])
    parser.add_argument("--genres", nargs="+", help="default: all of the run's")
    parser.add_argument("--epochs", type=int, help="default: the candidate's")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from sklearn.model_selection import PredefinedSplit
    store, genres, sets = track_sets(args.run)
    names = args.genres or genres
    columns = [genres.index(genre) for genre in names]
    train, valid = sets["train"], sets["valid"]
    Y = np.concatenate([train.tile_labels(), valid.tile_labels()])[:, columns]
    validation = PredefinedSplit(np.repeat([-1, 0], [len(train.rows), len(valid.rows)]))
    base = dict(get_profile("demo").net_params)
    for name in args.candidates:
        params, track_norm = candidate(name, base)
        if args.epochs:
            params["epochs"] = args.epochs
        params["patience"] = params["epochs"]  # the whole curve
        X = fit_view(store, sets, track_norm)
        groups = X.groups
        start = time.perf_counter()
        model = SpecialistEnsemble(names, net_params=params, validation=validation,
                                   settings=store.settings, random_state=args.seed, verbose=1)
        model.fit(X, Y, groups)
        seconds = time.perf_counter() - start
        best, last5 = [], []
        for genre, summary in model.summaries_.items():
            curve = [(row["updates"], row["valid_auc"], round(row["valid_loss"], 4))
                     for row in summary["history"]]
            aucs = [row["valid_auc"] for row in summary["history"]]
            best.append(max(aucs))
            last5.append(float(np.mean(aucs[-5:])))
            print(json.dumps({"candidate": name, "genre": genre, "curve": curve,
                              "best_epoch": summary["best_epoch"]}), flush=True)
        n_train = len(train.rows)
        valid_view = X[np.arange(n_train, len(X))]
        scored = {}
        for hop in (store.settings.n_frames, store.settings.n_frames // 4):
            tiles, rows = hop_view(valid_view, hop)
            scores = track_means(model.predict_tiles(tiles), valid_view.groups[rows])
            truth = track_means(Y[n_train:][rows], valid_view.groups[rows]) > .5
            scored[hop] = macro_roc_auc(truth, scores)
        print(json.dumps({"candidate": name, "params": params, "track_norm": track_norm,
                          "genres": names, "minutes": round(seconds / 60, 1),
                          "mean_best_valid_auc": round(float(np.mean(best)), 4),
                          "mean_last5_valid_auc": round(float(np.mean(last5)), 4),
                          "kept_valid_macro_auc_hop": {str(hop): round(value, 4)
                                                       for hop, value in scored.items()}}),
              flush=True)


if __name__ == "__main__":
    main()
