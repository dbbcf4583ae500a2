"""The NT-Xent contrastive loss as a Theano expression (SimCLR; CLMR on music).

A batch holds ``2B`` projections: rows ``i`` and ``i + B`` are two views of
one track (the positive pair), every other row of the batch is a negative.
Each row's loss is the cross-entropy of picking its positive among the
``2B - 1`` other rows, by cosine similarity divided by a temperature; the
loss is the mean over the ``2B`` rows (Chen et al., ICML 2020; Spijkervet &
Burgoyne, ISMIR 2021).  Only standard Theano operations: gradients come from
Theano itself.

Examples
--------
>>> import numpy as np, theano, theano.tensor as T
>>> z = T.matrix("z")
>>> loss = theano.function([z], nt_xent(z, temperature=.5))
>>> aligned = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32)
>>> crossed = aligned[[0, 1, 3, 2]]
>>> bool(loss(aligned) < loss(crossed))
True
"""
import theano.tensor as T

__all__ = ["nt_xent"]

#: Added to the squared norm before the square root: a zero projection (a
#: dead ReLU trunk at the start) would otherwise give a NaN gradient.
_EPSILON = 1e-8


def nt_xent(z, temperature=0.5):
    """Mean NT-Xent loss of a batch of paired projections.

    Parameters
    ----------
    z : theano matrix, shape (2B, d)
        Projections; rows ``i`` and ``i + B`` are a positive pair.
    temperature : float
        Divides the cosine similarities (CLMR uses .5).

    Returns
    -------
    loss : theano scalar
    """
    n = z.shape[0]
    half = n // 2
    unit = z / T.sqrt(T.sum(T.sqr(z), axis=1, keepdims=True) + _EPSILON)
    logits = T.dot(unit, unit.T) / temperature
    # A row is never its own negative: its similarity with itself is pushed
    # far below the others before the softmax.
    logits = logits - 1e9 * T.eye(n, dtype=logits.dtype)
    rows = T.arange(n)
    positives = logits[rows, (rows + half) % n]
    peak = T.max(logits, axis=1, keepdims=True)
    log_normaliser = T.log(T.sum(T.exp(logits - peak), axis=1)) + peak[:, 0]
    return T.mean(log_normaliser - positives)
