"""``make bench``: every speed and memory figure of the package, on this machine.

Each benchmark runs in a process of its own, so peak-memory figures are its own.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    for name in ("bench_network", "bench_features", "bench_ensemble", "bench_engine",
                 "bench_imdb"):
        subprocess.run([sys.executable, os.path.join(HERE, name + ".py")],
                       check=True)
