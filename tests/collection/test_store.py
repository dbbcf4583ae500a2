"""A store that verifies itself: damaged chunks, journals and headers; a store being written."""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.collection.extraction import extract
from soundtrack_cnn.collection.store import FeatureStore, StoreWriter, check_store
from soundtrack_cnn.errors import InputError


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, timeout=300)


def _one_line(result):
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Four 21 s tracks (two tiles each) and their finished store."""
    folder = tmp_path_factory.mktemp("collection")
    rng = np.random.RandomState(0)
    rows = ["path,tags"]
    for i in range(4):
        signal = 0.3 * np.sin(np.arange(21 * 22050) * rng.uniform(0.01, 0.2)) + \
            0.05 * rng.randn(21 * 22050)
        soundfile.write(str(folder / "t{}.wav".format(i)), signal.astype(np.float32), 22050)
        rows.append("t{}.wav,Drama".format(i))
    (folder / "m.csv").write_text("\n".join(rows) + "\n")
    extract(str(folder / "m.csv"), str(folder / "store"), progress=False)
    return folder


@pytest.fixture
def store(clean, tmp_path):
    shutil.copytree(str(clean / "store"), str(tmp_path / "store"))
    return str(tmp_path / "store")


def _chunk(store):
    return os.path.join(store, "chunks", "000000.f32")


def _journal(store):
    return os.path.join(store, "journal.jsonl")


def test_a_finished_store_checks_out(store):
    line = check_store(store)
    assert line.startswith(store + ": ok: 4 tracks, 4 with 8 tiles; 4 verified against") and \
        line.endswith("complete")
    result = _cli("store", "check", store)
    assert result.returncode == 0 and "4 with 8 tiles; 4 verified" in result.stdout, result.stderr


def test_a_chunk_cut_in_half_is_refused_named_and_re_extracted(clean, store):
    with open(_chunk(store), "r+b") as chunk:
        chunk.truncate(os.path.getsize(_chunk(store)) // 2)
    with pytest.raises(InputError, match=r"damaged: track t2: .*000000.f32 holds 64000 bytes, "
                                         r"its tiles end at byte 96000 \(2 damaged track"):
        FeatureStore(store)
    # The library names the Python call that fixes it, the command line its command.
    with pytest.raises(InputError, match=r"; extract\(MANIFEST, '{}'\) extracts them again"
                       .format(re.escape(store))):
        check_store(store)
    line = _one_line(_cli("store", "check", store))
    assert "2 damaged track(s): t2: " in line and "; t3: " in line
    assert line.endswith("; `soundtrack-cnn features MANIFEST --out {}` extracts them again"
                         .format(store)), line
    assert "damaged" in _one_line(_cli("store", "compact", store))
    result = _cli("features", str(clean / "m.csv"), "--out", store, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert "damaged: " in result.stderr and "2 tracks processed (2 ok" in result.stderr
    assert "2 already done" in result.stderr
    np.testing.assert_array_equal(FeatureStore(store).tiles[:],
                                  FeatureStore(str(clean / "store")).tiles[:])


def test_nan_written_into_a_chunk_fails_its_checksum_and_is_re_extracted(clean, store):
    with open(_chunk(store), "r+b") as chunk:
        chunk.seek(3 * 16000 + 40)
        chunk.write(np.float32(np.nan).tobytes())
    FeatureStore(store)  # the lengths are right: only the checksum sees it
    with pytest.raises(InputError, match="track t1: its tiles in .* do not match their checksum"):
        FeatureStore(store).verify()
    assert "t1: its tiles in" in _one_line(_cli("store", "check", store))
    summary = extract(str(clean / "m.csv"), store, progress=False)
    assert (summary.ok, summary.already_done) == (1, 3)
    FeatureStore(store).verify()
    assert np.isfinite(FeatureStore(store).tiles[:]).all()


@pytest.mark.parametrize("line, problem", [
    ("{}", "no 'track_id'"),
    ("[]", "not a JSON object"),
    ('"t0"', "not a JSON object"),
    ("{not json", "not a JSON object"),
])
def test_a_malformed_journal_line_is_one_line(store, line, problem):
    with open(_journal(store), "a") as journal:
        journal.write(line + "\n")
    message = "journal.jsonl line 5: corrupt journal entry ({})".format(problem)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FeatureStore(store)
    for command in (["store", "check", store], ["store", "compact", store]):
        assert message in _one_line(_cli(*command))


@pytest.mark.parametrize("change, problem", [
    ({"n_tiles": -5}, "bad 'n_tiles': -5"),
    ({"n_tiles": 99}, "its tiles end at byte"),
    ({"row": 7}, "its tiles end at byte"),
    ({"status": "fine"}, "bad 'status'"),
    ({"tags": "Drama"}, "bad 'tags'"),
    ({"chunk": 5}, "000005.f32 is missing"),
])
def test_an_edited_journal_record_is_refused(store, change, problem):
    with open(_journal(store)) as journal:
        records = [json.loads(line) for line in journal]
    records.append(dict(records[0], **change))
    with open(_journal(store), "w") as journal:
        journal.writelines(json.dumps(record) + "\n" for record in records)
    with pytest.raises(InputError, match=problem) as caught:
        FeatureStore(store)
    assert str(caught.value).startswith(store)


@pytest.mark.parametrize("edit, problem", [
    (lambda meta: meta.pop("settings"), "store.json: damaged: no 'settings' field (the feature "
                                        "settings the tiles were made with); rerun features"),
    (lambda meta: meta["settings"].update(n_mfcc="forty"), "store.json: damaged: its settings"),
    (lambda meta: meta.update(tile_shape=[1, 2, 3]), "tile_shape [1, 2, 3] is not"),
    (lambda meta: meta.update(version=7), "not a version 1 feature store"),
])
def test_a_damaged_store_json_is_one_line(store, edit, problem):
    header = os.path.join(store, "store.json")
    meta = json.load(open(header))
    edit(meta)
    with open(header, "w") as stream:
        json.dump(meta, stream)
    with pytest.raises(InputError, match=problem.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        FeatureStore(store)
    assert problem in _one_line(_cli("store", "check", store))


def test_non_finite_tiles_are_refused_when_written(store):
    before = (os.path.getsize(_journal(store)), sorted(os.listdir(os.path.join(store, "chunks"))))
    tiles = np.zeros((2, 1, 40, 100), np.float32)
    tiles[1, 0, 3, 7] = np.inf
    with StoreWriter(store) as writer:
        with pytest.raises(InputError, match="x.wav: its tiles hold NaN or infinite values"):
            writer.append({"track_id": "x", "path": "x.wav"}, tiles)
    assert (os.path.getsize(_journal(store)),
            sorted(os.listdir(os.path.join(store, "chunks")))) == before
    FeatureStore(store)  # still complete: nothing was added


def test_a_store_being_written_cannot_be_trained_on(clean, tmp_path):
    """A real `features` process: while it runs, and after it is killed, the store is refused."""
    rows = ["path,tags"]
    for i in range(200):
        os.link(str(clean / "t0.wav"), str(tmp_path / "c{:03d}.wav".format(i)))
        rows.append("c{:03d}.wav,Drama".format(i))
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    out = str(tmp_path / "store")
    child = subprocess.Popen([sys.executable, "-m", "soundtrack_cnn", "features",
                              str(tmp_path / "m.csv"), "--out", out, "--jobs", "1"],
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not (os.path.exists(_journal(out))
                                          and os.path.getsize(_journal(out))):
        time.sleep(0.01)
    with pytest.raises(InputError, match="an extraction is writing this store"):
        FeatureStore(out)
    assert child.poll() is None
    child.kill()
    child.wait()
    with pytest.raises(InputError, match="its extraction did not finish"):
        FeatureStore(out)
    assert 0 < len(FeatureStore(out, partial=True).ok_tracks) < 200
    extract(str(tmp_path / "m.csv"), out, progress=False)
    assert len(FeatureStore(out).ok_tracks) == 200


def test_the_lock_of_a_finished_store_held_elsewhere_is_refused(store):
    with open(os.path.join(store, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="an extraction is writing this store"):
            FeatureStore(store)
    FeatureStore(store)
