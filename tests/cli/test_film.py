"""``soundtrack-cnn film``: outputs, and bad input as one line with exit status 2."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile


@pytest.fixture(scope="module")
def joined_film(two_tag_corpus, tmp_path_factory):
    """A Low track, 20 s of digital silence, 20 s of noise, a High track (tests/film has the same)."""
    folder = os.path.dirname(two_tag_corpus)
    low, sr = soundfile.read(os.path.join(folder, "track30.wav"), dtype="float32")
    high, _ = soundfile.read(os.path.join(folder, "track31.wav"), dtype="float32")
    noise = 0.3 * np.random.RandomState(0).randn(20 * sr).astype(np.float32)
    path = str(tmp_path_factory.mktemp("cli_film") / "joined.wav")
    soundfile.write(path, np.concatenate([low, np.zeros(20 * sr, np.float32), noise, high]), sr)
    return path, None


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, cwd=cwd)


def test_calibrated_choices_are_the_analysis_ones():
    from soundtrack_cnn.cli.film import CALIBRATED
    from soundtrack_cnn.film.analysis import CALIBRATED as ANALYSIS
    assert CALIBRATED == ANALYSIS


@pytest.mark.slow
def test_film_writes_the_cue_sheet_verdict_and_page(two_tag_run, joined_film, tmp_path):
    path, _ = joined_film
    out = tmp_path / "out"
    result = _cli("film", two_tag_run, path, "--out", str(out), "--min-cue", "5", "--fps", "25",
                  "--bootstrap", "100")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 cue(s)")
    with open(str(out / "cues.csv")) as stream:
        rows = list(csv.DictReader(stream))
    assert [r["genre_1"] for r in rows if r["kind"] == "cue"] == ["Low", "High"]
    assert rows[-1]["end_tc"] == "00:01:08:00"
    record = json.loads((out / "verdict.json").read_text())
    assert record["settings"]["fps"] == 25 and record["settings"]["min_cue_s"] == 5
    assert record["verdict"]["genres"][0]["interval"] is not None
    assert (out / "film.html").exists()


@pytest.mark.slow
def test_bad_inputs_are_named(two_tag_run, joined_film, tmp_path):
    missing = str(tmp_path / "nowhere.flac")
    result = _cli("film", two_tag_run, missing, "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and missing in result.stderr
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC but nothing else")
    result = _cli("film", two_tag_run, joined_film[0], str(broken), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "broken.flac" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # An export has no training tiles to tell music like them from the rest.
    export = tmp_path / "weights.npz"
    export.write_bytes(b"")
    result = _cli("film", str(export), joined_film[0], "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "run folder" in result.stderr
