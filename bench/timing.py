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
