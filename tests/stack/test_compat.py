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


def _key_version(outputs, inputs):
    from theano.gof import FunctionGraph
    from theano.gof.cc import CLinker
    return CLinker().accept(FunctionGraph(inputs, outputs)).cmodule_key()[0]


def test_a_graph_of_ops_without_properties_gets_a_versioned_compile_key():
    from theano.compile.ops import DeepCopyOp
    from theano.tensor.blas import _dot22
    x, y = T.fmatrices(2)
    assert _dot22.__props__ == () and DeepCopyOp.__props__ == ()
    # Theano 1.0.5 alone returns () here: the module would be compiled in every process.
    assert _key_version([_dot22(x, y)], [x, y])
    assert _key_version([DeepCopyOp()(x)], [x])


def test_an_op_that_declares_no_code_version_stays_unversioned():
    from theano.compile.ops import DeepCopyOp

    class Unversioned(DeepCopyOp):
        def c_code_cache_version(self):
            return ()

    x = T.fmatrix()
    assert _key_version([Unversioned()(x)], [x]) == ()


def test_a_second_process_compiles_no_module_for_the_same_graph(tmp_path):
    code = ("import soundtrack_cnn, theano, theano.tensor as T, theano.gof.cc as cc\n"
            "compiled = []\n"
            "compile_cmodule = cc.CLinker.compile_cmodule\n"
            "cc.CLinker.compile_cmodule = lambda self, *a, **k: (compiled.append(1), "
            "compile_cmodule(self, *a, **k))[1]\n"
            "x, y = T.fmatrices(2)\n"
            "theano.function([x, y], T.dot(x, y) + 1)\n"
            "print(len(compiled))\n")
    env = dict(os.environ, SOUNDTRACK_CNN_CACHE=str(tmp_path))
    counts = [int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, timeout=600, check=True).stdout.split()[-1])
              for _ in range(2)]
    assert counts[0] > 0 and counts[1] == 0, counts
