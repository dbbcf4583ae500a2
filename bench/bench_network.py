"""Speed of the study's exact network on this machine (``make bench``).

Prints training and inference throughput (tiles/s) at batch 1200, the compile
time, and float32 GEMM GFLOPS of the BLAS Theano links against, so the net's
speed can be read as a share of what the machine can do.
"""
import argparse
import time

import numpy as np

import soundtrack_cnn  # noqa: F401  (installs the compatibility shims first)
from soundtrack_cnn.network import build_net


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


def network_throughput(batch=1200, batches=4):
    """Compile the study's net and time its training and inference steps.

    Returns
    -------
    figures : dict
        ``compile_s``, ``train_tiles_per_s``, ``predict_tiles_per_s``.
    """
    net = build_net(batch=batch)
    start = time.perf_counter()
    net.initialize()
    compile_s = time.perf_counter() - start
    rng = np.random.RandomState(0)
    X = rng.rand(batch, 1, 40, 100).astype(np.float32)
    y = (rng.rand(batch, 1) > .5).astype(np.float32)
    net.train_iter_(X, y)  # first call allocates buffers
    start = time.perf_counter()
    for _ in range(batches):
        net.train_iter_(X, y)
    train = batch * batches / (time.perf_counter() - start)
    net.predict_iter_(X)
    start = time.perf_counter()
    for _ in range(batches):
        net.predict_iter_(X)
    predict = batch * batches / (time.perf_counter() - start)
    return dict(compile_s=compile_s, train_tiles_per_s=train, predict_tiles_per_s=predict)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=1200)
    parser.add_argument("--batches", type=int, default=4)
    args = parser.parse_args(argv)
    import theano
    figures = network_throughput(args.batch, args.batches)
    print("network  BLAS: {}".format(theano.config.blas.ldflags))
    print("network  openmp={} cxxflags={!r}".format(theano.config.openmp, theano.config.gcc.cxxflags))
    print("network  compile (warm cache): {compile_s:.1f} s".format(**figures))
    print("network  training at batch {}: {:.0f} tiles/s".format(args.batch, figures["train_tiles_per_s"]))
    print("network  inference at batch {}: {:.0f} tiles/s".format(args.batch, figures["predict_tiles_per_s"]))
    print("network  float32 GEMM (1200x1200): {:.1f} GFLOPS".format(gemm_gflops()))
    return figures


if __name__ == "__main__":
    main()
