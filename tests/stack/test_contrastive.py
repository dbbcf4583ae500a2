"""NT-Xent against a plain numpy reference, and its gradient."""
import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
import theano
import theano.tensor as T

from soundtrack_cnn.stack.contrastive import nt_xent


def _reference(z, temperature):
    """Mean over the 2B rows of -log softmax(similarities / t)[positive], the self excluded."""
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = unit @ unit.T / temperature
    n = len(z)
    losses = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        positive = (i + n // 2) % n
        top = logits[i, others].max()
        losses.append(np.log(np.exp(logits[i, others] - top).sum()) + top - logits[i, positive])
    return np.mean(losses)


def test_nt_xent_matches_the_numpy_reference_and_has_a_finite_gradient():
    z = T.matrix("z")
    loss = nt_xent(z, temperature=.3)
    compiled = theano.function([z], [loss, T.grad(loss, z)])
    rng = np.random.RandomState(0)
    for batch in (2, 5):
        values = rng.randn(2 * batch, 7).astype(theano.config.floatX)
        value, gradient = compiled(values)
        np.testing.assert_allclose(value, _reference(values.astype(np.float64), .3), rtol=1e-4)
        assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_a_zero_projection_gives_a_finite_loss_and_gradient():
    z = T.matrix("z")
    loss = nt_xent(z)
    value, gradient = theano.function([z], [loss, T.grad(loss, z)])(
        np.zeros((4, 3), theano.config.floatX))
    assert np.isfinite(value) and np.isfinite(gradient).all()
    # Every similarity equal: the loss is log of the 2B - 1 candidates.
    np.testing.assert_allclose(value, np.log(3), rtol=1e-5)
