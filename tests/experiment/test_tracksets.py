"""Track sets: store rows by split, never sharing a track; the run record checked and sealed."""
import json
import os
import shutil

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.collection.extraction import extract
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.tracksets import (
    TrackSet,
    fit_data,
    read_experiment_json,
    track_sets,
    write_experiment_json,
)


def test_track_set_rows_and_ranges(two_tag_store):
    tracks = FeatureStore(two_tag_store).ok_tracks[:3]
    data = TrackSet(tracks, ["Low", "High"])
    assert len(data.rows) == sum(t.stop - t.start for t in tracks)
    assert data.ranges[0][0] == 0 and data.ranges[-1][1] == len(data.rows)
    assert data.tile_labels().shape == (len(data.rows), 2)
    assert list(data.tile_groups()[:1]) == [tracks[0].track_id]


def test_splits_of_a_run_never_share_a_track(two_tag_run):
    record = read_experiment_json(two_tag_run)
    store = FeatureStore(record["store"])
    rows = {name: set(TrackSet([t for t in store.ok_tracks if record["splits"][t.track_id] == name],
                               record["genres"]).rows) for name in ("train", "valid", "test")}
    assert rows["train"] and rows["valid"] and rows["test"]
    assert not (rows["train"] & rows["valid"] or rows["train"] & rows["test"]
                or rows["valid"] & rows["test"])



@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """Three 12 s tracks in a finished store."""
    folder = tmp_path_factory.mktemp("small")
    rows = ["path,tags"]
    for i in range(3):
        noise = np.random.RandomState(i).randn(12 * 22050) * 0.1
        soundfile.write(str(folder / "t{}.wav".format(i)), noise.astype(np.float32), 22050)
        rows.append("t{}.wav,Drama".format(i))
    (folder / "m.csv").write_text("\n".join(rows) + "\n")
    extract(str(folder / "m.csv"), str(folder / "store"), progress=False)
    return str(folder / "store")


def _record(store, splits):
    return {"profile": {"name": "small", "net_params": {}}, "store": store, "manifest": None,
            "seed": 0, "genres": ["Drama"], "label_statistics": {}, "splits": splits}


SPLITS = {"t0": "train", "t1": "valid", "t2": "test"}


def test_a_written_record_reads_back_and_gives_the_track_sets(small_store, tmp_path):
    write_experiment_json(str(tmp_path), _record(small_store, SPLITS))
    written = json.load(open(str(tmp_path / "experiment.json")))
    assert "checksum" in written and sorted(written["tiles_sha256"]) == ["t0", "t1", "t2"]
    _, genres, sets = track_sets(str(tmp_path))
    assert genres == ["Drama"] and [sets[s].track_ids for s in ("train", "valid", "test")] == \
        [["t0"], ["t1"], ["t2"]]


@pytest.mark.parametrize("content, problem", [
    ({}, "field 'profile' is missing"),
    ([], "it holds list instead of an object"),
    (dict(_record("/s", SPLITS), seed=-5), "field 'seed' must be an integer from 0"),
    (dict(_record("/s", SPLITS), genres=["Drama", "Drama"]), "field 'genres' must be a list of "
     "distinct"),
    (dict(_record("/s", SPLITS), splits={"t0": "training"}), "field 'splits' must be an object"),
    (dict(_record("/s", SPLITS), profile={"name": "small"}), "field 'profile' must be"),
])
def test_a_malformed_record_is_one_line_naming_the_field(tmp_path, content, problem):
    (tmp_path / "experiment.json").write_text(json.dumps(content))
    with pytest.raises(InputError) as caught:
        read_experiment_json(str(tmp_path))
    assert str(caught.value).startswith("{} is damaged: {}".format(
        tmp_path / "experiment.json", problem))


def test_tracks_moved_between_splits_by_hand_are_refused(small_store, tmp_path):
    write_experiment_json(str(tmp_path), _record(small_store, SPLITS))
    path = str(tmp_path / "experiment.json")
    record = json.load(open(path))
    record["splits"]["t2"] = "train"   # a test track moved into training
    with open(path, "w") as stream:
        json.dump(record, stream)
    with pytest.raises(InputError, match="does not match its checksum .*tracks moved between"):
        track_sets(str(tmp_path))


def test_a_run_without_validation_tracks_is_one_line(small_store, tmp_path):
    write_experiment_json(str(tmp_path), _record(small_store, {t: "train" for t in SPLITS}))
    store, _, sets = track_sets(str(tmp_path))
    with pytest.raises(InputError, match=r"the run has no validation track with tiles \(splits: "
                                         r"3 train, 0 valid, 0 test\); give some tracks the "
                                         r"split 'valid'"):
        fit_data(store, sets)


def test_a_damaged_store_is_refused_when_the_track_sets_are_read(small_store, tmp_path):
    store = str(tmp_path / "store")
    shutil.copytree(small_store, store)
    with open(os.path.join(store, "chunks", "000000.f32"), "r+b") as chunk:
        chunk.seek(100)
        chunk.write(b"\xff\xff\xff\x7f")
    write_experiment_json(str(tmp_path / "run"), _record(store, SPLITS))
    with pytest.raises(InputError, match="track t0: its tiles in .* do not match their checksum"):
        track_sets(str(tmp_path / "run"))


def test_a_track_extracted_again_since_the_run_was_prepared_is_refused(tmp_path):
    rows = ["path,tags"]
    for i in range(3):
        noise = np.random.RandomState(i).randn(12 * 22050) * 0.1
        soundfile.write(str(tmp_path / "t{}.wav".format(i)), noise.astype(np.float32), 22050)
        rows.append("t{}.wav,Drama".format(i))
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    store = str(tmp_path / "store")
    extract(str(tmp_path / "m.csv"), store, progress=False)
    write_experiment_json(str(tmp_path / "run"), _record(store, SPLITS))
    track_sets(str(tmp_path / "run"))
    louder = np.random.RandomState(9).randn(12 * 22050) * 0.3   # the file was replaced
    soundfile.write(str(tmp_path / "t1.wav"), louder.astype(np.float32), 22050)
    assert extract(str(tmp_path / "m.csv"), store, progress=False).ok == 1
    with pytest.raises(InputError, match=r"the tiles of 1 track\(s\) changed since the run was "
                                         r"prepared .*: t1; nets trained on old and new tiles"):
        track_sets(str(tmp_path / "run"))
