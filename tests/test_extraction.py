"""Feature store: extraction of good and bad files, resuming, killing, reading."""
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.features import FeatureSettings, audio_to_tiles
from soundtrack_cnn.manifest import Track
from soundtrack_cnn.extraction import extract
from soundtrack_cnn.store import FeatureStore


def music(seconds, sr, channels=1, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * sr)) / float(sr)
    mono = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.randn(len(t))
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


GOOD = {  # name: (seconds, sr, channels, subtype)
    "mono.wav": (21, 22050, 1, "PCM_16"),
    "low.wav": (12, 8000, 1, "PCM_16"),
    "stereo48k.flac": (11, 48000, 2, "PCM_24"),
    "six.wav": (10, 44100, 6, "PCM_16"),
    "deep.wav": (16, 22050, 1, "PCM_24"),
    "vorbis.ogg": (12, 44100, 2, "VORBIS"),
    "song.mp3": (11, 44100, 1, "MPEG_LAYER_III"),
}


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    folder = tmp_path_factory.mktemp("collection")
    rows = ["path,tags,track_id,split"]
    for seed, (name, (seconds, sr, channels, subtype)) in enumerate(sorted(GOOD.items())):
        soundfile.write(str(folder / name), music(seconds, sr, channels, seed), sr,
                        subtype=subtype)
        rows.append("{},Drama|Action,,train".format(name))
    soundfile.write(str(folder / "silence.wav"), np.zeros((22050 * 12, 2), np.int16), 22050)
    soundfile.write(str(folder / "clip.wav"), music(0.5, 22050), 22050)
    (folder / "zero.wav").write_bytes(b"")
    (folder / "text.wav").write_text("not audio\n" * 100)
    (folder / "corrupt.flac").write_bytes(b"fLaC" + os.urandom(3000))
    for name in ("silence.wav", "clip.wav", "zero.wav", "text.wav", "corrupt.flac",
                 "missing.wav", ""):
        rows.append("{},Drama,,".format(name))
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def extracted(collection, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("stores") / "store")
    summary = extract(str(collection / "manifest.csv"), out, jobs=1, progress=False)
    return out, summary


def test_summary_counts_every_outcome(extracted, collection):
    _, summary = extracted
    assert (summary.ok, summary.skipped, summary.failed, summary.already_done) == (7, 2, 5, 0)
    assert summary.tiles == 2 + 1 + 1 + 1 + 2 + 1 + 1
    assert summary.hours == pytest.approx((sum(s for s, _, _, _ in GOOD.values()) + 12.5) / 3600,
                                          rel=1e-3)
    reasons = dict(summary.problems)
    assert "digital silence" in reasons[str(collection / "silence.wav")]
    assert "too short" in reasons[str(collection / "clip.wav")]
    assert "empty file" in reasons[str(collection / "zero.wav")]
    assert "cannot decode" in reasons[str(collection / "text.wav")]
    assert "cannot decode" in reasons[str(collection / "corrupt.flac")]
    assert "no such file" in reasons[str(collection / "missing.wav")]
    assert any("empty path" in reason for reason in reasons.values())
    for path, reason in summary.problems:
        assert path in reason


def test_problems_are_printed_one_line_each(collection, tmp_path, capfd):
    extract(str(collection / "manifest.csv"), str(tmp_path / "s"), jobs=1, progress=False)
    lines = capfd.readouterr().err.splitlines()
    for name in ("silence.wav", "clip.wav", "zero.wav", "text.wav", "corrupt.flac", "missing.wav"):
        assert sum(name in line for line in lines) == 1
    assert "7 ok, 2 skipped, 5 failed" in lines[-1]


def test_store_holds_exactly_the_tiles_of_each_file(extracted, collection):
    out, _ = extracted
    store = FeatureStore(out)
    assert store.settings == FeatureSettings()
    assert [t.track_id for t in store.tracks] == sorted(t.track_id for t in store.tracks)
    assert len(store.tracks) == 12 and len(store.ok_tracks) == 7
    assert store.tiles.shape == (9, 1, 40, 100) and len(store.tiles) == 9
    position = 0
    for track in store.ok_tracks:
        assert track.start == position and track.tags == ("Drama", "Action")
        assert track.split == "train" and len(track.sha256) == 64
        np.testing.assert_array_equal(store.track_tiles(track.track_id),
                                      audio_to_tiles(track.path))
        position = track.stop
    silence = [t for t in store.tracks if t.track_id == "silence"][0]
    assert silence.status == "skipped" and silence.start == silence.stop
    assert silence.duration == pytest.approx(12.0)
    assert np.isfinite(store.tiles[:]).all()


def test_tiles_index_like_an_array(extracted):
    store = FeatureStore(extracted[0])
    everything = store.tiles[:]
    assert everything.dtype == np.float32 and everything.shape == (9, 1, 40, 100)
    rows = np.array([8, 0, 4, 4, -1])
    np.testing.assert_array_equal(store.tiles[rows], everything[rows])
    np.testing.assert_array_equal(store.tiles[3], everything[3])
    np.testing.assert_array_equal(store.tiles[2:9:3], everything[2:9:3])
    np.testing.assert_array_equal(store.tiles[everything[:, 0, 1, 0] > everything[0, 0, 1, 0]],
                                  everything[everything[:, 0, 1, 0] > everything[0, 0, 1, 0]])
    assert store.tiles[np.array([], int)].shape == (0, 1, 40, 100)
    with pytest.raises(IndexError):
        store.tiles[np.array([9])]
    with pytest.raises(InputError, match="nothing"):
        store.track_tiles("nothing")


def test_rerun_extracts_nothing_new_and_a_changed_file_again(collection, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for name in ("mono.wav", "deep.wav"):
        os.link(str(collection / name), str(folder / name))
    manifest = folder / "m.csv"
    manifest.write_text("path,tags\nmono.wav,Drama\ndeep.wav,Drama\n")
    out = str(tmp_path / "store")
    extract(str(manifest), out, jobs=1, progress=False)
    again = extract(str(manifest), out, jobs=1, progress=False)
    assert (again.ok, again.skipped, again.failed, again.already_done) == (0, 0, 0, 2)
    manifest.write_text("path,tags\nmono.wav,Drama|Crime\ndeep.wav,Drama\n")
    retagged = extract(str(manifest), out, jobs=1, progress=False)
    assert retagged.already_done == 2 and retagged.ok == 0
    assert FeatureStore(out).ok_tracks[1].tags == ("Drama", "Crime")
    os.unlink(str(folder / "deep.wav"))
    soundfile.write(str(folder / "deep.wav"), music(31, 22050, seed=9), 22050)
    changed = extract(str(manifest), out, jobs=1, progress=False)
    assert (changed.ok, changed.already_done) == (1, 1)
    store = FeatureStore(out)
    assert [t.stop - t.start for t in store.ok_tracks] == [3, 2]
    np.testing.assert_array_equal(store.track_tiles("deep"),
                                  audio_to_tiles(str(folder / "deep.wav")))


def test_parallel_extraction_gives_the_same_store(collection, extracted, tmp_path):
    tracks = [Track(str(collection / name), ("Drama",), name, None) for name in sorted(GOOD)]
    out = str(tmp_path / "parallel")
    summary = extract(tracks, out, jobs=2, progress=True)
    assert summary.ok == 7
    serial, parallel = FeatureStore(extracted[0]), FeatureStore(out)
    np.testing.assert_array_equal(parallel.tiles[:], serial.tiles[:])


def test_settings_mismatch_and_non_stores_are_refused(extracted, collection, tmp_path):
    out, _ = extracted
    with pytest.raises(InputError, match="hop=50"):
        extract(str(collection / "manifest.csv"), out, settings=FeatureSettings(hop=50))
    with pytest.raises(InputError, match="not a feature store"):
        FeatureStore(str(tmp_path))
    (tmp_path / "other.txt").write_text("mine")
    with pytest.raises(InputError, match="not a feature store"):
        extract(str(collection / "manifest.csv"), str(tmp_path))


def test_a_store_being_written_is_locked(extracted, collection):
    out, _ = extracted
    with open(os.path.join(out, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another extraction"):
            extract(str(collection / "manifest.csv"), out, jobs=1, progress=False)


def test_torn_journal_line_is_ignored_and_repaired(collection, tmp_path):
    tracks = [Track(str(collection / "mono.wav"), ("Drama",), "mono", None)]
    out = str(tmp_path / "store")
    extract(tracks, out, jobs=1, progress=False)
    with open(os.path.join(out, "journal.jsonl"), "ab") as journal:
        journal.write(b'{"track_id": "deep", "pa')
    with open(os.path.join(out, "chunks", "000000.f32"), "ab") as chunk:
        chunk.write(b"\0" * 1000)
    assert [t.track_id for t in FeatureStore(out).tracks] == ["mono"]
    tracks.append(Track(str(collection / "deep.wav"), ("Drama",), "deep", None))
    summary = extract(tracks, out, jobs=1, progress=False)
    assert (summary.ok, summary.already_done) == (1, 1)
    store = FeatureStore(out)
    np.testing.assert_array_equal(store.track_tiles("deep"), audio_to_tiles(tracks[1].path))
    with open(os.path.join(out, "journal.jsonl")) as journal:
        assert [json.loads(line)["track_id"] for line in journal] == ["mono", "deep"]


def test_sigkill_mid_run_loses_nothing_and_resumes(tmp_path):
    source = str(tmp_path / "source.wav")
    soundfile.write(source, music(20, 48000, channels=2), 48000)
    rows = ["path,tags"]
    for i in range(24):
        os.link(source, str(tmp_path / "t{:02d}.wav".format(i)))
        rows.append("t{:02d}.wav,Drama".format(i))
    manifest = str(tmp_path / "m.csv")
    with open(manifest, "w") as stream:
        stream.write("\n".join(rows) + "\n")
    out = str(tmp_path / "store")
    journal = os.path.join(out, "journal.jsonl")
    code = ("import sys; from soundtrack_cnn.extraction import extract; "
            "extract(sys.argv[1], sys.argv[2], jobs=1, progress=False)")
    child = subprocess.Popen([sys.executable, "-c", code, manifest, out],
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and child.poll() is None:
        if os.path.exists(journal) and open(journal, "rb").read().count(b"\n") >= 3:
            break
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    expected = audio_to_tiles(source)
    survived = FeatureStore(out)
    assert 3 <= len(survived.ok_tracks) < 24
    for track in survived.ok_tracks:
        np.testing.assert_array_equal(survived.track_tiles(track.track_id), expected)
    summary = extract(manifest, out, jobs=1, progress=False)
    assert summary.already_done == len(survived.ok_tracks)
    assert summary.ok == 24 - len(survived.ok_tracks) and summary.failed == 0
    store = FeatureStore(out)
    assert len(store.ok_tracks) == 24 and len(store.tiles) == 24 * len(expected)
    for track in store.ok_tracks:
        np.testing.assert_array_equal(store.track_tiles(track.track_id), expected)
