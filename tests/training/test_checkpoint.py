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
