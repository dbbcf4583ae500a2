"""Track sets: store rows by split, never sharing a track."""
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.experiment.tracksets import TrackSet, read_run_record


def test_track_set_rows_and_ranges(two_tag_store):
    tracks = FeatureStore(two_tag_store).ok_tracks[:3]
    data = TrackSet(tracks, ["Low", "High"])
    assert len(data.rows) == sum(t.stop - t.start for t in tracks)
    assert data.ranges[0][0] == 0 and data.ranges[-1][1] == len(data.rows)
    assert data.tile_labels().shape == (len(data.rows), 2)
    assert list(data.tile_groups()[:1]) == [tracks[0].track_id]


def test_splits_of_a_run_never_share_a_track(two_tag_run):
    record = read_run_record(two_tag_run)
    store = FeatureStore(record["store"])
    rows = {name: set(TrackSet([t for t in store.ok_tracks if record["splits"][t.track_id] == name],
                               record["genres"]).rows) for name in ("train", "valid", "test")}
    assert rows["train"] and rows["valid"] and rows["test"]
    assert not (rows["train"] & rows["valid"] or rows["train"] & rows["test"]
                or rows["valid"] & rows["test"])
