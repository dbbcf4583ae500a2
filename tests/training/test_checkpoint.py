"""Checkpointing during fit: pickles recorded with checksums, one per net."""
import os

import numpy as np

from soundtrack_cnn.training.checkpoint import ModelFolder


def test_run_records_every_specialist_with_checksums(two_tag_run):
    metadata = ModelFolder(two_tag_run, "ensemble").read()
    assert metadata["genres"] == ["Low", "High"]
    assert set(metadata["models"]) == {"Low", "High"}
    for entry in metadata["models"].values():
        assert len(entry["sha256"]) == 64 and entry["epochs_run"] >= 1
        assert os.path.exists(os.path.join(two_tag_run, entry["file"]))
        assert np.isfinite(entry["best_valid_loss"])
    assert metadata["training"]["n_train_tiles"] > 0 and metadata["versions"]["Theano"] == "1.0.5"
    assert os.path.exists(os.path.join(two_tag_run, "multilabel.pkl"))


FLAT_LAYOUT_PICKLE = os.path.join(os.path.dirname(__file__), "fixtures", "net-objects-0.2.pkl.xz")


def test_objects_pickled_by_the_flat_layout_load_as_todays_classes():
    import importlib
    import lzma

    from soundtrack_cnn.collection.splits import TrackSplit
    from soundtrack_cnn.training.batches import ShufflingBatchIterator
    from soundtrack_cnn.training.callbacks import EarlyStopping, ValidationTrackAUC
    from soundtrack_cnn.training.checkpoint import MOVED_MODULES, unpickle
    with lzma.open(FLAT_LAYOUT_PICKLE) as stream:
        fixture = unpickle(stream)
    # Every class a whole net's pickle named in 0.2 exists under its new module.
    for entry in fixture["classes"]:
        module, name = entry.split()
        assert module in MOVED_MODULES
        assert hasattr(importlib.import_module(MOVED_MODULES[module]), name), entry
    kinds = {type(handler) for handler in fixture["handlers"]}
    assert EarlyStopping in kinds and ValidationTrackAUC in kinds
    assert isinstance(fixture["iterator"], ShufflingBatchIterator)
    split = fixture["train_split"]
    assert isinstance(split, TrackSplit)
    X_train, X_valid, _, _ = split(np.arange(40), np.arange(40), None)
    assert len(X_train) == 36 and len(X_valid) == 4
    names = [name for name, _ in fixture["ops"]]
    assert names == ["MaxPool2x2", "MaxPool2x2Grad", "ParallelMRGUniform"]
    assert all(type(op).__module__.startswith("soundtrack_cnn.stack.") for _, op in fixture["ops"])


def test_a_resumed_fit_names_each_changed_hyperparameter_and_accepts_options_added_later(tmp_path):
    import types

    import pytest

    from soundtrack_cnn.audio.features import FeatureSettings, Normalizer
    from soundtrack_cnn.errors import InputError

    def model(**hyperparameters):
        return types.SimpleNamespace(
            kind="ensemble", genres_=["Drama"], settings_=FeatureSettings(),
            normalizer_=Normalizer().fit(np.zeros((2, 1, 40, 100), np.float32)),
            hyperparameters_=hyperparameters, random_state=0, training_={})

    folder = ModelFolder(str(tmp_path), "ensemble")
    folder.begin(model(epochs=20))
    # An option the package gained later, at its default, resumes the run.
    folder.begin(model(epochs=20, augment=None), defaults={"augment": None})
    with pytest.raises(InputError, match=r"hyperparameters \(epochs: 20 then, 1 now\)"):
        folder.begin(model(epochs=1), defaults={"augment": None})
