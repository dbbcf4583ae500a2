import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from soundtrack_cnn.callbacks import NonFiniteLossError
from soundtrack_cnn.dataset import TileView
from soundtrack_cnn.ensemble import SpecialistEnsemble
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment import TrackSet
from soundtrack_cnn.runs import RunDirectory, export_weights, import_weights, load_run
from soundtrack_cnn.store import FeatureStore


def _test_paths(two_tag_corpus):
    folder = os.path.dirname(two_tag_corpus)
    return [(os.path.join(folder, "track{:02d}.wav".format(i)), "Low" if i % 2 == 0 else "High")
            for i in range(30, 36)]


def test_ensemble_ranks_the_audible_tag_first_on_held_out_tracks(two_tag_run, two_tag_corpus):
    ensemble = load_run(two_tag_run)
    paths, truth = zip(*_test_paths(two_tag_corpus))
    predictions = ensemble.predict_tracks(paths, k=2)
    firsts = [p.top[0][0] for p in predictions]
    assert sum(f == t for f, t in zip(firsts, truth)) >= 5, firsts
    assert all(abs(sum(score for _, score in p.top) - 1) < 1e-6 for p in predictions)


def test_run_records_every_specialist_with_checksums(two_tag_run):
    metadata = RunDirectory(two_tag_run, "ensemble").read()
    assert metadata["genres"] == ["Low", "High"]
    assert set(metadata["models"]) == {"Low", "High"}
    for entry in metadata["models"].values():
        assert len(entry["sha256"]) == 64 and entry["epochs_run"] >= 1
        assert os.path.exists(os.path.join(two_tag_run, entry["file"]))
        assert np.isfinite(entry["best_valid_loss"])
    assert metadata["training"]["n_train_tiles"] > 0 and metadata["versions"]["Theano"] == "1.0.5"
    assert os.path.exists(os.path.join(two_tag_run, "multilabel.pkl"))


def test_tampered_pickle_is_refused(two_tag_run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(two_tag_run, copy)
    path = os.path.join(copy, "specialist-High.pkl")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(InputError, match="specialist-High.pkl"):
        load_run(copy)


def test_npz_export_round_trips_to_identical_predictions(two_tag_run, two_tag_store, tmp_path):
    ensemble = load_run(two_tag_run)
    store = FeatureStore(two_tag_store)
    X = store.tiles[np.arange(12)]
    export_weights(ensemble, str(tmp_path / "weights.npz"))
    rebuilt = import_weights(str(tmp_path / "weights.npz"), settings=store.settings)
    np.testing.assert_array_equal(rebuilt.predict_tiles(X), ensemble.predict_tiles(X))
    assert rebuilt.genres == ensemble.genres


def test_load_refuses_other_feature_settings(two_tag_run):
    from soundtrack_cnn.features import FeatureSettings
    with pytest.raises(InputError, match="settings"):
        load_run(two_tag_run, settings=FeatureSettings(hop=50))


def test_splits_of_a_run_never_share_a_track(two_tag_run):
    import json
    record = json.load(open(os.path.join(two_tag_run, "experiment.json")))
    store = FeatureStore(record["store"])
    rows = {name: set(TrackSet([t for t in store.ok_tracks if record["splits"][t.track_id] == name],
                               record["genres"]).rows) for name in ("train", "valid", "test")}
    assert rows["train"] and rows["valid"] and rows["test"]
    assert not (rows["train"] & rows["valid"] or rows["train"] & rows["test"]
                or rows["valid"] & rows["test"])


def _fit_data(store):
    tracks = [t for t in store.ok_tracks if t.split in ("train", "valid")]
    data = TrackSet(tracks, ["Low", "High"])
    valid = np.repeat([t.split == "valid" for t in tracks], [b - a for a, b in data.ranges])
    return TileView(store.tiles, data.rows), data.tile_labels(), valid


def test_interrupted_fit_resumes_with_only_the_missing_genres(two_tag_store, tmp_path):
    run_dir = str(tmp_path / "run")
    script = "import sys; from soundtrack_cnn.cli import main; main(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", script, "train", two_tag_store, "--out", run_dir,
         "--genres", "Low", "High", "--profile", "small", "--max-epochs", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Ctrl-C once the second specialist has finished an epoch: nolearn swallows
    # KeyboardInterrupt inside fit, which must not lead to a saved half-trained net.
    second_started = False
    for line in process.stdout:
        second_started = second_started or "[2/2] training High" in line
        if second_started and line.strip()[:1].isdigit():
            process.send_signal(signal.SIGINT)
            break
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "rerun the same command to resume" in err
    run = RunDirectory(run_dir, "ensemble")
    assert set(run.read()["models"]) == {"Low"}
    assert not os.path.exists(os.path.join(run_dir, "specialist-High.pkl"))
    first = os.path.join(run_dir, "specialist-Low.pkl")
    low_mtime = os.path.getmtime(first)

    store = FeatureStore(two_tag_store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=run_dir, settings=store.settings,
                                  net_params={"epochs": 30, "batch": 64, "patience": 2},
                                  seed=0).fit(*_fit_data(store))
    assert os.path.getmtime(first) == low_mtime
    assert set(run.read()["models"]) == {"Low", "High"}
    assert set(ensemble.models_) == {"Low", "High"}


def test_resume_with_other_data_is_refused(two_tag_run, two_tag_store):
    store = FeatureStore(two_tag_store)
    X, Y, valid = _fit_data(store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=two_tag_run, settings=store.settings,
                                  net_params={"epochs": 12, "batch": 32, "patience": 12,
                                              "rate": .03})
    with pytest.raises(InputError, match="training"):
        ensemble.fit(X, Y[:, ::-1], valid)


def test_diverging_specialist_raises_and_is_not_saved(two_tag_store, tmp_path):
    store = FeatureStore(two_tag_store)
    X, Y, valid = _fit_data(store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=str(tmp_path), settings=store.settings,
                                  net_params={"epochs": 5, "batch": 32, "rate": 1e12,
                                              "momentum": .99})
    with pytest.raises(NonFiniteLossError, match="Low"):
        ensemble.fit(X, Y, valid)
    assert not os.path.exists(str(tmp_path / "specialist-Low.pkl"))


def test_multilabel_net_scores_every_genre(two_tag_run, two_tag_store):
    model = load_run(two_tag_run, "multilabel")
    scores = model.predict_tiles(FeatureStore(two_tag_store).tiles[np.arange(5)])
    assert scores.shape == (5, 2) and ((scores >= 0) & (scores <= 1)).all()
