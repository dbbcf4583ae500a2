"""Tagging a collection: decoding beside scoring, a resumable CSV, any file name."""
import csv
import io
import os
import shutil

import numpy as np
import pytest
import soundfile

import soundtrack_cnn
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.inference.model import NumpyEnsemble
from soundtrack_cnn.files import printable, sha256_file
from soundtrack_cnn.inference.batch import expand_inputs, read_tags, predict_collection
from soundtrack_cnn.scoring.prediction import predict_file


def _tiny_model():
    """Random weights with the study's layers and small widths: a fast, real model."""
    rng = np.random.RandomState(0)
    shapes = {"conv1": (4, 1, 5, 5), "conv2": (4, 4, 4, 4), "conv3": (4, 4, 2, 2),
              "conv4": (4, 4, 2, 2), "hidden5": (16, 3), "hidden6": (3, 3), "output": (3, 1)}
    params = {genre: {layer: [rng.randn(*shape) * .3, rng.randn(
        shape[0] if layer.startswith("conv") else shape[1]) * .3]
        for layer, shape in shapes.items()} for genre in ("Low", "High")}
    metadata = {"kind": "ensemble", "genres": ["Low", "High"],
                "feature_settings": soundtrack_cnn.FeatureSettings().to_dict(),
                "normalizer": {"mean": [0.0] * 40, "std": [10.0] * 40}}
    return NumpyEnsemble(metadata, params)


#: File names as bytes: UTF-8 ones, one with a comma and a quote, one Latin-1 (not UTF-8).
NAMES = ["Sinfonía.wav".encode(), b'a, "quoted".wav', b"d.wav"]
LATIN_1 = b"caf\xe9 latin-1.wav"


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    folder = tmp_path_factory.mktemp("collection")
    rng = np.random.RandomState(1)
    for index, name in enumerate(NAMES + [LATIN_1]):
        t = np.arange(int(22050 * (12 + 3 * index))) / 22050.0
        signal = 0.3 * np.sin(2 * np.pi * (150 + 400 * index) * t) + 0.01 * rng.randn(len(t))
        soundfile.write(os.path.join(os.fsencode(str(folder)), name), signal.astype(np.float32),
                        22050)
    with open(os.path.join(os.fsencode(str(folder)), b"broken.flac"), "wb") as stream:
        stream.write(b"fLaC and nothing else")
    return str(folder)


def _rows(path):
    with open(path, "rb") as stream:
        return list(csv.reader(io.StringIO(stream.read().decode("utf-8", "surrogateescape"))))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_collection_is_tagged_in_input_order_with_names_kept_byte_for_byte(
        collection, tmp_path, n_jobs):
    model = _tiny_model()
    paths, _ = expand_inputs([collection])
    out = str(tmp_path / "tags.csv")
    summary = predict_collection(model, paths, out, k=2, n_jobs=n_jobs)
    assert (summary.tagged, summary.failed, summary.skipped) == (4, 1, 0)
    rows = _rows(out)
    assert rows[0] == ["path", "tag_1", "score_1", "tag_2", "score_2", "error", "size",
                       "mtime_ns", "sha256"]
    assert [os.fsencode(row[0]) for row in rows[1:]] == [
        os.path.join(os.fsencode(collection), name)
        for name in sorted(NAMES + [LATIN_1, b"broken.flac"])]
    for row in rows[1:]:
        info = os.stat(row[0])  # the path read back opens the file
        assert row[6:] == [str(info.st_size), str(info.st_mtime_ns), sha256_file(row[0])]
        if row[0].endswith("broken.flac"):
            assert "broken.flac" in row[5] and row[1] == ""
            continue
        expected = predict_file(model, row[0], k=2)
        assert row[1:5] == [expected.top[0][0], "{:.4f}".format(expected.top[0][1]),
                            expected.top[1][0], "{:.4f}".format(expected.top[1][1])]
        assert row[5] == ""


def test_a_rerun_skips_the_tagged_files_and_retries_the_failed(collection, tmp_path):
    model = _tiny_model()
    paths, _ = expand_inputs([collection])
    out = str(tmp_path / "tags.csv")
    first = predict_collection(model, paths[:2], out, k=3, n_jobs=None)
    assert (first.tagged, first.failed) == (2, 0)  # the two names before "broken.flac"
    # Killed while writing a row: the cut line is dropped, not read as a file.
    with open(out, "ab") as stream:
        stream.write(os.fsencode(paths[2]) + b",Lo")
    summary = predict_collection(model, paths, out, k=3, n_jobs=None)
    failed = summary.failed
    assert (summary.tagged, failed, summary.skipped) == (2, 1, 2)
    assert "already there" in summary.describe(out)
    rows = _rows(out)
    assert [row[0] for row in rows[1:]] == paths
    again = predict_collection(model, paths, out, k=3, n_jobs=None)
    assert (again.tagged, again.failed, again.skipped) == (0, 1, 4)
    assert _rows(out) == rows
    with pytest.raises(InputError, match="not those of a CSV of the top 2 tags"):
        predict_collection(model, paths, out, k=2)


def _write_tone(path, hz, seconds=12):
    t = np.arange(int(22050 * seconds)) / 22050.0
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 22050)


def test_a_changed_file_is_tagged_again_and_a_deleted_ones_row_dropped(tmp_path):
    model = _tiny_model()
    folder = tmp_path / "music"
    folder.mkdir()
    for name, hz in (("a.wav", 200), ("b.wav", 3000), ("c.wav", 800)):
        _write_tone(str(folder / name), hz)
    out = str(tmp_path / "tags.csv")
    paths, _ = expand_inputs([str(folder)])
    predict_collection(model, paths, out, k=2)
    before = {row["path"]: row for row in read_tags(out, 2).values()}
    # b.wav replaced by other audio of the same size, its mtime kept (mv, cp -p, an
    # archive would keep it): only the sha256 tells; c.wav deleted.
    info = os.stat(str(folder / "b.wav"))
    _write_tone(str(folder / "b.wav"), 200)
    os.utime(str(folder / "b.wav"), ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(str(folder / "b.wav")).st_size == info.st_size
    os.unlink(str(folder / "c.wav"))
    paths, _ = expand_inputs([str(folder)])
    summary = predict_collection(model, paths, out, k=2)
    assert (summary.tagged, summary.skipped, summary.dropped) == (1, 1, 1)
    assert "1 file(s) tagged" in summary.describe(out) and "1 row(s) dropped" in \
        summary.describe(out)
    after = read_tags(out, 2)
    assert sorted(os.path.basename(path) for path in after) == ["a.wav", "b.wav"]
    b = str(folder / "b.wav")
    assert after[b]["sha256"] == sha256_file(b) != before[b]["sha256"]
    assert after[b]["tag_1"] == after[str(folder / "a.wav")]["tag_1"]  # now a's audio
    # Unchanged files stay tagged; a CSV of an older version (no size, mtime,
    # sha256) has its files tagged again.
    assert predict_collection(model, paths, out, k=2).skipped == 2
    with open(out, "w") as stream:
        stream.write("path,tag_1,score_1,tag_2,score_2,error\n{},Low,0.6,High,0.4,\n".format(b))
    assert predict_collection(model, paths, out, k=2).tagged == 2


def test_aliases_of_one_file_are_tagged_once(tmp_path, monkeypatch):
    model = _tiny_model()
    (tmp_path / "d").mkdir()
    _write_tone(str(tmp_path / "x.wav"), 440)
    os.symlink("x.wav", str(tmp_path / "link.wav"))
    monkeypatch.chdir(str(tmp_path))
    paths, _ = expand_inputs(["x.wav", "x.wav", "./x.wav", "d/../x.wav", "link.wav"])
    assert paths == ["x.wav"]
    out = str(tmp_path / "tags.csv")
    assert predict_collection(model, ["x.wav", "./x.wav", "link.wav"], out, k=2).tagged == 1
    assert list(read_tags(out, 2)) == ["x.wav"]
    # Named another way next time, it is still the file already tagged.
    again = predict_collection(model, ["d/../x.wav"], out, k=2)
    assert (again.tagged, again.skipped) == (0, 1) and list(read_tags(out, 2)) == ["x.wav"]


@pytest.mark.parametrize("kind", ["fifo", "device", "input", "not a csv"])
def test_a_csv_path_that_is_not_a_tags_file_is_refused_before_it_is_opened(tmp_path, kind):
    model = _tiny_model()
    song = str(tmp_path / "a.wav")
    _write_tone(song, 440)
    out = {"fifo": str(tmp_path / "fifo.csv"), "device": "/dev/null", "input": song,
           "not a csv": str(tmp_path / "b.wav")}[kind]
    if kind == "fifo":
        os.mkfifo(out)  # opened for reading, it would block for ever
    if kind == "not a csv":
        shutil.copy(song, out)
    expected = {"fifo": "fifo.csv: is a FIFO", "device": "/dev/null: is a character device",
                "input": "a.wav: is also this command's input", "not a csv": "not a tags CSV"}
    before = open(song, "rb").read()
    with pytest.raises(InputError, match=expected[kind]):
        predict_collection(model, [song], out, k=2)
    assert open(song, "rb").read() == before


def test_printable_names_show_the_undecodable_bytes():
    path = os.fsdecode(b"/music/caf\xe9.wav")
    assert printable(path) == "/music/caf\\xe9.wav"
    assert os.fsencode(path) == b"/music/caf\xe9.wav"


def test_a_folder_without_audio_is_one_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio")
    with pytest.raises(InputError, match="no audio files"):
        expand_inputs([str(tmp_path)])
    assert read_tags(str(tmp_path / "absent.csv"), 5) == {}


def test_a_file_whose_name_is_not_utf8_is_tagged(collection, tmp_path):
    path = os.fsdecode(os.path.join(os.fsencode(collection), LATIN_1))
    summary = predict_collection(_tiny_model(), [path], str(tmp_path / "tags.csv"), k=2)
    assert summary.tagged == 1
