"""Dropout's random numbers drawn on every core are Theano's numbers, bit for bit."""
import numpy as np
import pytest
import theano
from theano.sandbox.rng_mrg import MRG_RandomStreams

from soundtrack_cnn.stack import parallel_rng


def _draws(size, dtype, n_streams, mode, calls=3):
    """Three successive samples of one compiled uniform draw, and the final stream states."""
    streams = MRG_RandomStreams(seed=1234)
    sample = streams.uniform(size, dtype=dtype, nstreams=n_streams)
    draw = theano.function([], sample, mode=mode)
    kinds = {type(node.op) for node in draw.maker.fgraph.toposort()}
    samples = [draw().copy() for _ in range(calls)]
    states = [update[0].get_value() for update in streams.state_updates]
    return kinds, samples, states


@pytest.mark.parametrize("size, n_streams", [((1200, 32, 18, 48), 60 * 256), ((7, 64, 7, 22), 60 * 256),
                                             ((5, 3), 4), ((3, 5), 7)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_samples_and_states_as_theano(size, n_streams, dtype):
    default = theano.compile.get_default_mode()
    fast = _draws(size, dtype, n_streams, default)
    own = _draws(size, dtype, n_streams, default.excluding(parallel_rng.OPTIMIZATION_NAME))
    assert parallel_rng.ParallelMRGUniform in fast[0]
    assert parallel_rng.ParallelMRGUniform not in own[0]
    for mine, theirs in zip(fast[1] + fast[2], own[1] + own[2]):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    # Successive calls draw new numbers (the states advance).
    assert not np.array_equal(fast[1][0], fast[1][1])
