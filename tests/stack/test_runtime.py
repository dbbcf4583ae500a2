"""The speed settings reach a fresh process through ``import soundtrack_cnn`` alone."""
import os
import subprocess
import sys

import pytest

from soundtrack_cnn.stack import runtime

# Allocate, touch and free a 64 MB block 20 times; print the minor page faults.
_FAULTS = """
import resource
import numpy as np
import soundtrack_cnn
import theano  # the speed settings apply when Theano is first imported
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    block = np.ones(1 << 24, dtype=np.float32)
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(fast):
    env = dict(os.environ, SOUNDTRACK_CNN_FAST=fast)
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1])


def test_import_keeps_freed_memory_in_the_process():
    with_settings, without = _page_faults("1"), _page_faults("0")
    # Without them every block is mmapped and faulted in again (20 times);
    # with them only the first block faults.
    assert with_settings * 5 < without


@pytest.mark.parametrize("value, expected", [("0", False), (" 0 ", False), ("1", True), ("", True)])
def test_switch(monkeypatch, value, expected):
    monkeypatch.setenv("SOUNDTRACK_CNN_FAST", value)
    assert runtime.enabled() is expected


def test_switched_off_process_uses_theanos_own_pooling():
    code = ("import soundtrack_cnn, theano.compile as c; from soundtrack_cnn.stack import ops, parallel_rng; "
            "print(ops.OPTIMIZATION_NAME in c.optdb['specialize']._names "
            "and parallel_rng.OPTIMIZATION_NAME in c.optdb['specialize']._names)")
    outputs = {}
    for fast in ("0", "1"):
        env = dict(os.environ, SOUNDTRACK_CNN_FAST=fast)
        outputs[fast] = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                       capture_output=True, text=True).stdout.split()[-1]
    assert outputs == {"0": "False", "1": "True"}
