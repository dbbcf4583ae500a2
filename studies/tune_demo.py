"""How the demo profile's numbers were chosen: validation-track learning curves only.

Trains a few specialists of the demo corpus with candidate settings and
prints, per setting and genre, the validation-track ROC-AUC and loss after
every epoch, with the weight updates so far.  Test tracks are never touched.

    .venv/bin/python studies/tune_demo.py RUN [--genres Comedy Horror Drama] [--epochs 30]

RUN is a prepared demo run folder (``make train`` makes one; only its store,
genres and splits are used).
"""
import argparse
import itertools
import json
import time

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.training.ensemble import SpecialistEnsemble
from soundtrack_cnn.experiment.tracksets import fit_data, track_sets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--genres", nargs="+", default=["Comedy", "Horror", "Drama"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, nargs="+", default=[64])
    parser.add_argument("--rate", type=float, nargs="+", default=[.03])
    parser.add_argument("--shuffle", nargs="+", default=["none", "epoch"])
    args = parser.parse_args()
    store, genres, sets = track_sets(args.run)
    X, Y, groups, validation = fit_data(store, sets)
    columns = [genres.index(genre) for genre in args.genres]
    for batch, rate, shuffle in itertools.product(args.batch, args.rate, args.shuffle):
        params = {"epochs": args.epochs, "batch": batch, "rate": rate, "shuffle": shuffle,
                  "patience": args.epochs, "monitor": "valid_auc"}
        start = time.perf_counter()
        model = SpecialistEnsemble(args.genres, net_params=params, validation=validation,
                                   settings=store.settings).fit(X, Y[:, columns], groups)
        seconds = time.perf_counter() - start
        for genre, summary in model.summaries_.items():
            curve = [(row["updates"], row["valid_auc"], round(row["valid_loss"], 4))
                     for row in summary["history"]]
            print(json.dumps({"batch": batch, "rate": rate, "shuffle": shuffle, "genre": genre,
                              "seconds_all_genres": round(seconds, 1), "curve": curve}),
                  flush=True)


if __name__ == "__main__":
    main()
