"""Wall time of training a run's specialists in one process vs. on a Dask LocalCluster.

Usage::

    python bench/bench_dask.py RUN [--workers 2] [--genres N]

``RUN`` is a prepared run folder (``experiment.json`` and its feature store,
e.g. ``runs/demo`` after ``make train``); nothing is written into it: each
mode trains the ensemble, with the run's profile, into a temporary folder.
Every process first compiles the net once (a one-epoch fit on a few tiles),
so the times compare training, not Theano's compile cache.  Both modes must
give the same predictions (checked).
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

# Nothing here imports Theano at module level: LocalCluster's worker processes
# re-import this script, and must load Theano only after the worker plugin
# has given each of them its own compile cache.
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.experiment.tracksets import fit_data, read_experiment_json, track_sets


def _data(run_dir):
    store, genres, sets = track_sets(run_dir)
    return (store, genres) + fit_data(store, sets)


def _warm_up(store, X, Y, groups, params, client=None):
    """One epoch on 128 tiles: compiles (or loads) the net's Theano code in every process."""
    from soundtrack_cnn.training.ensemble import train_net
    from soundtrack_cnn.audio.features import Normalizer
    from soundtrack_cnn.training.network import STUDY_HYPERPARAMETERS
    rows = X.indices[:128]
    valid = np.arange(128) >= 96
    hyper = dict(STUDY_HYPERPARAMETERS, **dict(params, epochs=1))
    args = (store.path, rows, Y[:128, :1], valid, groups[:128], "warm-up", 0, hyper,
            Normalizer().fit(TileView(store.tiles, rows)))
    if client is None:
        train_net(*args)
        return
    workers = list(client.scheduler_info(n_workers=-1)["workers"])
    client.gather([client.submit(train_net, *args, workers=[w], pure=False) for w in workers])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--genres", type=int, help="only the first N genres")
    args = parser.parse_args()
    import distributed
    from soundtrack_cnn.parallel.cluster import connect
    from soundtrack_cnn.training.ensemble import SpecialistEnsemble
    record = read_experiment_json(args.run)
    params = record["profile"]["net_params"]
    store, genres, X, Y, groups, validation = _data(args.run)
    if args.genres:
        genres, Y = genres[:args.genres], Y[:, :args.genres]
    print("{} specialists, {} training+validation tiles, profile {} {}; {} cores, load {}".format(
        len(genres), len(X), record["profile"]["name"], params, os.cpu_count(),
        "%.1f %.1f %.1f" % os.getloadavg()), flush=True)
    results = {}
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        connect(client)  # each worker's own compile cache, before the warm-up imports Theano
        for mode, where in (("sequential (this process)", None),
                            ("LocalCluster {} x 1 thread".format(args.workers), client)):
            _warm_up(store, X, Y, groups, params, where)
            with tempfile.TemporaryDirectory() as run_dir:
                start = time.perf_counter()
                model = SpecialistEnsemble(genres, net_params=params, validation=validation,
                                           settings=store.settings, run_dir=run_dir,
                                           random_state=record["seed"], client=where)
                model.fit(X, Y, groups)
                seconds = time.perf_counter() - start
            results[mode] = (seconds, model.predict_proba(X[:256]))
            # The unit for sizing a cluster: one tile through one epoch (training
            # pass plus the validation pass), on one worker.
            tile_epochs = len(X) * sum(s["epochs_run"] for s in model.summaries_.values())
            workers = 1 if where is None else args.workers
            print("{}: {:.0f} s for {} specialists ({:.1f} s each; {} epochs in all; "
                  "{:.0f} tile-epochs/s per worker; load {})".format(
                      mode, seconds, len(genres), seconds / len(genres),
                      tile_epochs // len(X), tile_epochs / seconds / workers,
                      "%.1f %.1f %.1f" % os.getloadavg()), flush=True)
    (a, scores_a), (b, scores_b) = results.values()
    # Bit-identical only if both sides run the same number of OpenMP threads
    # (OMP_NUM_THREADS): Theano's OpenMP convolution gradient sums per thread.
    print("speed-up {:.2f}x; identical predictions: {} (max |difference| {:.2g}; "
          "OMP_NUM_THREADS here: {})".format(
              a / b, bool(np.array_equal(scores_a, scores_b)),
              float(np.abs(scores_a - scores_b).max()),
              os.environ.get("OMP_NUM_THREADS", "unset")), flush=True)


if __name__ == "__main__":
    sys.exit(main())
