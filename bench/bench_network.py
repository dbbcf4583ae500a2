"""Speed and memory of the study's exact network on this machine (``make bench``).

Prints, in one run: training and inference throughput (tiles/s) at batch
1200 and at the demo profile's batch, the inference throughput of the numpy
engine and of the ONNX Runtime engine (what ``predict`` and ``evaluate``
use) at batch 1200 on the same weights, the share of the machine's float32 GEMM
rate that training reaches (the net's FLOPs counted from its layer shapes),
the peak RSS of a batch-1200 training step (in a process of its own), and the
compile time with a warm and with a cold Theano cache.

``--onnx-layouts`` times the two ways an ensemble of ten specialists can be
put in ONNX: one graph with every specialist side by side, or one graph per
specialist, each in its own session (what ``onnx_export`` chose from).

``--export DIR`` (used by ``make bench-torch``) also writes the net's weights,
a batch of real tiles and the net's outputs on them, and the throughput
figures as JSON, for ``bench_torch.py`` to check and compare against.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (installs the compatibility shims first)
from soundtrack_cnn.training.network import build_net
from soundtrack_cnn.experiment.profiles import PROFILES
from timing import tiles_per_second

BATCH = 1200


def gemm_gflops(n=1200, repeats=5):
    """float32 GEMM GFLOPS through Theano's own compiled Gemm (same BLAS as the net)."""
    import theano
    import theano.tensor as T
    a, b = T.fmatrix(), T.fmatrix()
    product = theano.function([a, b], T.dot(a, b))
    x = np.random.rand(n, n).astype(np.float32)
    product(x, x)
    start = time.perf_counter()
    for _ in range(repeats):
        product(x, x)
    return 2.0 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def tile_flops(net):
    """Multiply-adds x 2 per tile of an initialized net's convolutions and dense layers.

    Returns
    -------
    forward, training : float
        FLOPs of the forward pass, and of forward + backward (the gradients of
        every layer's weights, and of its input for every layer but the first).
    """
    from lasagne import layers
    forward = training = 0.0
    first = True
    for layer in net.layers_.values():
        if isinstance(layer, layers.Conv2DLayer):
            n_out, n_in, height, width = layer.W.get_value().shape
            flops = 2.0 * np.prod(layer.output_shape[1:]) * n_in * height * width
        elif isinstance(layer, layers.DenseLayer):
            flops = 2.0 * np.prod(layer.W.get_value().shape)
        else:
            continue
        forward += flops
        training += flops * (2 if first else 3)
        first = False
    return forward, training


def _tiles(batch, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randn(batch, 1, 40, 100).astype(np.float32),
            (rng.rand(batch, 1) > .5).astype(np.float32))


def throughput(net, batch, repeats):
    """Median training and inference tiles/s over ``repeats`` timed steps (after a warm-up)."""
    X, y = _tiles(batch)
    return (tiles_per_second(lambda: net.train_iter_(X, y), batch, repeats),
            tiles_per_second(lambda: net.predict_iter_(X), batch, repeats))


def numpy_throughput(net, batch, repeats):
    """Median tiles/s of the numpy engine (the package's default for inference), same weights."""
    from soundtrack_cnn.inference.numpy_net import NumpyNet
    numpy_net = NumpyNet(net.get_all_params_values())
    X, _ = _tiles(batch)
    return tiles_per_second(lambda: numpy_net.predict(X), batch, repeats)


def _onnx_metadata(genres, n_outputs=1):
    """A model description for the graph builder: identity normalisation."""
    from soundtrack_cnn.audio.features import FeatureSettings
    return {"kind": "ensemble" if n_outputs == 1 else "multilabel", "genres": list(genres),
            "feature_settings": FeatureSettings().to_dict(),
            "normalizer": {"mean": [0.0] * 40, "std": [1.0] * 40}}


def onnx_throughput(net, batch, repeats, n_jobs=-1):
    """Median tiles/s of the ONNX Runtime engine on the same weights, or None without it."""
    from soundtrack_cnn.inference.onnx_engine import OnnxEnsemble, available
    if not available():
        return None
    model = OnnxEnsemble.from_weights(_onnx_metadata(["net"]),
                                      {"net": net.get_all_params_values()}, n_jobs=n_jobs)
    X, _ = _tiles(batch)
    return tiles_per_second(lambda: model.predict_tiles(X), batch, repeats)


def onnx_layouts(net, batch, repeats, specialists=10):
    """Ensemble tiles/s: one graph of ``specialists`` nets vs one session per specialist."""
    from soundtrack_cnn.inference.onnx_engine import OnnxEnsemble
    genres = ["g{}".format(i) for i in range(specialists)]
    params = net.get_all_params_values()
    one = OnnxEnsemble.from_weights(_onnx_metadata(genres), {g: params for g in genres})
    each = [OnnxEnsemble.from_weights(_onnx_metadata([g]), {g: params}) for g in genres]
    X, _ = _tiles(batch)
    figures = {}
    for _ in range(2):  # interleaved, so both see the same machine load
        figures.setdefault("one graph", []).append(
            tiles_per_second(lambda: one.predict_tiles(X), batch, repeats))
        figures.setdefault("one per specialist", []).append(tiles_per_second(
            lambda: np.hstack([model.predict_tiles(X) for model in each]), batch, repeats))
    return {layout: max(values) for layout, values in figures.items()}


def compile_net(batch):
    net = build_net(batch=batch)
    start = time.perf_counter()
    net.initialize()
    return net, time.perf_counter() - start


def _child(mode):
    """Run this file in a fresh process; return the figure it prints last."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if mode == "compile-cold":
            env["SOUNDTRACK_CNN_CACHE"] = cache
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode],
                             env=env, check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def export(net, folder):
    """Weights, real tiles and the net's outputs on them, for ``bench_torch.py``."""
    import csv
    from soundtrack_cnn.collection.corpus import generate_corpus
    from soundtrack_cnn.audio.features import FeatureSettings, audio_to_tiles
    manifest = generate_corpus(os.path.join(folder, "corpus"), size="small", n_tracks=6,
                               n_jobs=1, progress=False)
    with open(manifest) as handle:
        paths = [os.path.join(os.path.dirname(manifest), row["path"])
                 for row in csv.DictReader(handle)]
    # Overlapping tiles (a quarter-tile hop) for a batch of 64 from a few short tracks.
    tiles = np.concatenate([audio_to_tiles(path, FeatureSettings(hop=25)) for path in paths])[:64]
    # Standardised as the package feeds its nets, so outputs are not saturated.
    tiles = ((tiles - tiles.mean()) / tiles.std()).astype(np.float32)
    weights = {"{}.{}".format(name, i): value
               for name, values in net.get_all_params_values().items()
               for i, value in enumerate(values)}
    np.savez(os.path.join(folder, "theano.npz"), tiles=tiles,
             outputs=net.predict_proba(tiles), **weights)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per figure")
    parser.add_argument("--export", metavar="DIR",
                        help="also write weights, tiles and figures for bench_torch.py")
    parser.add_argument("--onnx-layouts", action="store_true",
                        help="only time one ONNX graph of 10 specialists against 10 graphs")
    parser.add_argument("--child", choices=["rss", "compile-cold", "compile-warm"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "rss":
        net, _ = compile_net(BATCH)
        X, y = _tiles(BATCH)
        net.train_iter_(X, y)
        net.train_iter_(X, y)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        return
    if args.child:
        print(compile_net(BATCH)[1])
        return

    if args.onnx_layouts:
        net, _ = compile_net(BATCH)
        for layout, figure in onnx_layouts(net, BATCH, args.repeats).items():
            print("network  ten specialists at batch {}, ONNX Runtime, {}: {:.0f} tiles/s".format(
                BATCH, layout, figure))
        return

    import theano
    demo_batch = PROFILES["demo"].net_params["batch"]
    figures = {"batch": BATCH, "demo_batch": demo_batch}
    net, _ = compile_net(BATCH)
    figures["train"], figures["predict"] = throughput(net, BATCH, args.repeats)
    figures["predict_numpy"] = numpy_throughput(net, BATCH, args.repeats)
    figures["predict_onnx"] = onnx_throughput(net, BATCH, args.repeats)
    small, _ = compile_net(demo_batch)
    figures["train_demo"], figures["predict_demo"] = throughput(small, demo_batch, args.repeats * 4)
    forward, training = tile_flops(net)
    figures["gemm_gflops"] = gemm_gflops()
    figures["peak_rss_mb"] = _child("rss")
    figures["compile_warm_s"] = _child("compile-warm")
    figures["compile_cold_s"] = _child("compile-cold")
    share = figures["train"] * training / 1e9 / figures["gemm_gflops"]

    print("network  BLAS: {}".format(theano.config.blas.ldflags))
    print("network  openmp={} cxxflags={!r} SOUNDTRACK_CNN_FAST={}".format(
        theano.config.openmp, theano.config.gcc.cxxflags, os.environ.get("SOUNDTRACK_CNN_FAST", "1")))
    print("network  cost per tile: {:.0f} MFLOP forward, {:.0f} MFLOP training (fwd+bwd)".format(
        forward / 1e6, training / 1e6))
    for batch, suffix in ((BATCH, ""), (demo_batch, "_demo")):
        print("network  batch {:>4}: training {:6.0f} tiles/s, inference {:6.0f} tiles/s".format(
            batch, figures["train" + suffix], figures["predict" + suffix]))
    print("network  batch {:>4}: inference on the numpy engine {:6.0f} tiles/s".format(
        BATCH, figures["predict_numpy"]))
    if figures["predict_onnx"] is None:
        print("network  batch {:>4}: inference on the ONNX Runtime engine: onnxruntime is not "
              "installed".format(BATCH))
    else:
        print("network  batch {:>4}: inference on the ONNX Runtime engine {:6.0f} tiles/s".format(
            BATCH, figures["predict_onnx"]))
    print("network  float32 GEMM (1200x1200): {:.1f} GFLOPS; training at batch {} reaches "
          "{:.1f} GFLOPS = {:.0%} of it".format(figures["gemm_gflops"], BATCH,
                                                figures["train"] * training / 1e9, share))
    print("network  peak RSS of a batch-{} training step (own process): {:.0f} MB".format(
        BATCH, figures["peak_rss_mb"]))
    print("network  compile: {:.1f} s warm cache, {:.1f} s cold cache".format(
        figures["compile_warm_s"], figures["compile_cold_s"]))
    if args.export:
        os.makedirs(args.export, exist_ok=True)
        export(net, args.export)
        with open(os.path.join(args.export, "theano.json"), "w") as handle:
            json.dump(figures, handle)
    return figures


if __name__ == "__main__":
    main()
