"""One way of timing a step, shared by the benchmarks (numpy only: the PyTorch
benchmark's own environment imports it too)."""
import time

import numpy as np


def tiles_per_second(step, batch, repeats):
    """Median tiles/s of ``step()`` over ``repeats`` timed calls, after a warm-up call."""
    step()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return batch / float(np.median(seconds))


# VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child would
# report its (Theano-laden) parent's peak.
_PEAK_RSS = """
import sys
from soundtrack_cnn.cli import main
try:
    main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = [line.split()[1] for line in status if line.startswith("VmHWM")][0]
    print("peak_rss_mb", int(peak) / 1024, file=sys.stderr)
"""


def command_peak_rss(*arguments):
    """Run ``soundtrack-cnn ARGUMENTS`` in a fresh process: (wall seconds, peak RSS MB, stdout).

    A failing command ends the benchmark with its error output.
    """
    import subprocess
    import sys
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS] + list(arguments),
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(result.stderr)
    return seconds, float(result.stderr.split("peak_rss_mb")[-1].split()[0]), result.stdout
