"""``make bench``: every speed and memory figure of the package, on this machine."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_ensemble  # noqa: E402
import bench_features  # noqa: E402
import bench_network  # noqa: E402

if __name__ == "__main__":
    bench_network.main([])
    bench_features.main([])
    bench_ensemble.main([])
