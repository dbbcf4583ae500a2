"""Timecodes and cues.csv."""
import csv

import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.film.cuesheet import check_fps, parse_timecode, timecode, write_cues
from soundtrack_cnn.film.segments import Segment
from soundtrack_cnn.film.source import SourceFile


@pytest.mark.parametrize("fps", [24, 25, 30, 60])
def test_timecodes_round_trip(fps):
    rng = np.random.RandomState(fps)
    for seconds in np.r_[0, 1 / fps, 59.99, 3599.5, 7 * 3600 + 0.3, rng.uniform(0, 4 * 3600, 200)]:
        text = timecode(seconds, fps)
        assert abs(parse_timecode(text, fps) - seconds) <= 0.5 / fps + 1e-9
        assert timecode(parse_timecode(text, fps), fps) == text
    for frames in rng.randint(0, 10 * 3600 * fps, 200):
        assert round(parse_timecode(timecode(frames / fps, fps), fps) * fps) == frames


def test_bad_timecodes_and_rates_are_named():
    for text in ("1:00:00:00x", "00:61:00:00", "00:00:00"):
        with pytest.raises(InputError, match="timecode"):
            parse_timecode(text)
    for fps in (0, -24, 23.976, True, 5000):
        with pytest.raises(InputError, match="fps"):
            check_fps(fps)
    with pytest.raises(InputError, match="time >= 0"):
        timecode(-1)


def test_cues_csv_layout(tmp_path):
    files = [SourceFile("/x/film.flac", 0.0, 100.0, (0, 10), np.zeros(0))]
    segments = [Segment(1, "cue", 0.0, 41.5, (0, 4), 0, 1.0, np.array([.2, .9, .5])),
                Segment(2, "unlike training", 41.5, 100.0, (4, 10), 0, 0.0, None)]
    path = write_cues(str(tmp_path / "cues.csv"), segments, files, ["Drama", "Horror", "Action"],
                      fps=25, top=2)
    with open(path) as stream:
        rows = list(csv.DictReader(stream))
    assert rows[0] == {"cue": "1", "kind": "cue", "file": "film.flac", "start_tc": "00:00:00:00",
                       "end_tc": "00:00:41:13", "start_s": "0.00", "end_s": "41.50",
                       "duration_s": "41.50", "genre_1": "Horror", "score_1": "0.9000",
                       "genre_2": "Action", "score_2": "0.5000", "in_distribution": "1.000"}
    assert rows[1]["kind"] == "unlike training" and rows[1]["genre_1"] == ""
    assert parse_timecode(rows[0]["end_tc"], 25) == pytest.approx(41.5, abs=0.5 / 25 + 1e-9)
