"""A folder tree of real (generated, tagged) audio files labelled from a small IMDb file."""
import csv
import os

import mutagen.flac
import mutagen.id3
import mutagen.mp3
import mutagen.oggvorbis
import mutagen.wave
import numpy as np
import pytest
import soundfile
from imdb_fixture import write_basics, write_ratings

from soundtrack_cnn.cli import main
from soundtrack_cnn.collection.manifest import read_manifest
from soundtrack_cnn.errors import InputError, InputWarning
from soundtrack_cnn.labelling.folder import find_groups, label_collection, parse_name, read_tags


def _audio(path, album=None, date=None):
    """One second of a tone, with album / date tags written by mutagen when given."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = np.arange(8000) / 8000.0
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
    if album is None and date is None:
        return
    extension = os.path.splitext(path)[1]
    if extension == ".wav":
        audio = mutagen.wave.WAVE(path)
        audio.add_tags()
        audio.tags.add(mutagen.id3.TALB(encoding=3, text=[album]))
        if date:
            audio.tags.add(mutagen.id3.TDRC(encoding=3, text=[date]))
        audio.save()
        return
    audio = {".flac": mutagen.flac.FLAC, ".ogg": mutagen.oggvorbis.OggVorbis,
             ".mp3": mutagen.mp3.EasyMP3}[extension](path)
    if audio.tags is None:
        audio.add_tags()
    audio["album"] = album
    if date:
        audio["date"] = date
    audio.save()


@pytest.fixture
def shelf(tmp_path):
    """A collection as ripped: one folder per film, some tagged, some not."""
    root = tmp_path / "Soundtracks"
    files = {
        "Heat (1995)/01 Heat.flac": None,                        # folder name and year only
        "Heat (1995)/02 Coffee Shop.flac": None,
        "Heat [1986] OST/CD1/01.wav": None,                      # disc folders fold in
        "Heat [1986] OST/CD2/01.wav": None,
        "Amelie - Original Soundtrack/valse.ogg": ("Le Fabuleux Destin d'Amélie Poulain", "2001"),
        "Crash/01.flac": None,                                   # two Crash films, no year
        "Misc/spirited.mp3": ("Spirited Away OST", "2001-07-20"),  # two albums in one folder
        "Misc/runner.flac": ("Blade Runner", "2007"),            # a reissue's date
        "Death Race 2000/theme.wav": ("Death Race 2000", None),
        "Unknown Band - Not A Film/x.flac": None,
        "loose.flac": None,                                      # nothing to look up
    }
    for name, tags in files.items():
        _audio(str(root / name), *(tags or ()))
    (root / "Misc" / "cover.jpg").write_bytes(b"\xff\xd8")
    (root / "Misc" / "bonus.m4a").write_bytes(b"\x00" * 8)
    return str(root)


@pytest.fixture
def basics(tmp_path):
    return write_basics(tmp_path / "title.basics.tsv.gz")


def _review(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return {(row["folder"], row["album"]): row for row in csv.DictReader(stream)}


def test_parse_name_reads_years_and_drops_soundtrack_words():
    assert parse_name("Heat (1995)") == [("heat", 1995)]
    assert parse_name("The Dark Knight (Original Motion Picture Soundtrack)") == [
        ("the dark knight", None)]
    assert parse_name("Spirited Away OST") == [("spirited away", None)]
    assert parse_name("1917") == [("1917", None)]
    assert ("blade runner 2049", None) in parse_name("Blade Runner 2049 - Score")


def test_tags_are_read_from_every_format(tmp_path):
    for extension in (".wav", ".flac", ".ogg", ".mp3"):
        path = str(tmp_path / ("a" + extension))
        _audio(path, "Heat", "1995-06-01")
        assert read_tags(path) == {"album": "Heat", "year": 1995}, extension
    _audio(str(tmp_path / "plain.flac"))
    assert read_tags(str(tmp_path / "plain.flac")) == {"album": None, "year": None}
    (tmp_path / "broken.mp3").write_bytes(b"ID3garbage")
    assert read_tags(str(tmp_path / "broken.mp3")) == {"album": None, "year": None}


def test_groups_fold_discs_and_split_folders_of_several_albums(shelf):
    groups, others = find_groups(shelf)
    by_place = {(g.folder, g.album): g.files for g in groups}
    assert by_place[("Heat [1986] OST", "")] == ["Heat [1986] OST/CD1/01.wav",
                                                 "Heat [1986] OST/CD2/01.wav"]
    assert ("Misc", "Blade Runner") in by_place and ("Misc", "Spirited Away OST") in by_place
    assert others == ["Misc/bonus.m4a"]


def test_label_writes_the_manifest_and_reports_what_it_could_not_decide(shelf, basics, tmp_path):
    out = str(tmp_path / "manifest.csv")
    with pytest.warns(InputWarning, match="bonus.m4a: cannot be decoded .*; left out"):
        summary = label_collection(shelf, basics, out)
    tracks = {t.track_id: t for t in read_manifest(out)}
    expected = {
        "Heat (1995)/01 Heat.flac": ("tt0113277", ("Action", "Crime", "Drama")),
        "Heat (1995)/02 Coffee Shop.flac": ("tt0113277", ("Action", "Crime", "Drama")),
        "Heat [1986] OST/CD1/01.wav": ("tt0091188", ("Action", "Thriller")),
        "Heat [1986] OST/CD2/01.wav": ("tt0091188", ("Action", "Thriller")),
        "Amelie - Original Soundtrack/valse.ogg": ("tt0211915", ("Comedy", "Romance")),
        "Misc/spirited.mp3": ("tt0245429", ("Adventure", "Animation", "Family")),
        "Misc/runner.flac": ("tt0083658", ("Action", "Drama", "Sci-Fi")),
        "Death Race 2000/theme.wav": ("tt0072856", ("Action", "Comedy", "Sci-Fi")),
    }
    assert {tid: (t.film, t.tags) for tid, t in tracks.items()} == expected
    assert all(os.path.isfile(t.path) and t.split is None for t in tracks.values())
    review = _review(summary.review)
    assert review[("Crash", "")]["status"] == "ambiguous"            # reported, not guessed
    assert set(review[("Crash", "")]["candidates"].split("; ")) == {
        "tt0115964 Crash (1996, movie)", "tt0375679 Crash (2004, movie)"}
    assert review[("Unknown Band - Not A Film", "")]["status"] == "unmatched"
    assert review[(".", "")]["status"] == "unmatched"
    heat = review[("Heat (1995)", "")]
    assert (heat["tconst"], heat["year"], heat["confidence"], heat["genres"]) == (
        "tt0113277", "1995", "high", "Action|Crime|Drama")
    assert review[("Misc", "Blade Runner")]["confidence"] == "low"  # its tag year is a reissue's
    assert list(review)[:3] == [(".", ""), ("Unknown Band - Not A Film", ""), ("Crash", "")]
    assert summary.statuses == {"matched": 6, "ambiguous": 1, "unmatched": 2}
    assert (summary.tracks, summary.tracks_left_out) == (8, 3)
    assert summary.undecodable == ["Misc/bonus.m4a"]


def test_votes_decide_between_namesakes_when_a_ratings_file_is_given(shelf, basics, tmp_path):
    ratings = write_ratings(tmp_path / "title.ratings.tsv.gz")
    summary = label_collection(shelf, basics, str(tmp_path / "m.csv"), ratings=ratings)
    crash = _review(summary.review)[("Crash", "")]
    assert (crash["status"], crash["tconst"], crash["confidence"]) == ("matched", "tt0375679",
                                                                       "low")


def test_overrides_correct_skip_and_label_films_imdb_lacks(shelf, basics, tmp_path):
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("folder,album,tconst,genres\n"
                         "Crash,,tt0115964,Comedy\n"                 # stale genres: IMDb's win
                         "Unknown Band - Not A Film,,,Drama|Western\n"
                         "Death Race 2000,,skip,\n"
                         "Heat (1995),,,\n", encoding="utf-8")       # unresolved row: ignored
    out = str(tmp_path / "manifest.csv")
    summary = label_collection(shelf, basics, out, overrides=str(overrides))
    tracks = {t.track_id: t for t in read_manifest(out)}
    assert (tracks["Crash/01.flac"].film, tracks["Crash/01.flac"].tags) == (
        "tt0115964", ("Drama", "Thriller"))
    assert tracks["Unknown Band - Not A Film/x.flac"].tags == ("Drama", "Western")
    assert "Death Race 2000/theme.wav" not in tracks
    assert tracks["Heat (1995)/01 Heat.flac"].film == "tt0113277"
    review = _review(summary.review)
    assert review[("Crash", "")]["status"] == "override"
    assert review[("Death Race 2000", "Death Race 2000")]["status"] == "skipped"


@pytest.mark.parametrize("row, message", [
    ("Crash,,tt9999999,\n", "tt9999999"),
    ("Krash,,tt0115964,\n", "no film folder 'Krash'"),
    ("Crash,,0115964,\n", "not an IMDb id"),
])
def test_bad_overrides_are_one_clear_error(shelf, basics, tmp_path, row, message):
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("folder,album,tconst,genres\n" + row, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        label_collection(shelf, basics, str(tmp_path / "m.csv"), overrides=str(overrides))


def test_genre_list_and_min_tracks_drop_genres_and_emptied_tracks(shelf, basics, tmp_path):
    out = str(tmp_path / "manifest.csv")
    summary = label_collection(shelf, basics, out, genres=["study"], min_tracks=3)
    tracks = read_manifest(out)
    counts = {genre: sum(genre in t.tags for t in tracks) for genre in summary.genres}
    assert counts == summary.genres and min(counts.values()) >= 3
    assert not {"Animation", "Family", "Romance"} & set(counts)      # not study's / too rare
    assert summary.dropped_genres["Comedy"] == 2                     # Amélie, Death Race
    assert "Amelie - Original Soundtrack/valse.ogg" not in {t.track_id for t in tracks}
    with pytest.raises(InputError, match="not IMDb genres"):
        label_collection(shelf, basics, out, genres=["Scifi"])


def test_cli_label_and_its_errors(shelf, basics, tmp_path, capsys):
    out = str(tmp_path / "manifest.csv")
    main(["label", shelf, "--imdb", basics, "--out", out, "--genres", "Action", "Drama"])
    printed = capsys.readouterr().out
    assert "6 track(s) written" in printed and "1 ambiguous" in printed
    assert "2 no genre" in printed                           # Amélie, Spirited Away
    assert {tag for t in read_manifest(out) for tag in t.tags} == {"Action", "Drama"}
    with pytest.raises(SystemExit) as exit_status:
        main(["label", str(tmp_path / "nowhere"), "--imdb", basics, "--out", out])
    assert exit_status.value.code == 2
    assert "nowhere: not a folder" in capsys.readouterr().err


def test_the_review_file_can_be_passed_back_whole_as_overrides(shelf, basics, tmp_path):
    out = str(tmp_path / "manifest.csv")
    review = label_collection(shelf, basics, out).review
    with open(review, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        if row["folder"] == "Crash":
            row["tconst"] = "tt0375679"
    with open(review, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = label_collection(shelf, basics, out, overrides=review)
    again = _review(summary.review)
    assert again[("Crash", "")]["status"] == "override"
    assert again[("Heat (1995)", "")]["method"] == "folder: year"     # untouched rows stay matches
    assert summary.statuses == {"matched": 6, "override": 1, "unmatched": 2}
    assert "tt0375679" in {t.film for t in read_manifest(out)}


def test_a_whole_name_that_matches_wins_over_its_sides(basics, tmp_path):
    root = tmp_path / "shelf"
    name = "The Lord of the Rings - The Fellowship of the Ring (The Complete Recordings)"
    _audio(str(root / name / "01.flac"))
    _audio(str(root / "Howard Shore - The Lord of the Rings" / "01.flac"))
    summary = label_collection(str(root), basics, str(tmp_path / "m.csv"))
    review = _review(summary.review)
    assert (review[(name, "")]["tconst"], review[(name, "")]["confidence"]) == (
        "tt0120737", "medium")
    assert review[("Howard Shore - The Lord of the Rings", "")]["tconst"] == "tt0077869"


def test_a_file_name_that_is_not_utf8_is_labelled_and_written_as_its_bytes(tmp_path, basics):
    root = os.path.join(os.fsencode(str(tmp_path)), b"shelf", b"Heat (1995)")
    os.makedirs(root)
    t = np.arange(8000) / 8000.0
    soundfile.write(os.path.join(root, b"01 Caf\xe9.flac"),
                    (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
    out = str(tmp_path / "manifest.csv")
    summary = label_collection(str(tmp_path / "shelf"), basics, out)
    assert summary.tracks == 1 and summary.statuses == {"matched": 1}
    assert b"Heat (1995)/01 Caf\xe9.flac,Action|Crime|Drama" in open(out, "rb").read()
    track, = read_manifest(out)
    assert os.fsencode(track.path) == os.path.join(root, b"01 Caf\xe9.flac")
    assert os.path.exists(track.path)


def test_the_label_command_prints_a_name_that_is_not_utf8_without_a_traceback(tmp_path, basics):
    import subprocess
    import sys
    root = os.path.join(os.fsencode(str(tmp_path)), b"shelf", b"Caf\xe9 Noir")
    os.makedirs(root)
    soundfile.write(os.path.join(root, b"theme.flac"), np.full(8000, 0.1, np.float32), 8000)
    result = subprocess.run([sys.executable, "-m", "soundtrack_cnn", "label",
                             str(tmp_path / "shelf"), "--imdb", basics, "--out",
                             str(tmp_path / "m.csv")], capture_output=True, timeout=120)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    assert b"Caf\xe9 Noir" in open(str(tmp_path / "m-review.csv"), "rb").read()
