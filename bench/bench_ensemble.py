"""Training and prediction cost of the ensemble (``make bench``).

* one specialist epoch on 10 h of tiles (3,600 tiles at the study's hop),
  read lazily from a memory-mapped file as the feature store does: time and
  peak RSS;
* latency of ``predict_tracks`` for one 3-minute track with ten specialists,
  in a fresh process, with a cold and with a warm Theano compile cache.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from sklearn.model_selection import PredefinedSplit

from soundtrack_cnn.training.ensemble import SpecialistEnsemble
from soundtrack_cnn.audio.features import FeatureSettings

GENRES = ["Drama", "Action", "Adventure", "SciFi", "Thriller", "Romance", "Comedy", "Musical",
          "Crime", "Horror"]


def _memmapped_tiles(folder, n_tiles):
    path = os.path.join(folder, "tiles.npy")
    tiles = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                      shape=(n_tiles, 1, 40, 100))
    rng = np.random.RandomState(0)
    for start in range(0, n_tiles, 1000):
        stop = min(start + 1000, n_tiles)
        tiles[start:stop] = rng.randn(stop - start, 1, 40, 100)
    tiles.flush()
    return np.load(path, mmap_mode="r")


def specialist_epoch(hours=10.0):
    """Seconds and peak RSS (MB) for one study-hyperparameter specialist epoch."""
    n_tiles = int(hours * 360)
    with tempfile.TemporaryDirectory() as folder:
        tiles = _memmapped_tiles(folder, n_tiles)
        rng = np.random.RandomState(1)
        Y = (rng.rand(n_tiles, 1) > 0.5).astype(np.int8)
        valid = np.arange(n_tiles) >= int(0.85 * n_tiles)
        start = time.perf_counter()
        SpecialistEnsemble(["Drama"], net_params={"epochs": 1},
                           validation=PredefinedSplit(np.where(valid, 0, -1))).fit(tiles, Y)
        seconds = time.perf_counter() - start
    return seconds, n_tiles, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_PREDICT = """
import sys, time
start = time.perf_counter()
import soundtrack_cnn
from soundtrack_cnn.training.loading import load_run
model = load_run(sys.argv[1])
prediction = model.predict_tracks([sys.argv[2]])[0]
assert prediction.error is None, prediction.error
print(time.perf_counter() - start)
"""


def predict_latency(folder):
    """Seconds to load ten specialists and score a 3-minute track, cold and warm cache."""
    import soundfile
    run_dir = os.path.join(folder, "run")
    rng = np.random.RandomState(2)
    tiles = rng.randn(40, 1, 40, 100).astype(np.float32)
    Y = rng.rand(40, len(GENRES)) > 0.5
    valid = np.arange(40) >= 30
    SpecialistEnsemble(GENRES, run_dir=run_dir, settings=FeatureSettings(),
                       validation=PredefinedSplit(np.where(valid, 0, -1)),
                       net_params={"epochs": 1, "batch": 40}).fit(tiles, Y)
    track = os.path.join(folder, "track.wav")
    sr = 22050
    t = np.arange(180 * sr) / sr
    soundfile.write(track, (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.randn(len(t))), sr)
    figures = {}
    for cache in ("cold", "warm"):
        env = dict(os.environ)
        if cache == "cold":
            env["SOUNDTRACK_CNN_CACHE"] = os.path.join(folder, "empty-cache")
        out = subprocess.run([sys.executable, "-c", _PREDICT, run_dir, track], env=env,
                             check=True, capture_output=True, text=True).stdout
        figures[cache] = float(out.split()[-1])
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=10.0)
    args = parser.parse_args(argv)
    seconds, n_tiles, peak = specialist_epoch(args.hours)
    print("ensemble one specialist epoch, {:.0f} h = {} tiles: {:.1f} s ({:.0f} tiles/s), "
          "peak RSS {:.0f} MB".format(args.hours, n_tiles, seconds, n_tiles / seconds, peak))
    with tempfile.TemporaryDirectory() as folder:
        latency = predict_latency(folder)
    print("ensemble predict one 3-min track, 10 specialists, fresh process: "
          "cold cache {cold:.1f} s, warm cache {warm:.1f} s".format(**latency))


if __name__ == "__main__":
    main()
