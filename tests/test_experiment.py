import json
import os

import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment import PROFILES, TrackSet, prepare_run, run_experiment
from soundtrack_cnn.store import FeatureStore


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


def test_track_set_rows_and_ranges(two_tag_store):
    tracks = FeatureStore(two_tag_store).ok_tracks[:3]
    data = TrackSet(tracks, ["Low", "High"])
    assert len(data.rows) == sum(t.stop - t.start for t in tracks)
    assert data.ranges[0][0] == 0 and data.ranges[-1][1] == len(data.rows)
    assert data.tile_labels().shape == (len(data.rows), 2)


def test_evaluate_and_report_a_trained_run(two_tag_run):
    from soundtrack_cnn.experiment import evaluate_run, report_run
    results = evaluate_run(two_tag_run)
    assert set(results) == {"specialists", "single net", "label prior", "uniform random"}
    assert results["specialists"]["tracks"]["macro_roc_auc"] > 0.8
    assert results["label prior"]["tracks"]["macro_roc_auc"] == 0.5
    assert results["specialists"]["tiles"]["n"] > results["specialists"]["tracks"]["n"] == 6
    assert os.path.exists(os.path.join(two_tag_run, "evaluation.md"))
    page = report_run(two_tag_run)
    folder = os.path.dirname(page)
    pngs = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    assert len(pngs) == 6 and all(os.path.getsize(os.path.join(folder, f)) > 5000 for f in pngs)
    assert open(page).read().count("data:audio/wav;base64,") == 6
