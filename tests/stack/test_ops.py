"""The fast 2x2 max-pool ops give Theano's own results, bit for bit."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.tensor.signal.pool import pool_2d

from soundtrack_cnn.stack import ops

# The network's four pooled shapes (channels x height x width), plus odd and tiny ones.
SHAPES = [(32, 36, 96), (64, 15, 45), (128, 6, 21), (256, 2, 9), (3, 5, 7), (2, 1, 5)]


def _modes():
    default = theano.compile.get_default_mode()
    return default, default.excluding(ops.OPTIMIZATION_NAME)


def _tied(rng, shape, dtype):
    """ReLU'd integers: most windows hold tied maxima (zeros and small ints), with -0.0 too."""
    values = np.maximum(np.round(rng.randn(*shape) * 1.5), 0).astype(dtype)
    negative_zero = (values == 0) & (rng.rand(*shape) < .5)
    values[negative_zero] = -0.0
    return values


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.fixture(scope="module", params=[("float32", "input"), ("float64", "input"),
                                        ("float32", "intermediate")])
def pool_and_grad(request):
    """(fast, theano) functions x, gy -> (pooled, gradient of sum(pooled * gy)).

    An "intermediate" pooled value (2x, as after a layer) can be overwritten
    by the in-place gradient; a function's input cannot.
    """
    dtype, source = request.param
    x = T.tensor4(dtype=dtype)
    gy = T.tensor4(dtype=dtype)
    pooled = x if source == "input" else x * np.asarray(2, dtype=dtype)
    y = pool_2d(pooled, ws=(2, 2), ignore_border=True, mode="max")
    g = T.grad((y * gy).sum(), x)
    fast, own = (theano.function([x, gy], [y, g], mode=mode) for mode in _modes())
    return request.param, fast, own


def test_the_optimisation_replaces_both_ops(pool_and_grad):
    (_, source), fast, own = pool_and_grad
    kinds = lambda f: {type(n.op) for n in f.maker.fgraph.toposort()}  # noqa: E731
    assert {ops.MaxPool2x2, ops.MaxPool2x2Grad} <= kinds(fast)
    assert not {ops.MaxPool2x2, ops.MaxPool2x2Grad} & kinds(own)
    inplace = [n.op.inplace for n in fast.maker.fgraph.toposort()
               if isinstance(n.op, ops.MaxPool2x2Grad)]
    assert inplace == [source == "intermediate"]


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("shape", SHAPES)
def test_bitwise_identical_with_ties(pool_and_grad, batch, shape):
    (dtype, _), fast, own = pool_and_grad
    rng = np.random.RandomState(batch * 1000 + shape[1])
    x = _tied(rng, (batch,) + shape, dtype)
    pooled_shape = (batch, shape[0], shape[1] // 2, shape[2] // 2)
    # Upstream gradients with signed zeros and repeats, as dropout produces.
    gy = (np.round(rng.randn(*pooled_shape)) * (rng.rand(*pooled_shape) > .3)).astype(dtype)
    gy[rng.rand(*pooled_shape) < .1] = -0.0
    for mine, theirs in zip(fast(x, gy), own(x, gy)):
        assert mine.shape == theirs.shape
        np.testing.assert_array_equal(_bits(mine), _bits(theirs))
    if not all(pooled_shape):
        return
    # The inputs really had ties for the gradient to split.
    windows = x[:, :, :pooled_shape[2] * 2, :pooled_shape[3] * 2].reshape(
        batch, shape[0], pooled_shape[2], 2, pooled_shape[3], 2)
    maxima = windows.max(axis=(3, 5), keepdims=True)
    assert ((windows == maxima).sum(axis=(3, 5)) > 1).any()


def test_nan_and_non_contiguous_input_as_theano(pool_and_grad):
    (dtype, _), fast, own = pool_and_grad
    rng = np.random.RandomState(3)
    x = _tied(rng, (3, 4, 9, 11), dtype)
    x[0, 0, 0, 1] = np.nan
    x[1, 2, 4, 4] = np.nan
    view = x.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3)  # same values, strided
    assert not view.flags.c_contiguous
    gy = rng.randn(3, 4, 4, 5).astype(dtype)
    for mine, theirs in zip(fast(view, gy), own(x, gy)):
        np.testing.assert_array_equal(_bits(mine), _bits(theirs))


def test_other_pools_are_left_to_theano():
    x = T.ftensor4()
    for kwargs in (dict(ws=(3, 3)), dict(ws=(2, 2), stride=(1, 1)),
                   dict(ws=(2, 2), ignore_border=False), dict(ws=(2, 2), mode="average_inc_pad")):
        kwargs.setdefault("ignore_border", True)
        f = theano.function([x], pool_2d(x, **kwargs))
        assert not any(isinstance(n.op, ops.MaxPool2x2) for n in f.maker.fgraph.toposort())


def test_rejects_what_it_does_not_pool():
    with pytest.raises(TypeError):
        ops.MaxPool2x2()(T.fmatrix())
    with pytest.raises(TypeError):
        ops.MaxPool2x2()(T.itensor4())


@pytest.mark.slow
def test_study_net_gradients_and_predictions_unchanged(fitted_net, random_tiles):
    """Every parameter's gradient and the output of the study's net, with and without."""
    import lasagne
    X, y = random_tiles
    X, y = X[:13], y[:13]
    output = fitted_net.layers_["output"]
    tiles = output.input_layer
    while not isinstance(tiles, lasagne.layers.InputLayer):
        tiles = tiles.input_layer
    target = T.fmatrix()
    prediction = lasagne.layers.get_output(output, deterministic=True)
    loss = lasagne.objectives.squared_error(prediction, target).mean()
    params = lasagne.layers.get_all_params(output, trainable=True)
    grads = T.grad(loss, params)
    results = [theano.function([tiles.input_var, target], [prediction] + grads, mode=mode)(X, y)
               for mode in _modes()]
    for mine, theirs in zip(*results):
        np.testing.assert_array_equal(_bits(mine), _bits(theirs))


@pytest.mark.slow
def test_pickled_net_predicts_the_same_without_the_ops(fitted_net, random_tiles, tmp_path):
    """A net pickled here predicts identically in a process that has the optimisation off."""
    X, _ = random_tiles
    np.save(str(tmp_path / "tiles.npy"), X[:50])
    with open(str(tmp_path / "net.pkl"), "wb") as handle:
        pickle.dump(fitted_net, handle, -1)
    code = ("import pickle, sys, numpy as np, soundtrack_cnn\n"
            "net = pickle.load(open(sys.argv[1], 'rb'))\n"
            "np.save(sys.argv[3], net.predict_proba(np.load(sys.argv[2])))\n")
    env = dict(os.environ, SOUNDTRACK_CNN_FAST="0")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "net.pkl"),
                    str(tmp_path / "tiles.npy"), str(tmp_path / "theirs.npy")],
                   env=env, check=True, capture_output=True)
    theirs = np.load(str(tmp_path / "theirs.npy"))
    np.testing.assert_array_equal(_bits(fitted_net.predict_proba(X[:50])), _bits(theirs))
