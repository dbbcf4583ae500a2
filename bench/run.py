"""``make bench``: every speed and memory figure of the package, on this machine.

Each benchmark runs in a process of its own, so peak-memory figures are its own.
The film benchmark needs a trained run (``make train`` writes ``runs/demo``;
``RUN=...`` names another).
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
    run_dir = os.environ.get("RUN", "runs/demo")
    if os.path.exists(os.path.join(run_dir, "experiment.json")):
        subprocess.run([sys.executable, os.path.join(HERE, "bench_film.py"), run_dir], check=True)
    else:
        print("bench_film: no trained run in {} (make train first); skipped".format(run_dir))
