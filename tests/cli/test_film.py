"""``soundtrack-cnn film``: outputs, and bad input as one line with exit status 2."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, cwd=cwd)


def test_calibrated_choices_are_the_analysis_ones():
    from soundtrack_cnn.beyond.calibration import METHODS
    from soundtrack_cnn.cli import build_parser
    from soundtrack_cnn.film.analysis import CALIBRATED
    film = build_parser("film")._subparsers._group_actions[0].choices["film"]
    action, = [a for a in film._actions if "--calibrated" in a.option_strings]
    assert tuple(action.choices) == CALIBRATED == ("auto", "none") + METHODS


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
def test_a_run_evaluated_before_references_works_and_is_left_as_it_was(two_tag_run, joined_film,
                                                                       tmp_path):
    run = str(tmp_path / "old-run")
    shutil.copytree(two_tag_run, run)
    os.remove(os.path.join(run, "in-distribution.json"))
    before = sorted(os.listdir(run))
    args = [joined_film[0], "--bootstrap", "100", "--calibrated", "none"]
    old = _cli("film", run, *args, "--out", str(tmp_path / "old"))
    assert old.returncode == 0, old.stderr
    assert sorted(os.listdir(run)) == before
    new = _cli("film", two_tag_run, *args, "--out", str(tmp_path / "new"))
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "old" / "cues.csv").read_bytes() == (tmp_path / "new" / "cues.csv").read_bytes()


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
