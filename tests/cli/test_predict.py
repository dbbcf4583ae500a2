"""``soundtrack-cnn predict`` on folders (one CSV) and with --timeline."""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, cwd=cwd)


def _track(corpus, number):
    return os.path.join(os.path.dirname(corpus), "track{:02d}.wav".format(number))


@pytest.mark.slow
def test_folder_with_a_corrupt_file_gets_one_error_row(two_tag_run, two_tag_corpus, tmp_path):
    music = tmp_path / "music"
    (music / "disc 1").mkdir(parents=True)
    shutil.copy(_track(two_tag_corpus, 30), str(music / "disc 1" / "low.wav"))
    shutil.copy(_track(two_tag_corpus, 31), str(music / "high.wav"))
    (music / "broken.flac").write_bytes(b"fLaC but nothing else")
    (music / "notes.txt").write_text("not audio: ignored")
    result = _cli("predict", two_tag_run, str(music), "--top", "2", cwd=str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "2 file(s) tagged, 1 could not be read" in result.stdout
    with open(str(tmp_path / "tags.csv")) as stream:
        rows = list(csv.DictReader(stream))
    assert [os.path.relpath(r["path"], str(music)) for r in rows] == [
        "broken.flac", "high.wav", os.path.join("disc 1", "low.wav")]
    broken, high, low = rows
    assert "broken.flac" in broken["error"] and broken["tag_1"] == ""
    assert (high["tag_1"], low["tag_1"]) == ("High", "Low") and not high["error"]
    assert abs(float(high["score_1"]) + float(high["score_2"]) - 1) < 1e-3


@pytest.mark.slow
def test_timeline_shows_the_switch_between_two_joined_tracks(two_tag_run, two_tag_corpus,
                                                             tmp_path):
    low, sr = soundfile.read(_track(two_tag_corpus, 32), dtype="float32")
    high, _ = soundfile.read(_track(two_tag_corpus, 33), dtype="float32")
    joined = str(tmp_path / "joined.wav")
    soundfile.write(joined, np.concatenate([low, high]), sr)
    switch = len(low) / float(sr)
    out = tmp_path / "timeline"
    result = _cli("predict", two_tag_run, joined, "--timeline", str(out))
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "joined.timeline.json").read_text())
    starts, scores = np.array(record["starts"]), np.array(record["scores"])
    tile = record["tile_seconds"]
    high_first = scores[:, record["genres"].index("High")] > scores[:, record["genres"].index("Low")]
    # Tiles wholly inside one track are called right; the first High tile
    # starts within one tile of the switch.
    assert not high_first[starts + tile <= switch].any(), high_first
    assert high_first[starts >= switch].all(), high_first
    first = starts[np.argmax(high_first)]
    assert abs(first - switch) <= tile, (first, switch)
    with open(str(out / "joined.timeline.csv")) as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["start_s", "end_s", "Low", "High"] and len(rows) == len(starts) + 1
    assert (out / "joined.timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_parser_offers_the_library_s_own_choices():
    from soundtrack_cnn.beyond.calibration import METHODS
    from soundtrack_cnn.cli import build_parser
    from soundtrack_cnn.training.modelfiles import KINDS
    commands = build_parser("predict")._subparsers._group_actions[0].choices
    for command, option, choices in (("predict", "--calibrated", METHODS),
                                     ("predict", "--kind", KINDS), ("export", "--kind", KINDS)):
        action, = [a for a in commands[command]._actions if option in a.option_strings]
        assert tuple(action.choices) == tuple(choices)


# -- engines, on a model of random weights (fast) ------------------------------------------

def _random_weights(path):
    """An export (.npz) of random weights with the study's layers and small widths."""
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.files import write_bytes
    from soundtrack_cnn.training.modelfiles import pack_weights
    rng = np.random.RandomState(0)
    shapes = {"conv1": (4, 1, 5, 5), "conv2": (4, 4, 4, 4), "conv3": (4, 4, 2, 2),
              "conv4": (4, 4, 2, 2), "hidden5": (16, 3), "hidden6": (3, 3), "output": (3, 1)}
    params = {genre: {layer: [(rng.randn(*shape) * .3).astype(np.float32), (rng.randn(
        shape[0] if layer.startswith("conv") else shape[1]) * .3).astype(np.float32)]
        for layer, shape in shapes.items()} for genre in ("Low", "High")}
    metadata = {"kind": "ensemble", "genres": ["Low", "High"],
                "feature_settings": FeatureSettings().to_dict(),
                "normalizer": {"mean": [0.0] * 40, "std": [10.0] * 40},
                "hyperparameters": dict(c1=4, c2=4, c3=4, c4=4, h5=3, h6=3)}
    write_bytes(path, pack_weights(metadata, params))
    return path


@pytest.fixture(scope="module")
def random_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("random_export")
    t = np.arange(22050 * 15) / 22050.0
    soundfile.write(str(folder / "song.wav"), (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
                    22050)
    return _random_weights(str(folder / "random.npz")), str(folder / "song.wav")


_WITHOUT_ONNXRUNTIME = """
import sys
sys.modules["onnxruntime"] = None  # how Python blocks an import: as if it were not installed
from soundtrack_cnn.cli import main
main(sys.argv[1:])
"""


def test_without_onnxruntime_predict_runs_on_numpy_and_says_so_in_one_line(random_export):
    weights, song = random_export
    result = subprocess.run([sys.executable, "-c", _WITHOUT_ONNXRUNTIME, "predict", weights, song],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1
    assert "numpy engine" in result.stderr and "onnxruntime is not installed" in result.stderr
    assert result.stdout.startswith(song + ": ")
    refused = subprocess.run([sys.executable, "-c", _WITHOUT_ONNXRUNTIME, "predict", weights, song,
                              "--engine", "onnx"], capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "onnxruntime is not installed" in refused.stderr and weights in refused.stderr


def test_predict_names_its_engine_and_both_engines_agree(random_export):
    weights, song = random_export
    found = {}
    for engine in ("numpy", "onnx"):
        result = _cli("predict", weights, song, "--json", "--engine", engine, "--jobs", "1")
        assert result.returncode == 0, result.stderr
        assert {"numpy": "numpy engine", "onnx": "ONNX Runtime engine (1 thread"}[engine] \
            in result.stderr
        found[engine] = json.loads(result.stdout)[0]
    assert [g for g, _ in found["onnx"]["top"]] == [g for g, _ in found["numpy"]["top"]]
    np.testing.assert_allclose([s for _, s in found["onnx"]["top"]],
                               [s for _, s in found["numpy"]["top"]], atol=1e-5)


def test_export_writes_onnx_or_npz_from_an_export_and_refuses_other_names(random_export,
                                                                          tmp_path):
    weights, song = random_export
    for name in ("model.onnx", "copy.npz"):
        result = _cli("export", weights, str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        tagged = _cli("predict", str(tmp_path / name), song, "--json")
        assert tagged.returncode == 0, tagged.stderr
    result = _cli("export", weights, str(tmp_path / "model.bin"))
    assert result.returncode == 2 and "model.bin" in result.stderr
    assert not (tmp_path / "model.bin").exists()


def test_a_rerun_of_a_folder_skips_what_the_csv_holds(random_export, tmp_path):
    weights, song = random_export
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.wav", "b.wav"):
        shutil.copy(song, str(music / name))
    out = str(tmp_path / "tags.csv")
    first = _cli("predict", weights, str(music), "--csv", out)
    assert first.returncode == 0 and "2 file(s) tagged" in first.stdout, first.stderr
    shutil.copy(song, str(music / "c.wav"))
    second = _cli("predict", weights, str(music), "--csv", out)
    assert "1 file(s) tagged, 0 could not be read, 2 already there" in second.stdout
    with open(out) as stream:
        assert [os.path.basename(r["path"]) for r in csv.DictReader(stream)] == \
            ["a.wav", "b.wav", "c.wav"]


@pytest.mark.parametrize("what", ["missing", "empty folder", "store", "csv"])
def test_upgrade_of_something_that_is_no_run_says_so_in_one_line(tmp_path, what):
    # N12: these printed nothing and exited 0.
    target = tmp_path / "target"
    if what == "empty folder":
        target.mkdir()
    elif what == "store":
        target.mkdir()
        (target / "store.json").write_text("{}")
    elif what == "csv":
        target = tmp_path / "manifest.csv"
        target.write_text("path,tags\na.wav,Drama\n")
    result = _cli("upgrade", str(target))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and str(target) in result.stderr, result.stderr
    assert ("no such run folder" if what in ("missing", "csv") else
            "holds no trained ensemble") in result.stderr
