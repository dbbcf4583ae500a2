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


def test_calibration_choices_match_the_calibration_module():
    from soundtrack_cnn.cli.predict import CALIBRATIONS
    from soundtrack_cnn.evaluation.calibration import METHODS
    assert CALIBRATIONS == METHODS
