"""The study's network: shapes, hyperparameters, cloning and pickling."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from lasagne.layers import count_params
from lasagne.nonlinearities import sigmoid

from soundtrack_cnn.training.callbacks import EarlyStopping
from soundtrack_cnn.training.network import LAYERS, STUDY_HYPERPARAMETERS, build_net


def test_layers_have_the_study_shapes(fitted_net):
    shapes = [layer.output_shape[1:] for layer in fitted_net.layers_.values()]
    assert [name for name, _ in LAYERS] == list(fitted_net.layers_)
    assert shapes == [
        (1, 40, 100),
        (32, 36, 96), (32, 18, 48), (32, 18, 48),
        (64, 15, 45), (64, 7, 22), (64, 7, 22),
        (128, 6, 21), (128, 3, 10), (128, 3, 10),
        (256, 2, 9), (256, 1, 4), (256, 1, 4),
        (50,), (50,), (50,), (1,)]


def test_parameter_count_is_the_studys(fitted_net):
    assert count_params(fitted_net.layers_["output"]) == 251739


def test_defaults_are_the_studys_hyperparameters():
    net = build_net()
    assert STUDY_HYPERPARAMETERS == dict(
        epochs=1000, dropout1=.1, dropout2=.2, dropout3=.3, dropout4=.4, dropout5=.5,
        c1=32, c2=64, c3=128, c4=256, h5=50, h6=50, batch=1200, rate=.01, rate_stop=.0001,
        momentum=.9, momentum_stop=.999, patience=30, monitor="valid_loss",
        shuffle="none", augment=None)
    assert net.max_epochs == 1000 and net.regression is True
    assert net.input_shape == (None, 1, 40, 100)
    assert net.batch_iterator_train.batch_size == 1200
    assert net.batch_iterator_test.batch_size == 1200
    assert [net.conv1_filter_size, net.conv2_filter_size, net.conv3_filter_size,
            net.conv4_filter_size] == [(5, 5), (4, 4), (2, 2), (2, 2)]
    assert [getattr(net, "dropout{}_p".format(i)) for i in range(1, 6)] == [.1, .2, .3, .4, .5]
    assert net.output_num_units == 1 and net.output_nonlinearity is sigmoid
    assert net.update.__name__ == "nesterov_momentum"
    assert np.isclose(net.update_learning_rate.get_value(), .01)
    assert np.isclose(net.update_momentum.get_value(), .9)
    rate, momentum = net.on_epoch_finished[:2]
    assert (rate.name, rate.start, rate.stop) == ("update_learning_rate", .01, .0001)
    assert (momentum.name, momentum.start, momentum.stop) == ("update_momentum", .9, .999)
    early = [h for h in net.on_epoch_finished if isinstance(h, EarlyStopping)]
    assert len(early) == 1 and early[0].patience == 30


def test_overrides_change_only_what_is_asked():
    net = build_net(epochs=3, c1=8)
    assert net.max_epochs == 3 and net.conv1_num_filters == 8 and net.conv2_num_filters == 64


def test_two_epoch_fit_records_history(fitted_net):
    history = fitted_net.train_history_
    assert [row["epoch"] for row in history] == [1, 2]
    assert all(np.isfinite(row["train_loss"]) and np.isfinite(row["valid_loss"]) for row in history)


@pytest.mark.slow
def test_a_built_net_clones_and_the_clone_fits(random_tiles):
    from sklearn.base import clone
    X, y = random_tiles
    net = build_net(epochs=1, batch=100, c1=4, c2=4, c3=4, c4=4, h5=4, h6=4)
    twin = clone(net)
    assert twin is not net and "NeuralNet(" in repr(twin)
    assert twin.get_params()["conv1_num_filters"] == 4
    twin.fit(X[:200], y[:200])
    assert len(twin.train_history_) == 1 and not hasattr(net, "layers_")


def test_pickled_net_predicts_the_same_in_a_fresh_process(fitted_net, random_tiles, tmp_path):
    X, _ = random_tiles
    np.save(tmp_path / "X.npy", X[:50])
    with open(tmp_path / "net.pkl", "wb") as stream:
        pickle.dump(fitted_net, stream, protocol=pickle.HIGHEST_PROTOCOL)
    script = ("import pickle, numpy as np, soundtrack_cnn\n"
              "net = pickle.load(open('net.pkl', 'rb'))\n"
              "np.save('out.npy', net.predict(np.load('X.npy')))\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True,
                   env=dict(os.environ))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), fitted_net.predict(X[:50]))
