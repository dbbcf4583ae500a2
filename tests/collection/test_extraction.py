"""Feature store: extraction of good and bad files, resuming, killing, reading."""
import fcntl
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
from processes import children, process_state, sigint_default

from soundtrack_cnn.audio.features import FeatureSettings, audio_to_tiles
from soundtrack_cnn.collection.extraction import extract
from soundtrack_cnn.collection.manifest import Track
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError, InputWarning, SoundtrackCNNWarning, WorkerWarning


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
    summary = extract(str(collection / "manifest.csv"), out, progress=False)
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


PROBLEMS = ("silence.wav", "clip.wav", "zero.wav", "text.wav", "corrupt.flac", "missing.wav")


def test_each_problem_is_one_warning_naming_its_file(collection, tmp_path, capfd):
    with pytest.warns(InputWarning) as caught:
        summary = extract(str(collection / "manifest.csv"), str(tmp_path / "s"))
    messages = [str(w.message) for w in caught]
    for name in PROBLEMS:
        assert sum(name in message for message in messages) == 1
    assert "7 ok, 2 skipped, 5 failed" in str(summary)
    assert capfd.readouterr() == ("", "")  # the library printed nothing


def test_the_cli_prints_each_problem_as_one_line(collection, tmp_path, capfd):
    from soundtrack_cnn.cli import main
    main(["features", str(collection / "manifest.csv"), "--out", str(tmp_path / "s"),
          "--jobs", "1"])
    lines = capfd.readouterr().err.splitlines()
    for name in PROBLEMS:
        assert sum(name in line and line.startswith("warning: ") for line in lines) == 1
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
    extract(str(manifest), out, progress=False)
    again = extract(str(manifest), out, progress=False)
    assert (again.ok, again.skipped, again.failed, again.already_done) == (0, 0, 0, 2)
    manifest.write_text("path,tags\nmono.wav,Drama|Crime\ndeep.wav,Drama\n")
    retagged = extract(str(manifest), out, progress=False)
    assert retagged.already_done == 2 and retagged.ok == 0
    assert FeatureStore(out).ok_tracks[1].tags == ("Drama", "Crime")
    os.unlink(str(folder / "deep.wav"))
    soundfile.write(str(folder / "deep.wav"), music(31, 22050, seed=9), 22050)
    changed = extract(str(manifest), out, progress=False)
    assert (changed.ok, changed.already_done) == (1, 1)
    store = FeatureStore(out)
    assert [t.stop - t.start for t in store.ok_tracks] == [3, 2]
    np.testing.assert_array_equal(store.track_tiles("deep"),
                                  audio_to_tiles(str(folder / "deep.wav")))


def test_parallel_extraction_gives_the_same_store(collection, extracted, tmp_path, capfd):
    tracks = [Track(str(collection / name), ("Drama",), name, None) for name in sorted(GOOD)]
    out = str(tmp_path / "parallel")
    summary = extract(tracks, out, n_jobs=2, progress=True)
    assert summary.ok == 7
    assert "\r" not in capfd.readouterr().err  # no bar: stderr is not a terminal here
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
            extract(str(collection / "manifest.csv"), out, progress=False)


def test_torn_journal_line_is_ignored_and_repaired(collection, tmp_path):
    tracks = [Track(str(collection / "mono.wav"), ("Drama",), "mono", None)]
    out = str(tmp_path / "store")
    extract(tracks, out, progress=False)
    with open(os.path.join(out, "journal.jsonl"), "ab") as journal:
        journal.write(b'{"track_id": "deep", "pa')
    with open(os.path.join(out, "chunks", "000000.f32"), "ab") as chunk:
        chunk.write(b"\0" * 1000)
    assert [t.track_id for t in FeatureStore(out).tracks] == ["mono"]
    tracks.append(Track(str(collection / "deep.wav"), ("Drama",), "deep", None))
    summary = extract(tracks, out, progress=False)
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
    code = ("import sys; from soundtrack_cnn.collection.extraction import extract; "
            "extract(sys.argv[1], sys.argv[2], progress=False)")
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
    with pytest.raises(InputError, match="its extraction did not finish"):
        FeatureStore(out)  # training on a killed extraction's subset is refused
    survived = FeatureStore(out, partial=True)
    assert 3 <= len(survived.ok_tracks) < 24
    for track in survived.ok_tracks:
        np.testing.assert_array_equal(survived.track_tiles(track.track_id), expected)
    summary = extract(manifest, out, progress=False)
    assert summary.already_done == len(survived.ok_tracks)
    assert summary.ok == 24 - len(survived.ok_tracks) and summary.failed == 0
    store = FeatureStore(out)
    assert len(store.ok_tracks) == 24 and len(store.tiles) == 24 * len(expected)
    for track in store.ok_tracks:
        np.testing.assert_array_equal(store.track_tiles(track.track_id), expected)


def _collection_of_copies(folder, n_tracks, seconds, sr=48000, channels=2):
    """``n_tracks`` hard links of one file, and their manifest."""
    source = str(folder / "source.wav")
    soundfile.write(source, music(seconds, sr, channels=channels), sr)
    rows = ["path,tags"]
    for i in range(n_tracks):
        os.link(source, str(folder / "t{:02d}.wav".format(i)))
        rows.append("t{:02d}.wav,Drama".format(i))
    manifest = str(folder / "m.csv")
    with open(manifest, "w") as stream:
        stream.write("\n".join(rows) + "\n")
    return manifest, source


def _journal_lines(store):
    try:
        with open(os.path.join(store, "journal.jsonl"), "rb") as journal:
            return journal.read().count(b"\n")
    except FileNotFoundError:
        return 0


def _workers_of(pid):
    """Pids of the extraction worker processes of ``pid``."""
    return children(pid, b"soundtrack_cnn.parallel.pool import _serve")


def _same_store(path_a, path_b):
    a, b = FeatureStore(path_a), FeatureStore(path_b)
    fields = lambda store: [(t.track_id, t.status, t.start, t.stop, t.sha256) for t in store.tracks]
    assert fields(a) == fields(b)
    np.testing.assert_array_equal(a.tiles[:], b.tiles[:])


def _features_command(manifest, out, jobs):
    return [sys.executable, "-m", "soundtrack_cnn", "features", manifest, "--out", out,
            "--jobs", str(jobs)]


def test_sigkill_of_a_worker_retries_its_file_and_the_store_equals_a_clean_run(tmp_path):
    n_tracks = 30
    manifest, _ = _collection_of_copies(tmp_path, n_tracks=n_tracks, seconds=20)
    out = str(tmp_path / "store")
    child = subprocess.Popen(_features_command(manifest, out, jobs=2),
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and _journal_lines(out) < 1:
        time.sleep(0.005)
    # Kill a worker while it extracts (running), not while it waits for its next
    # file: a worker that dies between files loses nothing and is replaced
    # without a word, and on a loaded machine workers often wait for the parent.
    victims = [pid for pid in _workers_of(child.pid) if process_state(pid) == "R"]
    while time.time() < deadline and child.poll() is None and not victims:
        time.sleep(0.001)   # polling must not take a core from the workers
        victims = [pid for pid in _workers_of(child.pid) if process_state(pid) == "R"]
    os.kill(victims[0], signal.SIGKILL)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "worker died" in err and "killed by SIGKILL" in err and "retrying" in err
    clean = str(tmp_path / "clean")
    summary = extract(manifest, clean, progress=False)
    assert summary.ok == n_tracks
    _same_store(out, clean)


def test_a_file_that_kills_its_worker_twice_is_failed_and_the_rest_extracted(
        collection, tmp_path, monkeypatch):
    names = ["mono.wav", "low.wav", "deep.wav"]
    tracks = [Track(str(collection / name), ("Drama",), name, None) for name in names]
    monkeypatch.setenv("SOUNDTRACK_CNN_TEST_KILL_WORKER", tracks[1].path)
    with pytest.warns(SoundtrackCNNWarning) as caught:
        summary = extract(tracks, str(tmp_path / "store"), n_jobs=2)
    assert (summary.ok, summary.failed) == (2, 1)
    (path, reason), = summary.problems
    assert path == tracks[1].path and "killed by SIGKILL, twice" in reason
    messages = [(w.category, str(w.message)) for w in caught]
    assert [m for c, m in messages if c is WorkerWarning and "retrying it once" in m] and \
        sum("low.wav" in m for _, m in messages) == 2, messages
    store = FeatureStore(str(tmp_path / "store"))
    assert [t.status for t in store.tracks] == ["ok", "failed", "ok"]
    np.testing.assert_array_equal(store.track_tiles("mono.wav"), audio_to_tiles(tracks[0].path))
    # A killed worker says nothing about the file (out of memory is transient):
    # the rerun extracts it, although the file did not change.
    monkeypatch.delenv("SOUNDTRACK_CNN_TEST_KILL_WORKER")
    again = extract(tracks, str(tmp_path / "store"), n_jobs=2, progress=False)
    assert (again.ok, again.failed, again.already_done) == (1, 0, 2)
    np.testing.assert_array_equal(FeatureStore(str(tmp_path / "store")).track_tiles("low.wav"),
                                  audio_to_tiles(tracks[1].path))
    # Bad audio, though, stays failed until the file changes.
    bad = [Track(str(collection / "text.wav"), ("Drama",), "text", None)]
    extract(bad, str(tmp_path / "store"), progress=False)
    assert extract(bad, str(tmp_path / "store"), progress=False).already_done == 1


def test_a_stopped_worker_is_treated_as_dead_after_the_stall_timeout(tmp_path):
    manifest, source = _collection_of_copies(tmp_path, n_tracks=6, seconds=20)
    out = str(tmp_path / "store")
    child = subprocess.Popen(_features_command(manifest, out, jobs=2) + [
        "--stall-timeout", "2"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    victims = []
    while time.time() < deadline and child.poll() is None and not victims:
        time.sleep(0.01)
        victims = [pid for pid in _workers_of(child.pid) if process_state(pid) == "R"]
    os.kill(victims[0], signal.SIGSTOP)   # as a hung network mount or a debugger would
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "made no progress for 2 s (stopped, or hung?) and was killed; retrying it once" in err
    assert process_state(victims[0]) is None
    store = FeatureStore(out)
    assert len(store.ok_tracks) == 6
    for track in store.ok_tracks:
        np.testing.assert_array_equal(store.track_tiles(track.track_id), audio_to_tiles(source))


def test_sigterm_during_extraction_is_ctrl_c_exit_143_and_no_worker_left(tmp_path):
    manifest, source = _collection_of_copies(tmp_path, n_tracks=40, seconds=6, sr=22050,
                                             channels=1)
    out = str(tmp_path / "store")
    child = subprocess.Popen(_features_command(manifest, out, jobs=2), stderr=subprocess.PIPE,
                             text=True)
    deadline = time.time() + 60
    while time.time() < deadline and child.poll() is None and (
            len(_workers_of(child.pid)) < 2 or _journal_lines(out) < 2):
        time.sleep(0.002)
    workers = _workers_of(child.pid)
    sent = time.time()
    child.terminate()
    _, err = child.communicate(timeout=30)
    assert time.time() - sent < 5
    assert child.returncode == 143, err
    assert err.strip().splitlines()[-1] == ("soundtrack-cnn: terminated (SIGTERM); finished work "
                                            "is saved, rerun the same command to resume.")
    assert "Traceback" not in err
    assert [pid for pid in workers if process_state(pid) not in (None, "Z")] == []
    with pytest.raises(InputError, match="its extraction did not finish"):
        FeatureStore(out)
    summary = extract(manifest, out, progress=False)
    assert summary.ok + summary.already_done == 40 and summary.already_done >= 2
    assert len(FeatureStore(out).tiles) == 40 * len(audio_to_tiles(source))


def test_ctrl_c_during_extraction_always_ends_quickly_with_a_consistent_store(tmp_path):
    # Enough tracks that all 15 attempts are interrupted even when a busy machine
    # lets several tracks finish before the signal lands.
    n_tracks = 40
    manifest, source = _collection_of_copies(tmp_path, n_tracks=n_tracks, seconds=6, sr=22050,
                                             channels=1)
    out = str(tmp_path / "store")
    expected = audio_to_tiles(source)
    interrupted = 0
    for attempt in range(15):
        child = subprocess.Popen(_features_command(manifest, out, jobs=2),
                                 stderr=subprocess.PIPE, text=True, start_new_session=True,
                                 preexec_fn=sigint_default)
        # Interrupt at different stages: workers just started, mid-collection.
        target = _journal_lines(out) + attempt % 3
        deadline = time.time() + 60
        while time.time() < deadline and child.poll() is None and (
                not _workers_of(child.pid) or _journal_lines(out) < target):
            time.sleep(0.002)
        sent = time.time()
        try:
            os.killpg(child.pid, signal.SIGINT)
        except ProcessLookupError:
            pass  # already finished
        _, err = child.communicate(timeout=30)
        elapsed = time.time() - sent
        assert elapsed < 5, (attempt, elapsed, err)
        if child.returncode == 0:
            break
        assert child.returncode == 130, (attempt, err)
        assert "rerun the same command to resume" in err and "Traceback" not in err, err
        interrupted += 1
        store = FeatureStore(out, partial=True)
        for track in store.ok_tracks:
            np.testing.assert_array_equal(store.track_tiles(track.track_id), expected)
    assert interrupted >= 10
    summary = extract(manifest, out, progress=False)
    assert summary.ok + summary.already_done == n_tracks and summary.failed == 0
    assert len(FeatureStore(out).tiles) == n_tracks * len(expected)


def test_a_header_only_manifest_warns(tmp_path):
    (tmp_path / "m.csv").write_text("path,tags\n")
    with pytest.warns(InputWarning, match="m.csv: lists no track"):
        summary = extract(str(tmp_path / "m.csv"), str(tmp_path / "store"))
    assert (summary.ok, summary.failed) == (0, 0)


def test_compaction_reclaims_dead_space_and_keeps_every_tile(collection, tmp_path):
    from soundtrack_cnn.collection.compaction import compact_store
    folder = tmp_path / "c"
    folder.mkdir()
    for name in ("mono.wav", "deep.wav", "low.wav"):
        os.link(str(collection / name), str(folder / name))
    (folder / "silence.wav").write_bytes((collection / "silence.wav").read_bytes())
    manifest = folder / "m.csv"
    manifest.write_text("path,tags\nmono.wav,Drama\ndeep.wav,Drama\nlow.wav,Drama\n"
                        "silence.wav,Drama\n")
    out = str(tmp_path / "store")
    extract(str(manifest), out, progress=False)
    # Dead space: a re-extracted track, a killed run's partial tiles.
    os.unlink(str(folder / "deep.wav"))
    soundfile.write(str(folder / "deep.wav"), music(31, 22050, seed=9), 22050)
    extract(str(manifest), out, progress=False)
    with open(os.path.join(out, "chunks", "000001.f32"), "ab") as chunk:
        chunk.write(b"\0" * 20000)
    before = FeatureStore(out)
    tiles, tracks = before.tiles[:], before.tracks
    summary = compact_store(out)
    tile_bytes = 4 * int(np.prod(before.settings.tile_shape))
    assert summary.bytes_after == len(tiles) * tile_bytes < summary.bytes_before
    assert summary.bytes_before - summary.bytes_after == 2 * tile_bytes + 20000
    chunk_bytes = sum(os.path.getsize(os.path.join(out, "chunks", name))
                      for name in os.listdir(os.path.join(out, "chunks")))
    assert chunk_bytes == summary.bytes_after
    after = FeatureStore(out)
    assert after.tracks == tracks
    np.testing.assert_array_equal(after.tiles[:], tiles)
    with open(os.path.join(out, "journal.jsonl")) as journal:
        assert len(journal.readlines()) == 4
    again = extract(str(manifest), out, progress=False)
    assert (again.ok, again.already_done) == (0, 4)
    soundfile.write(str(folder / "new.wav"), music(12, 22050, seed=3), 22050)
    with open(str(manifest), "a") as stream:
        stream.write("new.wav,Drama\n")
    assert extract(str(manifest), out, progress=False).ok == 1
    np.testing.assert_array_equal(FeatureStore(out).track_tiles("new"),
                                  audio_to_tiles(str(folder / "new.wav")))


def test_compact_command_refuses_a_non_store_and_prints_its_summary(extracted, tmp_path):
    result = subprocess.run([sys.executable, "-m", "soundtrack_cnn", "store", "compact",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "not a feature store" in result.stderr
    assert not os.path.exists(str(tmp_path / "lock"))
    copy = str(tmp_path / "copy")
    shutil.copytree(extracted[0], copy)
    result = subprocess.run([sys.executable, "-m", "soundtrack_cnn", "store", "compact", copy],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "compacted" in result.stdout, result.stderr
