"""Checkpointing during fit: pickles recorded with checksums, one per net."""
import os

import numpy as np
import pytest

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


class _Payload(object):
    """What a hostile run folder ships as a "net": unpickling it creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def _hostile_copy(run_dir, folder, marker):
    """The N1 recipe: every pickle replaced by the payload, checksums re-sealed, weights removed.

    The specialists keep the signature of the pickle they replace (it does not match);
    the single net's is dropped (unsigned).
    """
    import pickle
    import shutil

    from soundtrack_cnn.files import read_json, sha256_bytes, write_json
    from soundtrack_cnn.training.modelfiles import seal
    shutil.copytree(run_dir, folder)
    data = pickle.dumps(_Payload(marker))
    for kind in ("ensemble", "multilabel"):
        path = os.path.join(folder, kind + ".json")
        record = read_json(path)
        for entry in record["models"].values():
            with open(os.path.join(folder, entry["file"]), "wb") as stream:
                stream.write(data)
            entry["sha256"] = sha256_bytes(data)
            if kind == "multilabel":
                del entry["signature"]
        record["weights"]["models"] = {name: entry["sha256"]
                                       for name, entry in record["models"].items()}
        write_json(path, seal(record))
        os.remove(os.path.join(folder, record["weights"]["file"]))
    return folder


@pytest.mark.slow
def test_a_run_folder_from_someone_else_runs_no_code_in_any_command(two_tag_run, two_tag_corpus,
                                                                   tmp_path):
    import subprocess
    import sys

    from soundtrack_cnn.errors import InputError
    from soundtrack_cnn.experiment.pipeline import train_run
    from soundtrack_cnn.training.loading import import_weights, load_run
    marker = str(tmp_path / "payload ran")
    run = _hostile_copy(two_tag_run, str(tmp_path / "p"), marker)
    track = os.path.join(os.path.dirname(two_tag_corpus), "track30.wav")
    commands = [["predict", run, track, "--engine", "numpy"],
                ["predict", run, track, "--engine", "onnx"],
                ["predict", run, track, "--engine", "theano"],
                ["predict", run, track, "--kind", "multilabel", "--json"],
                ["film", run, track, "--out", str(tmp_path / "film")],
                ["evaluate", run], ["evaluate", run, "--engine", "theano"],
                ["export", run, str(tmp_path / "m.onnx")], ["export", run, str(tmp_path / "m.npz")],
                ["upgrade", run],
                ["compare", run, "--embedding", "hidden6", "--bootstrap", "2"]]
    for command in commands:
        result = subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + command,
                                capture_output=True, text=True, timeout=600)
        assert not os.path.exists(marker), command
        assert result.returncode == 2 and "Traceback" not in result.stderr, (command, result)
        assert result.stderr.strip().count("\n") == 0, (command, result.stderr)
        if command[0] != "upgrade":
            assert "--trust-pickles" in result.stderr or "evaluate" in result.stderr, \
                (command, result.stderr)
    # The specialists come first: their signatures do not match the payload.
    assert "its signature does not match it" in subprocess.run(
        [sys.executable, "-m", "soundtrack_cnn", "upgrade", run], capture_output=True,
        text=True).stderr
    # Resuming train, and the Python calls behind --engine theano and --embedding hidden6.
    for call, reason in ((lambda: train_run(run, verbose=0, estimate=False), "does not match"),
                         (lambda: load_run(run, "multilabel"), "is not signed"),
                         (lambda: import_weights(run), "no current weights")):
        with pytest.raises(InputError, match=reason):
            call()
        assert not os.path.exists(marker)
    # The recipe is real: trusting the folder runs it.
    try:
        load_run(run, "multilabel", trust=True)
    except Exception:
        pass
    assert os.path.exists(marker)
