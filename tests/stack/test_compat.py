import collections
import os
import subprocess
import sys

import numpy as np
import pytest
import theano
import theano.tensor as T

from soundtrack_cnn.stack import compat


def test_theano_links_the_bundled_openblas():
    assert theano.config.blas.ldflags.strip()
    folder, name = os.path.split(compat.openblas_library())
    assert "-L{} -l:{}".format(folder, name) in theano.config.blas.ldflags
    assert theano.config.floatX == "float32"
    assert theano.config.base_compiledir.startswith(compat.cache_dir())


def test_training_function_uses_gemm_based_convolutions(fitted_net):
    ops = {type(node.op).__name__ for node in fitted_net.train_iter_.maker.fgraph.toposort()}
    assert {"CorrMM", "CorrMM_gradWeights", "CorrMM_gradInputs"} <= ops
    assert "ConvOp" not in ops


def test_downsample_shim_matches_pool_2d():
    from theano.tensor.signal import downsample, pool
    x = T.tensor4()
    shim = theano.function([x], downsample.max_pool_2d(x, ds=(2, 2), ignore_border=True))
    real = theano.function([x], pool.pool_2d(x, ws=(2, 2), ignore_border=True))
    data = np.random.rand(2, 3, 7, 9).astype(np.float32)
    np.testing.assert_array_equal(shim(data), real(data))
    assert shim(data).shape == (2, 3, 3, 4)


def test_collections_iterable_and_old_cross_validation():
    from sklearn.cross_validation import KFold, StratifiedKFold
    assert collections.Iterable is collections.abc.Iterable
    train, test = next(iter(KFold(10, 5)))
    assert sorted(np.concatenate([train, test])) == list(range(10)) and len(test) == 2
    y = np.array([0, 1] * 5)
    train, test = next(iter(StratifiedKFold(y, 5)))
    assert sorted(y[test]) == [0, 1]


def test_nolearn_default_train_split_runs_under_the_shim(random_tiles):
    from nolearn.lasagne import TrainSplit
    X, y = random_tiles
    X_train, X_valid, y_train, y_valid = TrainSplit(eval_size=0.2)(X, y, type("N", (), {"regression": True})())
    assert len(X_train) == 240 and len(X_valid) == 60


def test_scan_runs_on_python_311():
    # Recurrent layers (the study's suggested RNN over slices) need theano.scan.
    x = T.fvector()
    total, _ = theano.scan(lambda value, acc: acc + value, sequences=x,
                           outputs_info=np.float32(0))
    cumulative = theano.function([x], total)
    np.testing.assert_allclose(cumulative(np.arange(4, dtype=np.float32)), [0, 1, 3, 6])


def test_lasagne_image_shape_warning_is_silenced_and_others_are_not():
    code = ("import warnings, numpy as np, soundtrack_cnn, theano.tensor as T\n"
            "from theano.tensor.nnet import conv2d\n"
            "x, w = T.tensor4(), T.tensor4()\n"
            "conv2d(x, w, image_shape=(None, 1, 40, 100), filter_shape=(4, 1, 5, 5))\n"
            "warnings.warn('another warning', UserWarning)\n")
    result = subprocess.run([sys.executable, "-W", "default", "-c", code],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "image_shape" not in result.stderr and "another warning" in result.stderr


def test_a_dask_worker_whose_theano_is_already_loaded_warns_and_keeps_its_slot(tmp_path,
                                                                                monkeypatch):
    import socket

    from soundtrack_cnn.errors import WorkerWarning
    monkeypatch.setenv("SOUNDTRACK_CNN_CACHE", str(tmp_path))
    with pytest.warns(WorkerWarning, match="Theano was imported in this Dask worker"):
        first = compat.worker_compile_cache()   # Theano is loaded in this process
    monkeypatch.setenv("SOUNDTRACK_CNN_CACHE", str(tmp_path))  # as in another worker process
    with pytest.warns(WorkerWarning):
        second = compat.worker_compile_cache()  # the first slot is held: the next one
    try:
        slot = os.path.join(str(tmp_path), "dask-workers", socket.gethostname() + "-1")
        assert os.environ["SOUNDTRACK_CNN_CACHE"] == slot
    finally:
        first.close()
        second.close()
