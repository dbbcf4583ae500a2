"""The numpy engine against Theano: every layer, both kinds of net, odd batch sizes."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from processes import PREDICT_LISTING_THE_2015_STACK

from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.inference import numpy_net as engine
from soundtrack_cnn.inference.model import NumpyEnsemble, load_model, load_weights
from soundtrack_cnn.training.checkpoint import ModelFolder as RunDirectory
from soundtrack_cnn.training.loading import export_weights, load_run, upgrade_run


def test_architecture_is_the_network_listing_without_input_and_dropout():
    from lasagne import layers

    from soundtrack_cnn.training.network import LAYERS
    kinds = {layers.Conv2DLayer: "conv", layers.MaxPool2DLayer: "pool",
             layers.DenseLayer: "dense"}
    listed = [(name, kinds[cls]) for name, cls in LAYERS
              if cls not in (layers.InputLayer, layers.DropoutLayer)]
    assert listed[:-1] == list(engine.ARCHITECTURE[:-1])
    assert engine.ARCHITECTURE[-1] == ("output", "sigmoid") and listed[-1][0] == "output"


def test_random_weights_are_rejected_when_shapes_are_wrong():
    with pytest.raises(InputError, match="missing"):
        engine.NumpyNet({"conv1": [np.zeros((2, 1, 5, 5)), np.zeros(2)]})


def _random_net(rng, outputs=1):
    shapes = {"conv1": (32, 1, 5, 5), "conv2": (64, 32, 4, 4), "conv3": (128, 64, 2, 2),
              "conv4": (256, 128, 2, 2), "hidden5": (1024, 50), "hidden6": (50, 50),
              "output": (50, outputs)}
    return engine.NumpyNet({name: [rng.randn(*shape) * .1, rng.randn(
        shape[0] if name.startswith("conv") else shape[1]) * .1]
        for name, shape in shapes.items()})


def test_scores_do_not_depend_on_the_number_of_threads():
    rng = np.random.RandomState(3)
    nets = [_random_net(rng), _random_net(rng, outputs=2)]
    X = rng.randn(37, 1, 40, 100)
    one = engine.predict_nets(nets, X, thread_block_tiles=5, n_jobs=None)
    assert one.shape == (37, 3)
    for n_jobs in (2, 3, -1):
        assert np.array_equal(engine.predict_nets(nets, X, thread_block_tiles=5, n_jobs=n_jobs), one)
    assert np.array_equal(nets[1].predict(X, thread_block_tiles=5, n_jobs=2), one[:, 1:])


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_a_bad_thread_count_is_one_input_error(n_jobs):
    with pytest.raises(InputError, match="n_jobs"):
        _random_net(np.random.RandomState(0)).predict(np.zeros((2, 1, 40, 100)), n_jobs=n_jobs)


@pytest.mark.parametrize("shape, size", [((32, 1, 5, 5), (40, 100)), ((64, 32, 4, 4), (18, 48)),
                                         ((8, 3, 2, 2), (7, 22)), ((4, 2, 3, 2), (9, 8))])
def test_conv_pool_is_convolution_then_max_pool_then_bias_and_relu(shape, size):
    # The plain definition: every convolution output, a floor-mode 2x2 max, bias, ReLU.
    rng = np.random.RandomState(1)
    W, b = rng.randn(*shape).astype(np.float32), rng.randn(shape[0]).astype(np.float32)
    # Rounded inputs make many exact ties between the four values of a pool window.
    x = np.round(rng.randn(3, size[0], size[1], shape[1])).astype(np.float32)
    conv = engine._conv(x, W)
    rows, columns = conv.shape[1] // 2, conv.shape[2] // 2
    pooled = conv[:, :2 * rows, :2 * columns].reshape(3, rows, 2, columns, 2, -1).max(axis=(2, 4))
    expected = np.maximum(pooled + b, 0)
    got = engine._ConvPool(W, b)(x)
    assert got.shape == expected.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def _theano_layer_outputs(net, X):
    import lasagne
    import theano
    names = [name for name, _ in engine.ARCHITECTURE]
    outputs = lasagne.layers.get_output([net.layers_[name] for name in names], deterministic=True)
    function = theano.function([net.layers_["input"].input_var], outputs)
    return names, function


def _real_tiles(store_dir, model, n):
    """n real tiles of the store (repeated to reach n), normalised as the nets saw them."""
    store = FeatureStore(store_dir)
    tiles = store.tiles[np.arange(len(store.tiles))]
    return model.normalizer_.transform(tiles[np.arange(n) % len(tiles)])


@pytest.mark.slow
@pytest.mark.parametrize("kind, name", [("ensemble", "High"), ("multilabel", "multilabel")])
def test_every_layer_equals_theano_at_batch_1_7_1200(two_tag_run, two_tag_store, kind, name):
    model = load_run(two_tag_run, kind)
    net = model.models_[name]
    numpy_net = engine.NumpyNet(net.get_all_params_values())
    names, theano_outputs = _theano_layer_outputs(net, None)
    X = _real_tiles(two_tag_store, model, 1200)
    for batch in (1, 7, 1200):
        expected = dict(zip(names, theano_outputs(X[:batch])))
        got = numpy_net.layer_outputs(X[:batch])
        for layer in names:
            scale = max(float(np.abs(expected[layer]).max()), 1e-12)
            assert got[layer].shape == expected[layer].shape, layer
            difference = float(np.abs(got[layer] - expected[layer]).max())
            assert difference <= 1e-5 * scale, (kind, batch, layer, difference, scale)
        # The fast path (bias and ReLU after the pool, blocks of tiles) gives the same scores.
        np.testing.assert_allclose(numpy_net.predict(X[:batch], thread_block_tiles=5),
                                   expected["output"], rtol=0, atol=1e-5)


@pytest.mark.slow
def test_npz_export_on_numpy_scores_as_the_pickles_on_theano(two_tag_run, two_tag_store,
                                                            tmp_path):
    store = FeatureStore(two_tag_store)
    X = store.tiles[np.arange(len(store.tiles))]
    for kind in ("ensemble", "multilabel"):
        theano_model = load_run(two_tag_run, kind)
        export_weights(theano_model, str(tmp_path / "w.npz"))
        numpy_model = load_weights(str(tmp_path / "w.npz"), settings=store.settings)
        assert isinstance(numpy_model, NumpyEnsemble) and numpy_model.genres == ["Low", "High"]
        np.testing.assert_allclose(numpy_model.predict_tiles(X, thread_block_tiles=7),
                                   theano_model.predict_tiles(X), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_both_engines_rank_the_held_out_tracks_identically(two_tag_run, two_tag_corpus):
    folder = os.path.dirname(two_tag_corpus)
    paths = [os.path.join(folder, "track{:02d}.wav".format(i)) for i in range(30, 36)]
    numpy_top = [p.top for p in load_model(two_tag_run, engine="numpy").predict_tracks(paths, k=2)]
    theano_top = [p.top for p in load_model(two_tag_run, engine="theano").predict_tracks(paths, k=2)]
    assert [[g for g, _ in top] for top in numpy_top] == [[g for g, _ in top] for top in theano_top]
    np.testing.assert_allclose([[s for _, s in top] for top in numpy_top],
                               [[s for _, s in top] for top in theano_top], atol=1e-5)


@pytest.mark.slow
def test_trained_run_has_a_checksummed_weights_file(two_tag_run):
    for kind in ("ensemble", "multilabel"):
        run = RunDirectory(two_tag_run, kind)
        entry = run.read()["weights"]
        assert run.weights_path() == os.path.join(two_tag_run, entry["file"])
        assert entry["models"] == {n: m["sha256"] for n, m in run.read()["models"].items()}


@pytest.mark.slow
def test_a_damaged_weights_file_is_refused_and_upgrade_rewrites_it_from_signed_pickles(
        two_tag_run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(two_tag_run, copy)
    path = os.path.join(copy, "weights-ensemble.npz")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    assert RunDirectory(copy, "ensemble").weights_path() is None
    before = {name: os.stat(os.path.join(copy, name)).st_mtime_ns for name in os.listdir(copy)}
    # Scoring reads the weights file only, never the pickles.
    with pytest.raises(InputError, match="no current weights-ensemble.npz"):
        load_model(copy, engine="numpy")
    assert {name: os.stat(os.path.join(copy, name)).st_mtime_ns
            for name in os.listdir(copy)} == before  # reading wrote nothing
    # The pickles are this user's (signed when trained): upgrade needs no --trust-pickles.
    assert upgrade_run(copy) == path and RunDirectory(copy, "ensemble").weights_path() == path
    expected = load_model(two_tag_run, engine="numpy")
    X = np.random.RandomState(0).randn(3, 1, 40, 100).astype(np.float32)
    np.testing.assert_array_equal(load_model(copy, engine="numpy").predict_tiles(X),
                                  expected.predict_tiles(X))


def test_a_file_that_is_not_a_weights_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "weights.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(InputError, match="weights.npz"):
        load_model(str(bad))
    with pytest.raises(InputError, match="engine"):
        load_model(str(bad), engine="torch")




@pytest.mark.slow
def test_predict_in_a_fresh_process_imports_neither_theano_nor_sklearn(two_tag_run, two_tag_corpus):
    track = os.path.join(os.path.dirname(two_tag_corpus), "track31.wav")
    result = subprocess.run([sys.executable, "-c", PREDICT_LISTING_THE_2015_STACK, two_tag_run,
                             track], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["top"][0][0] == "High"
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
