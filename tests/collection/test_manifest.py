"""Manifest reading, validation (strict and lenient) and writing."""
import os

import pytest

from soundtrack_cnn.collection.manifest import Track, check_manifest, read_manifest, write_manifest
from soundtrack_cnn.errors import InputError


@pytest.fixture
def collection(tmp_path):
    (tmp_path / "scores").mkdir()
    for name in ("scores/heat.flac", "scores/up.ogg", "b.wav"):
        (tmp_path / name).write_bytes(b"audio")
    return tmp_path


def write(folder, *rows, header="path,tags,track_id,split"):
    path = folder / "manifest.csv"
    path.write_text("\n".join((header,) + rows) + "\n")
    return str(path)


def test_good_manifest(collection):
    outside = collection / "scores" / "up.ogg"
    path = write(collection, "scores/heat.flac,Action| Crime|Action,,train",
                 "{},Comedy,up,".format(outside))
    heat, up = read_manifest(path)
    assert heat == Track(str(collection / "scores/heat.flac"), ("Action", "Crime"),
                         "scores/heat", "train")
    assert up.path == str(outside) and up.track_id == "up" and up.split is None
    assert read_manifest(path, vocabulary=["Action", "Crime", "Comedy"]) == [heat, up]


def test_relative_paths_resolve_against_the_manifest_folder(collection, monkeypatch):
    path = write(collection, "b.wav,Drama", header="path,tags")
    monkeypatch.chdir(os.path.dirname(str(collection)))
    assert read_manifest(path)[0].path == str(collection / "b.wav")


def test_every_bad_row_is_named_by_line_and_path(collection):
    path = write(collection,
                 "b.wav,Drama,,",                 # line 2: good
                 ",Drama,,",                      # 3: empty path
                 "missing.wav,Drama,,",           # 4: no such file
                 "scores/up.ogg,,,",              # 5: no tags
                 "scores/heat.flac,Western,,",    # 6: not in vocabulary
                 "scores/heat.flac,Drama,,later",  # 7: bad split
                 "./b.wav,Drama,other,",          # 8: same file as line 2
                 "scores/up.ogg,Drama,b,")        # 9: track id of line 2
    tracks, problems = check_manifest(path, vocabulary=["Drama"])
    assert [t.track_id for t in tracks] == ["b"]
    assert [line for line, _, _ in problems] == [3, 4, 5, 6, 7, 8, 9]
    reasons = [reason for _, _, reason in problems]
    for needle, reason in zip(["empty path", "missing.wav: no such file", "no tags", "Western",
                               "'later'", "same file as line 2", "already used on line 2"],
                              reasons):
        assert needle in reason and path in reason
    assert problems[1][1] == str(collection / "missing.wav")
    with pytest.raises(InputError) as caught:
        read_manifest(path, vocabulary=["Drama"])
    assert "7 bad row(s)" in str(caught.value)
    assert all(reason in str(caught.value) for reason in reasons)


def test_unusable_files(collection):
    with pytest.raises(InputError, match="no such manifest"):
        read_manifest(str(collection / "none.csv"))
    with pytest.raises(InputError, match="tags"):
        read_manifest(write(collection, "b.wav", header="path"))
    with pytest.raises(InputError, match="no tracks"):
        read_manifest(write(collection))


def test_write_then_read_round_trips(collection, tmp_path_factory):
    tracks = [Track(str(collection / "b.wav"), ("Drama", "Crime"), "b", "test"),
              Track(str(collection / "scores/up.ogg"), ("Comedy",), "scores/up", None)]
    path = str(collection / "copy.csv")
    write_manifest(path, tracks)
    assert read_manifest(path) == tracks
    assert open(path).read().splitlines()[1] == "b.wav,Drama|Crime,b,test"
    elsewhere = str(tmp_path_factory.mktemp("elsewhere") / "m.csv")
    write_manifest(elsewhere, tracks)
    assert read_manifest(elsewhere) == tracks
    assert sorted(os.listdir(os.path.dirname(elsewhere))) == ["m.csv"]


def test_a_directory_or_fifo_in_a_manifest_is_named_for_what_it_is(tmp_path):
    (tmp_path / "folder.wav").mkdir()
    os.mkfifo(str(tmp_path / "pipe.wav"))
    path = write(tmp_path, "folder.wav,Drama,,", "pipe.wav,Drama,,")
    _, problems = check_manifest(path)
    assert [reason.split(": ", 1)[1] for _, _, reason in problems] == [
        "folder.wav: {} is a directory, not an audio file".format(tmp_path / "folder.wav"),
        "pipe.wav: {} is a FIFO (named pipe), not an audio file".format(tmp_path / "pipe.wav")]


def test_a_file_name_that_is_not_utf8_round_trips_and_is_extracted(tmp_path):
    import numpy as np
    import soundfile

    from soundtrack_cnn.collection.extraction import extract
    from soundtrack_cnn.collection.store import FeatureStore
    raw = os.path.join(os.fsencode(str(tmp_path)), b"caf\xe9 theme.wav")   # Latin-1, not UTF-8
    soundfile.write(raw, (np.random.RandomState(0).randn(12 * 22050) * 0.1).astype(np.float32), 22050)
    name = os.fsdecode(raw)
    tracks = [Track(name, ("Drama",), "cafe", None)]
    manifest = str(tmp_path / "m.csv")
    write_manifest(manifest, tracks)
    assert b"caf\xe9 theme.wav,Drama,cafe," in open(manifest, "rb").read()
    assert read_manifest(manifest) == tracks
    summary = extract(manifest, str(tmp_path / "store"), progress=False)
    assert summary.ok == 1
    assert FeatureStore(str(tmp_path / "store")).tracks[0].path == name
    assert extract(manifest, str(tmp_path / "store"), progress=False).already_done == 1


def test_a_tag_of_a_hundred_thousand_characters_is_a_bad_row_not_a_crash(tmp_path):
    import subprocess
    import sys

    import numpy as np
    import soundfile
    for name in ("a.wav", "b.wav"):
        soundfile.write(str(tmp_path / name),
                        (np.random.RandomState(0).randn(22050) * 0.1).astype(np.float32), 22050)
    path = write(tmp_path, "a.wav,Drama|{},,".format("x" * 100000), "b.wav,Drama,,")
    tracks, problems = check_manifest(path)
    assert [t.track_id for t in tracks] == ["b"]
    assert problems[0][2].endswith("a tag of 100000 characters (at most 100: a genre name, not "
                                   "a text)")
    result = subprocess.run([sys.executable, "-m", "soundtrack_cnn", "collection", path,
                             "--out", str(tmp_path / "report"), "--min-tracks", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]


def test_an_unlabelled_manifest_reads_without_tags_and_leaves_out_excluded_splits(collection):
    from soundtrack_cnn.collection.manifest import folder_tracks
    pool = write(collection, "scores/heat.flac,naev,95.2,labelled,train",
                 "scores/up.ogg,naev,80.0,over_cap,test", "b.wav,0ad,12.5,labelled,",
                 header="path,game,duration_s,status,split")
    with pytest.raises(InputError, match="lacks the column.*tags.*labelled=False") as refusal:
        read_manifest(pool)
    from soundtrack_cnn.cli import describe_error  # the command line names its option
    assert "`soundtrack-cnn features {} --out OUT --unlabelled`".format(pool) in \
        describe_error(refusal.value)
    tracks = read_manifest(pool, labelled=False, exclude_splits=["test"])
    assert [(t.track_id, t.tags, t.split) for t in tracks] == [
        ("scores/heat", (), "train"), ("b", (), None)]
    tagged = write(collection, "scores/heat.flac,Action", "b.wav,", header="path,tags")
    assert check_manifest(tagged)[1][0][2].endswith("no tags")
    assert [t.tags for t in read_manifest(tagged, labelled=False)] == [("Action",), ()]
    found = folder_tracks(str(collection))
    assert [t.track_id for t in found] == ["b", "scores/heat", "scores/up"]
    assert all(os.path.isabs(t.path) and t.tags == () for t in found)
    with pytest.raises(InputError, match="no such folder"):
        folder_tracks(str(collection / "scores" / "heat.flac") + "-not-a-folder")
    (collection / "empty").mkdir()
    with pytest.raises(InputError, match="no audio"):
        folder_tracks(str(collection / "empty"))
