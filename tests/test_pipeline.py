"""The pipeline's stages: prepare, (train), evaluate."""
import json
import os

import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.pipeline import evaluate_run, prepare_run, run_experiment
from soundtrack_cnn.profiles import PROFILES


def test_prepare_run_records_splits_genres_and_statistics(two_tag_store, tmp_path):
    record = prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], n_genres=2, seed=0)
    # Music tags all 24 training tracks; High and Low tie at 12 and High sorts first.
    assert record["genres"] == ["Music", "High"]
    assert set(record["splits"].values()) == {"train", "valid", "test"}
    assert record["label_statistics"]["tags_per_track"] == {1: 12, 2: 12}
    # A rerun keeps what was recorded, even with other arguments.
    assert prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], n_genres=3) == \
        json.load(open(str(tmp_path / "experiment.json")))


def test_a_run_folder_is_never_reused_for_another_collection(two_tag_store, tmp_path):
    prepare_run(str(tmp_path), two_tag_store, PROFILES["small"], seed=0,
                manifest=str(tmp_path / "first.csv"))
    with pytest.raises(InputError, match="another --run folder"):
        run_experiment(str(tmp_path), profile="small", manifest=str(tmp_path / "second.csv"))


def test_evaluate_a_trained_run(two_tag_run):
    results = evaluate_run(two_tag_run)
    assert set(results) == {"specialists", "single net", "label prior", "uniform random"}
    assert results["specialists"]["tracks"]["macro_roc_auc"] > 0.8
    assert results["label prior"]["tracks"]["macro_roc_auc"] == 0.5
    assert results["specialists"]["tiles"]["n"] > results["specialists"]["tracks"]["n"] == 6
    assert os.path.exists(os.path.join(two_tag_run, "evaluation.md"))
