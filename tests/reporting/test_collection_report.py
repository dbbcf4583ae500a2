"""The collection report on the bundled (small) corpus plus a few broken files."""
import collections
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from processes import children

from soundtrack_cnn.cli import main
from soundtrack_cnn.collection.corpus import generate_corpus
from soundtrack_cnn.collection.manifest import check_manifest
from soundtrack_cnn.reporting.collection_report import MIN_FILMS, collection_report


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The small demo corpus, and a manifest adding a duplicate, a corrupt, a silent and a
    missing file, with a film column (three tracks per film)."""
    folder = str(tmp_path_factory.mktemp("corpus"))
    manifest = generate_corpus(folder, size="small", progress=False, n_jobs=2)
    shutil.copy(os.path.join(folder, "track0000.flac"), os.path.join(folder, "copy.flac"))
    with open(os.path.join(folder, "corrupt.ogg"), "wb") as stream:
        stream.write(b"OggS" + bytes(300))
    soundfile.write(os.path.join(folder, "silent.wav"), np.zeros(22050 * 12, np.float32), 22050)
    with open(manifest, newline="") as stream:
        rows = list(csv.DictReader(stream))
    rows += [{"path": "copy.flac", "tags": rows[0]["tags"], "track_id": "copy"},
             {"path": "corrupt.ogg", "tags": "Drama", "track_id": "corrupt"},
             {"path": "silent.wav", "tags": "Horror", "track_id": "silent"},
             {"path": "gone.flac", "tags": "Drama", "track_id": "gone"}]
    extended = os.path.join(folder, "extended.csv")
    with open(extended, "w", newline="") as stream:
        writer = csv.DictWriter(stream, ["path", "tags", "track_id", "split", "film"],
                                extrasaction="ignore", restval="")
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow(dict(row, film="film{}".format(i // 3)))
    return extended


def test_report_counts_match_the_manifest_and_figures_are_written(corpus, tmp_path):
    page = collection_report(corpus, out=str(tmp_path / "report"), min_tracks=15, n_jobs=2)
    summary = json.loads((tmp_path / "report" / "collection.json").read_text())
    tracks, bad_rows = check_manifest(corpus)
    counts = collections.Counter(tag for t in tracks for tag in t.tags)
    assert summary["tracks"] == len(tracks) == 48 + 3
    assert summary["tracks_per_genre"] == dict(counts)
    assert summary["tags_per_track"] == {str(n): k for n, k in collections.Counter(
        len(t.tags) for t in tracks).items()}
    assert summary["too_rare"] == sorted(
        g for g in counts if counts[g] < 15 or summary["films_per_genre"][g] < MIN_FILMS)
    assert summary["films"] == len({"film{}".format(i // 3) for i in range(48 + 3)})
    assert summary["usable_tracks"] == 48 + 1                      # the copy decodes fine
    seconds = sum(soundfile.info(t.path).duration for t in tracks[:48])
    assert abs(summary["usable_hours"] * 3600 - seconds * 49 / 48) < 60
    folder = os.path.dirname(corpus)
    assert summary["duplicates"] == [[os.path.join(folder, "copy.flac"),
                                      os.path.join(folder, "track0000.flac")]]
    assert {(os.path.basename(i["path"]), i["status"]) for i in summary["not_usable"]} == {
        ("corrupt.ogg", "failed"), ("silent.wav", "skipped")}
    assert [row["line"] for row in summary["bad_rows"]] == [line for line, _, _ in bad_rows]
    assert [os.path.basename(row["path"]) for row in summary["bad_rows"]] == ["gone.flac"]
    text = open(page).read()
    for name, path in summary["figures"].items():
        with open(path, "rb") as stream:
            assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
        assert "({})".format(os.path.basename(path)) in text
    assert "corrupt.ogg" in text and "gone.flac" in text


def test_cli_collection_prints_the_page_and_rejects_a_missing_manifest(corpus, tmp_path, capsys):
    out = str(tmp_path / "cli")
    plain = os.path.join(os.path.dirname(corpus), "manifest.csv")       # no film column
    main(["collection", plain, "--out", out, "--jobs", "1", "--min-tracks", "5"])
    assert capsys.readouterr().out.strip() == os.path.join(out, "collection.md")
    summary = json.loads(open(os.path.join(out, "collection.json")).read())
    assert (summary["tracks"], summary["films"], summary["films_per_genre"]) == (48, 0, {})
    assert "not known (no film column)" in open(os.path.join(out, "collection.md")).read()
    with pytest.raises(SystemExit) as status:
        main(["collection", str(tmp_path / "none.csv")])
    assert status.value.code == 2
    assert "none.csv: no such manifest file" in capsys.readouterr().err


def _spawned_workers(pid):
    return children(pid, b"soundtrack_cnn.parallel.pool import _serve")


def test_a_killed_worker_is_replaced_and_its_file_decoded_again(corpus, tmp_path):
    plain = os.path.join(os.path.dirname(corpus), "manifest.csv")
    child = subprocess.Popen([sys.executable, "-m", "soundtrack_cnn", "collection", plain,
                              "--out", str(tmp_path / "out"), "--jobs", "2"],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and child.poll() is None and not _spawned_workers(child.pid):
        time.sleep(0.01)
    for pid in _spawned_workers(child.pid)[:1]:
        os.kill(pid, signal.SIGKILL)    # as the out-of-memory killer would
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "worker died: " in err and "killed by SIGKILL; retrying it once" in err, err
    summary = json.load(open(str(tmp_path / "out" / "collection.json")))
    assert summary["usable_tracks"] == 48 and summary["not_usable"] == []


def test_tags_and_names_are_escaped_in_the_page(tmp_path):
    # collection.md wrote tags and file names raw: HTML in them ran where the page rendered.
    name = '<img src=x onerror="alert(1)">.wav'
    t = np.arange(22050 * 12) / 22050.0
    for file_name, hz in ((name, 300), ("b.wav", 900)):
        soundfile.write(str(tmp_path / file_name), (0.3 * np.sin(2 * np.pi * hz * t)).astype(
            np.float32), 22050)
    with open(str(tmp_path / "m.csv"), "w", newline="") as stream:
        csv.writer(stream).writerows([["path", "tags"], [name, "<script>alert(2)</script>"],
                                      ["b.wav", "Drama"], ["gone [x](javascript:y).wav", "Drama"]])
    text = open(collection_report(str(tmp_path / "m.csv"), out=str(tmp_path / "r"))).read()
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
    assert "[x](javascript" not in text and "\\[x\\](javascript" in text  # no link
