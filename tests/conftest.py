"""Session-wide fixtures: Theano compiles are slow, so compiled nets are shared."""
import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.network import build_net


@pytest.fixture(scope="session")
def random_tiles():
    """300 random tiles whose target depends on them (so a fit can learn)."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 1, 40, 100).astype(np.float32)
    y = (X[:, 0, :5, :].mean(axis=(1, 2)) > 0).astype(np.float32)[:, None]
    return X, y


@pytest.fixture(scope="session")
def fitted_net(random_tiles):
    """The study's exact architecture, fitted for 2 epochs on the random tiles."""
    X, y = random_tiles
    return build_net(epochs=2, batch=100).fit(X, y)
