"""The pipeline's stages: prepare, (train), evaluate."""
import json
import os
import shutil

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.collection.extraction import extract
from soundtrack_cnn.collection.manifest import Track, read_manifest, write_manifest
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError, TrainingWarning
from soundtrack_cnn.experiment.pipeline import (
    evaluate_run, prepare_run, read_evaluation, run_experiment, train_run)
from soundtrack_cnn.experiment.profiles import PROFILES


def test_prepare_run_records_splits_genres_and_statistics(two_tag_store, tmp_path):
    record = prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], n_genres=2, seed=0)
    # Music tags all 24 training tracks; High and Low tie at 12 and High sorts first.
    assert record["genres"] == ["Music", "High"]
    assert set(record["splits"].values()) == {"train", "valid", "test"}
    assert record["label_statistics"]["tags_per_track"] == {1: 12, 2: 12}
    # A rerun keeps what was recorded, even with other arguments.
    assert prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], n_genres=3) == \
        json.load(open(str(tmp_path / "experiment.json")))


@pytest.mark.parametrize("choice", [{"genres": ["Low"]}, {"n_genres": 1}])
def test_a_one_genre_run_is_refused_before_training_in_one_line(two_tag_store, tmp_path,
                                                                  choice):
    # N8: it trained, then evaluate failed on a (7, 1) table and compare on clustering.
    with pytest.raises(InputError, match="a run needs at least two genres, got"):
        prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], seed=0, **choice)
    assert not os.path.exists(str(tmp_path / "experiment.json"))


def test_a_run_folder_is_never_reused_for_another_collection(two_tag_store, tmp_path):
    prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], seed=0,
                manifest=str(tmp_path / "first.csv"))
    with pytest.raises(InputError, match="another run folder"):
        run_experiment(str(tmp_path), profile="small", manifest=str(tmp_path / "second.csv"))


def test_evaluate_a_trained_run(two_tag_run):
    results = evaluate_run(two_tag_run)
    assert set(results) == {"specialists", "single net", "MFCC mean+std, logistic", "label prior",
                            "uniform random", "validation MSE"}
    mse = results["validation MSE"]
    assert mse["single net (MSE summed over K outputs)"] == \
        2 * mse["single net (MSE per output)"]
    assert results["specialists"]["tracks"]["macro_roc_auc"] > 0.8
    assert results["label prior"]["tracks"]["macro_roc_auc"] == 0.5
    assert results["specialists"]["tiles"]["n"] > results["specialists"]["tracks"]["n"] == 6
    assert os.path.exists(os.path.join(two_tag_run, "evaluation.md"))


def _films(n_films, seed):
    """{track_id: film} for films of 1 to 12 tracks."""
    rng = np.random.RandomState(seed)
    return {"f{:02d}-t{:02d}".format(f, t): "film{:02d}".format(f)
            for f in range(n_films) for t in range(rng.randint(1, 13))}


def test_film_goes_from_manifest_through_the_store_to_the_run_splits(tmp_path):
    rng = np.random.RandomState(0)
    tracks = []
    for tid, film in sorted(_films(n_films=12, seed=1).items()):
        path = str(tmp_path / "audio" / (tid + ".wav"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        soundfile.write(path, (0.1 * rng.randn(8000 * 6)).astype(np.float32), 8000)
        tracks.append(Track(path, ("Drama", "Action") if rng.rand() < .5 else ("Comedy",),
                            tid, None, film))
    manifest = str(tmp_path / "manifest.csv")
    write_manifest(manifest, tracks)
    assert open(manifest).readline().strip() == "path,tags,track_id,split,film"
    assert [t.film for t in read_manifest(manifest)] == [t.film for t in tracks]
    store = str(tmp_path / "store")
    extract(manifest, store, n_jobs=1, progress=False)
    assert {t.track_id: t.film for t in FeatureStore(store).tracks} == \
        {t.track_id: t.film for t in tracks}
    record = prepare_run(str(tmp_path / "run"), store, "small", seed=0)
    by_film = {}
    for track in tracks:
        by_film.setdefault(track.film, set()).add(record["splits"][track.track_id])
    assert all(len(names) == 1 for names in by_film.values())
    assert len(set.union(*by_film.values())) == 3
    # A corrected film column re-tags the store without extracting again.
    write_manifest(manifest, [Track(t.path, t.tags, t.track_id, None, "one") for t in tracks])
    summary = extract(manifest, store, n_jobs=1, progress=False)
    assert summary.already_done == len(tracks) and summary.ok == 0
    assert {t.film for t in FeatureStore(store).tracks} == {"one"}
    with open(os.path.join(str(tmp_path / "run"), "experiment.json")) as stream:
        assert json.load(stream)["splits"] == record["splits"]


def test_balanced_sampling_is_the_specialists_and_the_single_net_shuffles_instead():
    from soundtrack_cnn.experiment.pipeline import _models
    from soundtrack_cnn.training.ensemble import MultiLabelNet, SpecialistEnsemble
    params = dict(PROFILES["demo"].net_params, shuffle="balanced")
    models = _models("run", ["A", "B"], params, equal_updates=True)
    shuffles = {label: (cls, model_params["shuffle"]) for label, cls, _, model_params in models}
    assert shuffles == {"specialists": (SpecialistEnsemble, "balanced"),
                        "single net": (MultiLabelNet, "epoch"),
                        "single net, equal updates": (MultiLabelNet, "epoch")}
    assert params["shuffle"] == "balanced"   # the caller's dict is left alone


def test_a_profile_that_cannot_converge_warns_before_training(two_tag_run, tmp_path, capfd):
    run_dir = str(tmp_path / "run")
    shutil.copytree(two_tag_run, run_dir)
    # Twelve epochs of a few updates each: too few.  The run is trained, so
    # nothing trains again; the warnings come before that is known.
    with pytest.warns(TrainingWarning, match="too few to converge") as caught:
        train_run(run_dir, estimate=False)
    assert {str(w.message).split(":")[0] for w in caught} >= {"specialists"}
    assert capfd.readouterr().out == ""  # verbose=0: the library printed nothing


def test_the_evaluation_tables_are_read_back(two_tag_run):
    assert read_evaluation(two_tag_run).startswith("# Test tracks")


def test_an_unevaluated_run_has_no_tables_to_read(tmp_path):
    with pytest.raises(InputError, match=r"evaluate_run\('{}'\)".format(tmp_path)):
        read_evaluation(str(tmp_path))
