"""Loading runs: checksums checked, settings checked, nothing written, the pickle-free export."""
import os
import shutil

import numpy as np
import pytest

from soundtrack_cnn.audio.features import FeatureSettings
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.cli import describe_error
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.files import read_json, write_json
from soundtrack_cnn.training.checkpoint import ModelFolder
from soundtrack_cnn.training.loading import export_weights, import_weights, load_run, upgrade_run
from soundtrack_cnn.training.modelfiles import model_file, seal


def test_tampered_pickle_is_refused(two_tag_run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(two_tag_run, copy)
    path = os.path.join(copy, model_file("ensemble", "High"))
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(InputError, match=model_file("ensemble", "High")):
        load_run(copy)


def test_npz_export_round_trips_to_identical_predictions(two_tag_run, two_tag_store, tmp_path):
    ensemble = load_run(two_tag_run)
    store = FeatureStore(two_tag_store)
    X = store.tiles[np.arange(12)]
    export_weights(ensemble, str(tmp_path / "weights.npz"))
    rebuilt = import_weights(str(tmp_path / "weights.npz"), settings=store.settings)
    np.testing.assert_array_equal(rebuilt.predict_tiles(X), ensemble.predict_tiles(X))
    assert rebuilt.genres_ == ensemble.genres_


def test_load_refuses_other_feature_settings(two_tag_run):
    with pytest.raises(InputError, match="settings"):
        load_run(two_tag_run, settings=FeatureSettings(hop=50))


def _old_run(run_dir, tmp_path):
    """A copy of ``run_dir`` as trained before the weights file and signatures existed."""
    copy = str(tmp_path / "old run")
    shutil.copytree(run_dir, copy)
    for kind in ("ensemble", "multilabel"):
        os.remove(os.path.join(copy, "weights-{}.npz".format(kind)))
        path = os.path.join(copy, "{}.json".format(kind))
        record = read_json(path)
        del record["weights"]
        for entry in record["models"].values():
            del entry["signature"]
        write_json(path, seal(record))
    return copy


def _files(folder):
    return {name: (os.stat(os.path.join(folder, name)).st_mtime_ns,
                   os.path.getsize(os.path.join(folder, name))) for name in os.listdir(folder)}


def test_an_old_run_is_scored_only_once_the_user_trusts_it_and_upgrading_is_explicit(
        two_tag_run, tmp_path):
    from soundtrack_cnn.inference.model import load_model
    copy = _old_run(two_tag_run, tmp_path)
    before = _files(copy)
    X = np.random.RandomState(0).randn(5, 1, 40, 100).astype(np.float32)
    expected = load_model(two_tag_run, engine="numpy").predict_tiles(X)
    with pytest.raises(InputError, match="no current weights-ensemble.npz .* upgrade_run\\(.*, "
                                         "trust=True\\) writes it") as refusal:
        load_model(copy, engine="numpy")
    assert "`soundtrack-cnn upgrade {} --trust-pickles`".format(copy) in \
        describe_error(refusal.value)  # the command line names its command instead
    with pytest.raises(InputError, match="refusing to unpickle it, since a pickle runs code and "
                                         "it is not signed"):
        load_run(copy)
    with pytest.raises(InputError, match="not signed"):
        upgrade_run(copy)
    assert _files(copy) == before  # neither reading nor a refused upgrade writes
    theano_scores = load_run(copy, trust=True).predict_tiles(X)
    path = upgrade_run(copy, trust=True)
    assert path == os.path.join(copy, "weights-ensemble.npz")
    assert ModelFolder(copy, "ensemble").weights_path() == path
    assert upgrade_run(copy) == path  # current: untouched
    load_run(copy)  # trusted once: its pickles are signed as this user's now
    numpy_scores = load_model(copy, engine="numpy").predict_tiles(X)
    np.testing.assert_array_equal(numpy_scores, expected)
    np.testing.assert_allclose(numpy_scores, theano_scores, rtol=0, atol=1e-5)


def test_the_theano_engine_rebuilds_the_trained_nets_from_the_weights_file(two_tag_run):
    X = np.random.RandomState(1).randn(7, 1, 40, 100).astype(np.float32)
    for kind in ("ensemble", "multilabel"):
        rebuilt = import_weights(two_tag_run, kind=kind)
        np.testing.assert_array_equal(rebuilt.predict_tiles(X),
                                      load_run(two_tag_run, kind).predict_tiles(X))
