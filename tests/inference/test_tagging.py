"""Tagging a collection: decoding beside scoring, a resumable CSV, any file name."""
import csv
import io
import os

import numpy as np
import pytest
import soundfile

import soundtrack_cnn
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.inference.model import NumpyEnsemble
from soundtrack_cnn.inference.tagging import expand_inputs, printable, read_tags, tag_collection
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
    summary = tag_collection(model, paths, out, k=2, n_jobs=n_jobs)
    assert (summary.tagged, summary.failed, summary.skipped) == (4, 1, 0)
    rows = _rows(out)
    assert rows[0] == ["path", "tag_1", "score_1", "tag_2", "score_2", "error"]
    assert [os.fsencode(row[0]) for row in rows[1:]] == [
        os.path.join(os.fsencode(collection), name)
        for name in sorted(NAMES + [LATIN_1, b"broken.flac"])]
    for row in rows[1:]:
        if row[0].endswith("broken.flac"):
            assert "broken.flac" in row[-1] and row[1] == ""
            continue
        expected = predict_file(model, row[0], k=2)  # the path read back opens the file
        assert row[1:5] == [expected.top[0][0], "{:.4f}".format(expected.top[0][1]),
                            expected.top[1][0], "{:.4f}".format(expected.top[1][1])]
        assert row[-1] == ""


def test_a_rerun_skips_the_tagged_files_and_retries_the_failed(collection, tmp_path):
    model = _tiny_model()
    paths, _ = expand_inputs([collection])
    out = str(tmp_path / "tags.csv")
    first = tag_collection(model, paths[:2], out, k=3, n_jobs=None)
    assert (first.tagged, first.failed) == (2, 0)  # the two names before "broken.flac"
    # Killed while writing a row: the cut line is dropped, not read as a file.
    with open(out, "ab") as stream:
        stream.write(os.fsencode(paths[2]) + b",Lo")
    summary = tag_collection(model, paths, out, k=3, n_jobs=None)
    failed = summary.failed
    assert (summary.tagged, failed, summary.skipped) == (2, 1, 2)
    assert "already there" in summary.describe(out)
    rows = _rows(out)
    assert [row[0] for row in rows[1:]] == paths
    again = tag_collection(model, paths, out, k=3, n_jobs=None)
    assert (again.tagged, again.failed, again.skipped) == (0, 1, 4)
    assert _rows(out) == rows
    with pytest.raises(InputError, match="--top 2"):
        tag_collection(model, paths, out, k=2)


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
    summary = tag_collection(_tiny_model(), [path], str(tmp_path / "tags.csv"), k=2)
    assert summary.tagged == 1
