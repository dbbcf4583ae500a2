"""Reading IMDb's title.basics.tsv.gz: rows per second and peak memory.

Generates a basics file of IMDb's size (``ROWS``, default 11 million rows, a
fifth of them movies, written with gzip level 1) in a temporary folder, then
reads it in a fresh process looking up 300 names, as ``soundtrack-cnn label``
does for a shelf of 300 films.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from soundtrack_cnn.labelling.imdb import BASICS_COLUMNS  # noqa: E402

ROWS = int(os.environ.get("ROWS", 11000000))
KINDS = ("tvEpisode", "tvEpisode", "tvEpisode", "short", "movie")

_READ = """
import json, resource, sys, time
from soundtrack_cnn.labelling.imdb import find_titles, normalise_title
rows = int(sys.argv[2])
# 300 movies (every fifth row is one) spread over the whole file.
keys = {normalise_title("Title number {}".format(i)) for i in range(4, rows, rows // 300 // 5 * 5)}
start = time.perf_counter()
by_key, _ = find_titles(sys.argv[1], keys=keys)
print(json.dumps({"seconds": time.perf_counter() - start, "found": len(by_key),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "title.basics.tsv.gz")
        start = time.perf_counter()
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1, newline="\n") as stream:
            stream.write("\t".join(BASICS_COLUMNS) + "\n")
            for block in range(0, ROWS, 10000):
                stream.write("".join(
                    "tt{:08d}\t{}\tTitle number {}\tTítulo número {}\t0\t{}\t\\N\t90\tDrama\n"
                    .format(i, KINDS[i % 5], i, i, 1950 + i % 70)
                    for i in range(block, min(block + 10000, ROWS))))
        written = time.perf_counter() - start
        # Linux carries ru_maxrss over fork and exec: a small launcher in between makes
        # the figure the reader's own, not this process's.
        launcher = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
        result = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-c", _READ,
                                 path, str(ROWS)], check=True, capture_output=True, text=True,
                                env=dict(os.environ, PYTHONPATH=os.path.dirname(HERE)))
        report = json.loads(result.stdout.strip().splitlines()[-1])
        print("imdb basics, {:,} rows ({:.0f} MB gzip, written in {:.0f} s): read in {:.1f} s "
              "({:,.0f} rows/s), {} names found, peak RSS {:.0f} MB".format(
                  ROWS, os.path.getsize(path) / 1e6, written, report["seconds"],
                  ROWS / report["seconds"], report["found"], report["peak_mb"]), flush=True)


if __name__ == "__main__":
    main()
