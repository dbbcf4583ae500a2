"""File-system failures (no space, read-only folders): one line, exit 2, earlier data intact.

Real file systems: a small tmpfs fills up, a read-only bind mount refuses
writes.  Both need root (mount); elsewhere these tests are skipped with the reason.
"""
import contextlib
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio.features import audio_to_tiles
from soundtrack_cnn.collection.extraction import extract
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.files import check_writable, write_bytes


def _mount(*args):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind mount needs root")
    result = subprocess.run(["mount"] + list(args), capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip("cannot mount here: {}".format(result.stderr.strip()))


@contextlib.contextmanager
def mounted(*args):
    target = args[-1]
    os.makedirs(target, exist_ok=True)
    _mount(*args)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", target], check=True)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, timeout=180)


def _one_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """Ten 20 s tracks (two 16 kB tiles each) and their manifest."""
    folder = tmp_path_factory.mktemp("collection")
    rng = np.random.RandomState(0)
    rows = ["path,tags"]
    for i in range(10):
        signal = 0.3 * np.sin(np.arange(20 * 22050) * rng.uniform(0.01, 0.2)) + \
            0.05 * rng.randn(20 * 22050)
        soundfile.write(str(folder / "t{}.wav".format(i)), signal.astype(np.float32), 22050)
        rows.append("t{}.wav,Drama".format(i))
    (folder / "m.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_write_bytes_names_the_path_it_could_not_write(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as caught:
        write_bytes(str(tmp_path / "file" / "x.json"), b"{}")
    assert caught.value.filename == str(tmp_path / "file" / "x.json")


def test_a_full_disk_is_one_line_and_the_store_stays_valid(collection, tmp_path):
    with mounted("-t", "tmpfs", "-o", "size=160k", "tmpfs", str(tmp_path / "small")) as disk:
        out = os.path.join(disk, "store")
        line = _one_line(_cli("features", str(collection / "m.csv"), "--out", out, "--jobs", "1"))
        assert "No space left on device" in line and out in line and "rerun" in line
        store = FeatureStore(out, partial=True)  # unfinished: training would refuse it
        assert 0 < len(store.ok_tracks) < 10
        for track in store.ok_tracks:
            np.testing.assert_array_equal(store.track_tiles(track.track_id),
                                          audio_to_tiles(track.path))
        subprocess.run(["mount", "-o", "remount,size=4m", disk], check=True)
        summary = extract(str(collection / "m.csv"), out, progress=False)
        assert summary.already_done == len(store.ok_tracks) and summary.failed == 0
        clean = extract(str(collection / "m.csv"), str(tmp_path / "clean"),
                        progress=False)
        assert clean.ok == 10
        np.testing.assert_array_equal(FeatureStore(out).tiles[:],
                                      FeatureStore(str(tmp_path / "clean")).tiles[:])


def test_a_finished_store_in_a_read_only_folder_is_read_without_a_lock(collection, tmp_path):
    out = str(tmp_path / "rw" / "store")
    extract(str(collection / "m.csv"), out, progress=False)
    with mounted("--bind", "-o", "ro", str(tmp_path / "rw"), str(tmp_path / "ro")) as ro:
        store = os.path.join(ro, "store")
        result = _cli("features", str(collection / "m.csv"), "--out", store)
        assert result.returncode == 0, result.stderr
        assert "0 tracks processed" in result.stderr and "10 already done" in result.stderr
        # A store that still needs writing is refused in one line, not a traceback.
        with open(str(collection / "m.csv")) as manifest:
            rows = manifest.read() + "t0.wav,Drama|Crime\n"
        (tmp_path / "retag.csv").write_text(rows.replace("t0.wav,Drama\n", ""))
        os.link(str(collection / "t0.wav"), str(tmp_path / "t0.wav"))
        line = _one_line(_cli("features", str(tmp_path / "retag.csv"), "--out", store))
        assert "Read-only file system" in line and store in line
        line = _one_line(_cli("features", str(collection / "m.csv"), "--out",
                              os.path.join(ro, "new")))
        assert "Read-only file system" in line and os.path.join(ro, "new") in line


def test_check_writable_refuses_a_read_only_folder(tmp_path):
    (tmp_path / "rw").mkdir()
    with mounted("--bind", "-o", "ro", str(tmp_path / "rw"), str(tmp_path / "ro")) as ro:
        with pytest.raises(InputError, match="Read-only file system"):
            check_writable(os.path.join(ro, "report"))
    check_writable(str(tmp_path / "rw" / "report"))
    assert not (tmp_path / "rw" / "report").exists()


@pytest.mark.slow
def test_evaluate_and_report_on_a_read_only_run_refuse_before_computing(two_tag_run, tmp_path):
    with mounted("--bind", "-o", "ro", two_tag_run, str(tmp_path / "ro")) as ro:
        for command in (["evaluate", ro], ["report", ro], ["compare", ro]):
            line = _one_line(_cli(*command))
            assert "cannot write there (Read-only file system)" in line and ro in line


def test_a_regular_file_is_replaced_and_keeps_its_permissions(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    os.chmod(str(path), 0o600)
    write_bytes(str(path), b"new")
    assert path.read_bytes() == b"new" and (os.stat(str(path)).st_mode & 0o777) == 0o600
    assert os.listdir(str(tmp_path)) == ["out.csv"]  # no temp file left


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "t.csv").write_text("k\n")
    os.symlink("t.csv", str(tmp_path / "l.csv"))
    write_bytes(str(tmp_path / "l.csv"), b"new\n")
    assert os.path.islink(str(tmp_path / "l.csv"))
    assert (tmp_path / "t.csv").read_bytes() == b"new\n"
    # A dangling link: its target is created, as the shell's `>` would.
    os.symlink(str(tmp_path / "sub" / "made.csv"), str(tmp_path / "dangling.csv"))
    write_bytes(str(tmp_path / "dangling.csv"), b"x")
    assert (tmp_path / "sub" / "made.csv").read_bytes() == b"x"
    os.symlink("loop.csv", str(tmp_path / "loop.csv"))
    with pytest.raises(InputError, match="loop.csv: is a symbolic link loop"):
        write_bytes(str(tmp_path / "loop.csv"), b"x")


@pytest.mark.parametrize("kind", ["fifo", "directory", "link to fifo", "device"])
def test_a_fifo_directory_or_device_is_refused_and_left_alone(tmp_path, kind):
    path = str(tmp_path / "out.csv")
    if kind == "device":
        path = "/dev/null"
    elif kind == "directory":
        os.mkdir(path)
    else:
        os.mkfifo(str(tmp_path / "fifo"))
        os.symlink("fifo", path) if kind == "link to fifo" else os.rename(
            str(tmp_path / "fifo"), path)
    before = os.lstat(path)
    expected = {"fifo": "is a FIFO", "directory": "is a directory",
                "link to fifo": "is a link to a FIFO", "device": "is a character device"}[kind]
    with pytest.raises(InputError, match=expected) as caught:
        write_bytes(path, b"x")
    assert str(caught.value).startswith(path + ": ")
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_the_command_line_refuses_a_fifo_at_its_output_path_in_one_line(collection, tmp_path):
    os.mkfifo(str(tmp_path / "out.wav"))
    line = _one_line(_cli("reconstruct", str(collection / "t0.wav"), str(tmp_path / "out.wav")))
    assert line == ("soundtrack-cnn: error: {}: is a FIFO (named pipe), not a regular file; give "
                    "the path of a regular file to write".format(tmp_path / "out.wav"))


def test_json_gets_null_for_nan_and_infinity(tmp_path):
    import json

    from soundtrack_cnn.files import write_json
    write_json(str(tmp_path / "x.json"), {"auc": np.float64("nan"), "rows": [[1.5, -np.inf]]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"auc": None, "rows": [[1.5, None]]}


@pytest.mark.parametrize("kind", ["fifo", "directory", "link to fifo", "device", "dangling link"])
def test_an_input_that_is_not_a_regular_file_is_refused_before_it_is_opened(tmp_path, kind):
    from soundtrack_cnn.files import input_path
    path = str(tmp_path / "in.csv")
    if kind == "device":
        path = "/dev/zero"
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "dangling link":
        os.symlink("gone.csv", path)
    else:
        os.mkfifo(str(tmp_path / "fifo"))
        os.symlink("fifo", path) if kind == "link to fifo" else os.rename(
            str(tmp_path / "fifo"), path)
    expected = {"fifo": "is a FIFO", "directory": "is a directory", "device":
                "is a character device", "link to fifo": "is a link to a FIFO",
                "dangling link": "is a symbolic link to gone.csv, which does not exist"}[kind]
    with pytest.raises(InputError, match=expected) as caught:
        input_path(path)
    assert str(caught.value).startswith(path + ": ")


def test_check_not_input_finds_a_file_under_any_of_its_names(tmp_path):
    from soundtrack_cnn.files import check_not_input
    (tmp_path / "d").mkdir()
    song = tmp_path / "song.flac"
    song.write_bytes(b"audio")
    os.symlink("song.flac", str(tmp_path / "link.flac"))
    for alias in ("song.flac", "./song.flac", "d/../song.flac", "link.flac"):
        with pytest.raises(InputError, match="is also this command's input"):
            check_not_input(str(tmp_path / alias), [str(song)])
    check_not_input(str(tmp_path / "other.flac"), [str(song)])  # nothing there yet: fine
    check_not_input(str(tmp_path / "d"), [str(song), str(tmp_path / "absent")])


def test_a_folder_through_a_dangling_link_is_created_and_a_file_in_the_way_named(tmp_path):
    from soundtrack_cnn.files import make_folder
    # film --out LINK used to fail with a bare "File exists".
    os.symlink(str(tmp_path / "elsewhere" / "out"), str(tmp_path / "link"))
    write_bytes(str(tmp_path / "link" / "cues.csv"), b"x")
    assert (tmp_path / "elsewhere" / "out" / "cues.csv").read_bytes() == b"x"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="file: is a regular file, not a folder"):
        make_folder(str(tmp_path / "file" / "sub"))
    os.mkfifo(str(tmp_path / "pipe"))
    with pytest.raises(InputError, match=r"pipe: is a FIFO \(named pipe\), not a folder"):
        make_folder(str(tmp_path / "pipe"))


def test_a_folder_whose_file_system_takes_no_files_is_named_so():
    # --out /proc/self used to say only "No such file or directory".
    with pytest.raises(InputError, match="/proc/self: cannot write there .* accepts no new files"):
        check_writable("/proc/self")


def test_printable_escapes_what_a_terminal_would_act_on():
    from soundtrack_cnn.files import printable
    assert printable("a\x1b]0;owned\x07b\x1b[2J\n\r\x9b\u202eslfc.wav") == \
        "a\\x1b]0;owned\\x07b\\x1b[2J\\x0a\\x0d\\x9b\\u202eslfc.wav"
    assert printable(os.fsdecode(b"caf\xe9 \xc3\xa9t\xc3\xa9.wav")) == "caf\\xe9 été.wav"
