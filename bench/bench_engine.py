"""The inference engines (``make bench``): start-up, throughput, memory, a collection.

* ``soundtrack-cnn predict RUN track.ogg --engine E`` in a fresh process, one
  3-minute 44.1 kHz stereo Ogg/Vorbis track, ten specialists, warm OS file
  cache, for the numpy and the ONNX Runtime engines: wall time of the whole
  command (interpreter start, imports, weights, decoding, resampling, MFCCs,
  scoring).  Target: <= 1 s.
* tiles/s of the numpy and ONNX Runtime engines at batch 1200 against
  Theano's compiled inference function on the same weights, in the same
  process.
* peak RSS of ``soundtrack-cnn predict RUN film.flac --timeline DIR`` on a
  2-hour 44.1 kHz stereo file, in a fresh process, default engine.
  Target: <= 400 MB.
* ``--folder DIR`` (e.g. the demo corpus, 200 tracks): ``predict RUN DIR``
  into a fresh CSV: wall time, tracks/s, and the decoding and scoring rates
  that overlapped (the command's own summary line).

The ten specialists are trained for one epoch on random tiles (their weights'
values do not change the cost of inference).

``--compare-run RUN`` also scores the test tracks of a trained run (e.g.
``runs/demo``) on both engines and prints whether every track's full genre
ranking is the same, with the largest score difference.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from timing import command_peak_rss, tiles_per_second

GENRES = ["Drama", "Action", "Adventure", "SciFi", "Thriller", "Romance", "Comedy", "Musical",
          "Crime", "Horror"]



def ten_specialists(run_dir):
    """A run folder with ten one-epoch specialists (and their weights-ensemble.npz)."""
    from soundtrack_cnn.training.ensemble import SpecialistEnsemble
    from soundtrack_cnn.audio.features import FeatureSettings
    rng = np.random.RandomState(2)
    tiles = rng.randn(40, 1, 40, 100).astype(np.float32)
    Y = rng.rand(40, len(GENRES)) > 0.5
    valid = np.arange(40) >= 30
    return SpecialistEnsemble(GENRES, run_dir=run_dir, settings=FeatureSettings(),
                              net_params={"epochs": 1, "batch": 40}).fit(tiles, Y, valid)


def write_track(path, seconds, sr=44100):
    """A stereo sweep with a little noise, written a minute at a time."""
    import soundfile
    rng = np.random.RandomState(0)
    t = np.arange(60 * sr) / sr
    mono = 0.3 * np.sin(2 * np.pi * (220 + 110 * np.sin(2 * np.pi * t / 37)) * t)
    minute = np.stack([mono, 0.8 * mono], axis=1) + 0.01 * rng.randn(len(t), 2)
    subtype = "PCM_16" if path.endswith(".flac") else None
    with soundfile.SoundFile(path, "w", sr, 2, subtype=subtype) as out:
        left = int(seconds * sr)
        while left > 0:
            # Vorbis: libsndfile's encoder crashes on very large writes, so 1 s at a time.
            for start in range(0, min(left, len(minute)), sr):
                out.write(minute[start:min(start + sr, left)].astype(np.float32))
            left -= len(minute)
    return path


def predict_wall_time(run_dir, track, engine, repeats=5):
    """Median and best wall seconds, and median CPU seconds, of a fresh ``predict``.

    One warm-up run first fills the OS file cache.  CPU seconds (user + system
    of the child) do not depend on what else the machine is running.
    """
    command = [sys.executable, "-m", "soundtrack_cnn", "predict", run_dir, track,
               "--engine", engine]
    subprocess.run(command, check=True, capture_output=True)  # warm the OS file cache
    times, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(times), min(times), statistics.median(cpu)


def throughput(model, batch=1200, repeats=3):
    """tiles/s at ``batch`` of one specialist: numpy, ONNX Runtime and Theano, same weights."""
    from soundtrack_cnn.inference.numpy_net import NumpyNet
    from soundtrack_cnn.inference.onnx_engine import OnnxEnsemble
    from soundtrack_cnn.training.checkpoint import model_metadata
    net = model.models_[GENRES[0]]
    numpy_net = NumpyNet(net.get_all_params_values())
    metadata = dict(model_metadata(model), genres=GENRES[:1])
    onnx_model = OnnxEnsemble.from_weights(metadata, {GENRES[0]: net.get_all_params_values()})
    X = np.random.RandomState(0).randn(batch, 1, 40, 100).astype(np.float32)
    normalised = model.normalizer_.transform(X)  # the graph normalises; the nets do not
    runs = (("numpy", lambda: numpy_net.predict(normalised)),
            ("onnx", lambda: onnx_model.predict_tiles(X)),
            ("theano", lambda: net.predict_iter_(normalised)))
    figures = {name: tiles_per_second(run, batch, repeats) for name, run in runs}
    expected = net.predict_iter_(normalised)
    differences = {"numpy": float(np.abs(numpy_net.predict(normalised) - expected).max()),
                   "onnx": float(np.abs(onnx_model.predict_tiles(X)[:, :1] - expected).max())}
    return figures, differences


def long_file_peak_rss(run_dir, film, out):
    """Peak RSS (MB) and wall seconds of predicting a long file with --timeline."""
    seconds, peak, _ = command_peak_rss("predict", run_dir, film, "--timeline", out)
    return peak, seconds


def tag_folder(run_dir, folder, out):
    """Wall seconds, files, and the summary line of ``predict RUN FOLDER`` into a fresh CSV."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "soundtrack_cnn", "predict", run_dir, folder,
                             "--csv", out], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(out, "rb") as stream:
        files = stream.read().count(b"\n") - 1
    return seconds, files, result.stdout.strip().splitlines()[-1]


def compare_engines(run_dir):
    """Rank the test tracks of a trained run on the three engines.

    Returns
    -------
    n_tracks, n_identical, max_difference : int, int, float
    """
    from soundtrack_cnn.training.dataset import TileView
    from soundtrack_cnn.scoring.pooling import pool_tracks
    from soundtrack_cnn.inference.model import load_model
    from soundtrack_cnn.experiment.tracksets import track_sets
    store, _, sets = track_sets(run_dir)
    test = sets["test"]
    scores = {}
    for engine in ("theano", "numpy", "onnx"):
        model = load_model(run_dir, settings=store.settings, engine=engine)
        scores[engine] = pool_tracks(model.predict_tiles(TileView(store.tiles, test.rows)),
                                          test.ranges)
    orders = {engine: np.argsort(-values, axis=1, kind="stable")
              for engine, values in scores.items()}
    identical = {engine: int((orders["theano"] == orders[engine]).all(axis=1).sum())
                 for engine in ("numpy", "onnx")}
    differences = {engine: float(np.abs(scores["theano"] - scores[engine]).max())
                   for engine in ("numpy", "onnx")}
    return len(test.ranges), identical, differences


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=2.0, help="length of the long file")
    parser.add_argument("--compare-run", metavar="RUN",
                        help="also rank RUN's test tracks on the three engines")
    parser.add_argument("--folder", metavar="DIR",
                        help="also tag this folder with RUN (--compare-run) or the ten specialists")
    parser.add_argument("--skip-film", action="store_true", help="no 2-hour file")
    args = parser.parse_args(argv)
    if args.compare_run:
        n_tracks, identical, differences = compare_engines(args.compare_run)
        for engine in ("numpy", "onnx"):
            print("engine {} vs theano on the test tracks of {}: {} of {} full rankings "
                  "identical, max |score difference| {:.1e}".format(
                      engine, args.compare_run, identical[engine], n_tracks, differences[engine]))
    with tempfile.TemporaryDirectory() as folder:
        run_dir = os.path.join(folder, "run")
        model = ten_specialists(run_dir)
        track = write_track(os.path.join(folder, "track.ogg"), 180)
        for engine in ("numpy", "onnx"):
            load = os.getloadavg()[0]
            median, best, cpu = predict_wall_time(run_dir, track, engine)
            print("engine predict one 3-min OGG, 10 specialists, fresh process, {} engine: "
                  "median {:.2f} s (best {:.2f} s; target <= 1 s), CPU {:.2f} s, on {} cores at "
                  "load average {:.1f}".format(engine, median, best, cpu, os.cpu_count(), load))
        figures, differences = throughput(model)
        print("engine inference at batch 1200, one specialist: numpy {numpy:.0f} tiles/s, "
              "ONNX Runtime {onnx:.0f} tiles/s, theano {theano:.0f} tiles/s".format(**figures)
              + " (ONNX Runtime / numpy {:.2f}; max |difference| from Theano: numpy {:.1e}, "
                "ONNX Runtime {:.1e})".format(figures["onnx"] / figures["numpy"],
                                              differences["numpy"], differences["onnx"]))
        if args.folder:
            seconds, files, line = tag_folder(args.compare_run or run_dir, args.folder,
                                              os.path.join(folder, "tags.csv"))
            print("engine tag a folder of {} files: {:.0f} s, {:.2f} files/s ({})".format(
                files, seconds, files / seconds, line))
        if args.skip_film:
            return
        film = write_track(os.path.join(folder, "film.flac"), args.hours * 3600)
        peak, seconds = long_file_peak_rss(run_dir, film, os.path.join(folder, "timeline"))
        print("engine predict a {:.1f} h FLAC (44.1 kHz stereo) with --timeline: peak RSS "
              "{:.0f} MB (target <= 400 MB), {:.0f} s".format(args.hours, peak, seconds))


if __name__ == "__main__":
    main()
