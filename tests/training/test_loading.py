"""Loading runs: checksums checked, settings checked, the pickle-free export."""
import os
import shutil

import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.audio.features import FeatureSettings
from soundtrack_cnn.training.record import model_file
from soundtrack_cnn.training.loading import export_weights, import_weights, load_run
from soundtrack_cnn.collection.store import FeatureStore


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
