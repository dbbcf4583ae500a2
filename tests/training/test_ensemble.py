"""The estimators: learning, resuming, refusing, and scikit-learn's contract."""
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest
from processes import sigint_default
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import PredefinedSplit
from sklearn_checks import PARAMETER_CHECKS, UNFITTED_CHECK, run_check

from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.tracksets import TrackSet
from soundtrack_cnn.training.callbacks import NonFiniteLossError
from soundtrack_cnn.training.checkpoint import ModelFolder
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.training.ensemble import MultiLabelNet, SpecialistEnsemble
from soundtrack_cnn.training.loading import load_run
from soundtrack_cnn.training.modelfiles import model_file

TINY = {"epochs": 2, "batch": 50, "c1": 4, "c2": 4, "c3": 4, "c4": 4, "h5": 4, "h6": 4}


def _test_paths(two_tag_corpus):
    folder = os.path.dirname(two_tag_corpus)
    return [(os.path.join(folder, "track{:02d}.wav".format(i)), "Low" if i % 2 == 0 else "High")
            for i in range(30, 36)]


def _fit_data(store):
    """Tiles, labels and track groups of the train + valid tracks, and the validation split."""
    tracks = [t for t in store.ok_tracks if t.split in ("train", "valid")]
    data = TrackSet(tracks, ["Low", "High"])
    valid = np.repeat([t.split == "valid" for t in tracks], [b - a for a, b in data.ranges])
    split = PredefinedSplit(np.where(valid, 0, -1))
    return TileView(store.tiles, data.rows), data.tile_labels(), data.tile_groups(), split


def test_ensemble_ranks_the_audible_tag_first_on_held_out_tracks(two_tag_run, two_tag_corpus):
    ensemble = load_run(two_tag_run)
    paths, truth = zip(*_test_paths(two_tag_corpus))
    predictions = ensemble.predict_tracks(paths, k=2)
    firsts = [p.top[0][0] for p in predictions]
    assert sum(f == t for f, t in zip(firsts, truth)) >= 5, firsts
    assert all(abs(sum(score for _, score in p.top) - 1) < 1e-6 for p in predictions)


@pytest.mark.slow
def test_interrupted_fit_resumes_with_only_the_missing_genres(two_tag_store, tmp_path):
    run_dir = str(tmp_path / "run")
    script = "import sys; from soundtrack_cnn.cli import main; main(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", script, "train", two_tag_store, "--out", run_dir,
         "--genres", "Low", "High", "--profile", "small", "--max-epochs", "30", "--verbose",
         "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
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
    folder = ModelFolder(run_dir, "ensemble")
    assert set(folder.read()["models"]) == {"Low"}
    assert not os.path.exists(os.path.join(run_dir, model_file("ensemble", "High")))
    first = os.path.join(run_dir, model_file("ensemble", "Low"))
    low_mtime = os.path.getmtime(first)

    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=run_dir, settings=store.settings,
                                  net_params={"epochs": 30, "batch": 64, "patience": 2},
                                  validation=split, warm_start=True).fit(X, Y, groups)
    assert os.path.getmtime(first) == low_mtime
    assert set(folder.read()["models"]) == {"Low", "High"}
    assert set(ensemble.models_) == {"Low", "High"}


def test_resume_with_other_data_is_refused(two_tag_run, two_tag_store):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=two_tag_run, settings=store.settings,
                                  net_params={"epochs": 12, "batch": 32, "patience": 12,
                                              "rate": .03}, validation=split, warm_start=True)
    with pytest.raises(InputError, match="training"):
        ensemble.fit(X, Y[:, ::-1], groups)


def test_a_folder_holding_a_model_is_only_resumed_when_asked(two_tag_run, two_tag_store):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    with pytest.raises(InputError, match="warm_start"):
        SpecialistEnsemble(["Low", "High"], run_dir=two_tag_run, validation=split).fit(X, Y, groups)


def test_a_bad_n_jobs_is_refused_before_anything_is_written(two_tag_store, tmp_path):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    with pytest.raises(InputError, match="n_jobs"):
        SpecialistEnsemble(["Low", "High"], run_dir=str(tmp_path / "run"), validation=split,
                           n_jobs=0).fit(X, Y, groups)
    assert not os.path.exists(str(tmp_path / "run"))


@pytest.mark.slow
def test_diverging_specialist_raises_and_is_not_saved(two_tag_store, tmp_path):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    ensemble = SpecialistEnsemble(["Low", "High"], run_dir=str(tmp_path), settings=store.settings,
                                  net_params={"epochs": 5, "batch": 32, "rate": 1e12,
                                              "momentum": .99}, validation=split)
    with pytest.raises(NonFiniteLossError, match="Low"):
        ensemble.fit(X, Y, groups)
    assert not os.path.exists(str(tmp_path / model_file("ensemble", "Low")))


@pytest.mark.slow
def test_worker_processes_train_the_same_specialists_and_checkpoint_each(two_tag_store,
                                                                        tmp_path, capsys):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    fitted = {n_jobs: SpecialistEnsemble(["Low", "High"], net_params=TINY, validation=split,
                                         settings=store.settings, random_state=7, verbose=1,
                                         run_dir=str(tmp_path / str(n_jobs)),
                                         n_jobs=n_jobs).fit(X, Y, groups)
              for n_jobs in (1, 2)}
    assert "training 2 specialists, 2 at a time" in capsys.readouterr().out
    np.testing.assert_array_equal(fitted[2].predict_proba(X), fitted[1].predict_proba(X))
    assert fitted[2].summaries_ == fitted[1].summaries_
    assert sorted(ModelFolder(str(tmp_path / "2"), "ensemble").read()["models"]) == ["High", "Low"]


def test_multilabel_net_scores_every_genre(two_tag_run, two_tag_store):
    model = load_run(two_tag_run, "multilabel")
    scores = model.predict_tiles(FeatureStore(two_tag_store).tiles[np.arange(5)])
    assert scores.shape == (5, 2) and ((scores >= 0) & (scores <= 1)).all()


def test_misspelt_hyperparameter_is_refused_before_anything_is_written(random_tiles, tmp_path):
    X, y = random_tiles
    run_dir = tmp_path / "run"
    with pytest.raises(InputError, match="epoch"):
        SpecialistEnsemble(["a"], net_params={"epoch": 2}, run_dir=str(run_dir)).fit(X, y)
    assert not run_dir.exists()


def test_unfitted_use_raises_not_fitted_error(random_tiles):
    with pytest.raises(NotFittedError):
        SpecialistEnsemble().predict_proba(random_tiles[0])


@pytest.mark.parametrize("cls", [SpecialistEnsemble, MultiLabelNet])
@pytest.mark.parametrize("check", PARAMETER_CHECKS + [UNFITTED_CHECK])
def test_scikit_learn_estimator_checks(cls, check):
    run_check(check, cls())


@pytest.mark.slow
def test_clone_get_set_params_and_pickle_round_trip(random_tiles):
    X, y = random_tiles
    Y = np.column_stack([y[:, 0], 1 - y[:, 0]])
    groups = np.arange(len(X)) // 10
    ensemble = SpecialistEnsemble(["a", "b"], net_params=TINY, random_state=3)
    twin = clone(ensemble).set_params(random_state=3)
    assert twin.get_params() == ensemble.get_params()
    first = ensemble.fit(X, Y, groups).predict_proba(X[:20])
    np.testing.assert_array_equal(twin.fit(X, Y, groups).predict_proba(X[:20]), first)
    again = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(again.predict_proba(X[:20]), first)
    assert ensemble.predict(X[:20]).tolist() == (first >= 0.5).astype(int).tolist()
    assert ensemble.classes_.tolist() == ["a", "b"]


@pytest.mark.slow
def test_fit_leaves_lasagnes_global_rng_alone(random_tiles):
    import lasagne.random
    before = lasagne.random.get_rng()
    X, y = random_tiles
    SpecialistEnsemble(net_params=TINY).fit(X, y, np.arange(len(X)) // 10)
    assert lasagne.random.get_rng() is before


def _random_trunk(path, settings, seed):
    from soundtrack_cnn.beyond.trunk import Trunk, trunk_shapes, write_trunk
    sizes = {key: TINY[key] for key in ("c1", "c2", "c3", "c4", "h5", "h6")}
    rng = np.random.RandomState(seed)
    params = {layer: [rng.randn(*w).astype(np.float32) * .1, np.zeros(b, np.float32)]
              for layer, (w, b) in trunk_shapes(sizes, settings).items()}
    trunk = Trunk(params, settings, sizes, {"command": "test", "data": {"tracks": 3}})
    write_trunk(path, trunk)
    return trunk


def test_fine_tuning_starts_from_the_trunk_records_it_and_resumes_only_with_it(two_tag_store,
                                                                               tmp_path):
    store = FeatureStore(two_tag_store)
    X, Y, groups, split = _fit_data(store)
    trunk = _random_trunk(str(tmp_path / "t.npz"), store.settings, seed=0)
    run_dir = str(tmp_path / "frozen")
    frozen = SpecialistEnsemble(["Low", "High"], net_params=TINY, validation=split,
                                settings=store.settings, run_dir=run_dir, init=trunk,
                                freeze_conv=True).fit(X, Y, groups)
    tuned = SpecialistEnsemble(["Low", "High"], net_params=TINY, validation=split,
                               settings=store.settings, init=trunk).fit(X, Y, groups)
    for name in ("Low", "High"):
        kept, moved = (model.models_[name].get_all_params_values() for model in (frozen, tuned))
        np.testing.assert_array_equal(kept["conv1"][0], trunk.params["conv1"][0])
        assert not np.array_equal(kept["hidden6"][0], trunk.params["hidden6"][0])
        assert not np.array_equal(moved["conv1"][0], trunk.params["conv1"][0])
    init = ModelFolder(run_dir, "ensemble").read()["init"]
    assert init["sha256"] == trunk.sha256 and init["freeze_conv"] is True
    assert load_run(run_dir).init_["sha256"] == trunk.sha256
    other = _random_trunk(str(tmp_path / "other.npz"), store.settings, seed=1)
    for init_trunk, freeze in ((other, True), (trunk, False), (None, False)):
        with pytest.raises(InputError, match="initial weights"):
            SpecialistEnsemble(["Low", "High"], net_params=TINY, validation=split,
                               settings=store.settings, run_dir=run_dir, warm_start=True,
                               init=init_trunk, freeze_conv=freeze).fit(X, Y, groups)
    with pytest.raises(InputError, match="asks for"):
        SpecialistEnsemble(["Low", "High"], net_params=dict(TINY, h6=5), validation=split,
                           settings=store.settings, init=trunk).fit(X, Y, groups)
