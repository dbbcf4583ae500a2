"""Run folders: resumed only with their own inputs, written by one command at a time."""
import fcntl
import os
import re
import subprocess
import sys

import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.pipeline import prepare_run
from soundtrack_cnn.experiment.runfolder import run_lock


def _train(*args):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn", "train"] + list(args),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def prepared(two_tag_store, tmp_path):
    run_dir = str(tmp_path / "run")
    prepare_run(run_dir, two_tag_store, "demo", genres=["Low", "High"], seed=0)
    return run_dir


def test_same_inputs_resume(prepared, two_tag_store):
    record = prepare_run(prepared, two_tag_store, "demo", genres=["Low", "High"], seed=0)
    assert record["genres"] == ["Low", "High"]
    assert prepare_run(prepared, two_tag_store, "demo")["genres"] == ["Low", "High"]


@pytest.mark.parametrize("change, named", [
    ({"store_dir": "/elsewhere/store"}, "store"),
    ({"genres": ["High", "Low"]}, "genres Low High (not High Low)"),
    ({"profile": "study"}, "profile demo (not study)"),
    ({"seed": 3}, "seed 0 (not 3)"),
])
def test_other_inputs_are_refused_naming_the_difference(prepared, two_tag_store, change, named):
    arguments = dict(store_dir=two_tag_store, profile="demo", genres=None, seed=0)
    arguments.update(change)
    with pytest.raises(InputError, match=re.escape(named)):
        prepare_run(prepared, **arguments)


def test_train_with_another_store_or_genres_is_one_line_exit_2(prepared, two_tag_store,
                                                                tmp_path):
    result = _train(str(tmp_path / "other"), "--out", prepared, "--profile", "demo")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "was made from store {}".format(os.path.abspath(two_tag_store)) in result.stderr
    result = _train(two_tag_store, "--out", prepared, "--profile", "demo", "--genres", "Low")
    assert result.returncode == 2 and "genres Low High (not Low)" in result.stderr


def test_a_run_folder_being_written_is_locked(prepared, two_tag_store):
    with open(os.path.join(prepared, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = _train(two_tag_store, "--out", prepared, "--profile", "demo")
    assert result.returncode == 2 and "another command is writing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_command_that_fails_leaves_no_empty_run_folder_behind(tmp_path):
    # train nope --out tt2 used to leave tt2/ holding nothing but a lock.
    result = _train(str(tmp_path / "nope"), "--out", str(tmp_path / "tt2"), "--profile", "demo")
    assert result.returncode == 2 and "nope" in result.stderr
    assert not os.path.lexists(str(tmp_path / "tt2"))
    (tmp_path / "kept").mkdir()  # a folder that was there stays
    with pytest.raises(InputError):
        with run_lock(str(tmp_path / "kept")):
            raise InputError("failed")
    assert os.listdir(str(tmp_path / "kept")) == ["lock"]


def test_a_run_folder_is_not_its_store_and_its_lock_is_a_file(two_tag_store, tmp_path):
    result = _train(two_tag_store, "--out", two_tag_store, "--profile", "demo")
    assert result.returncode == 2 and "is also this command's input" in result.stderr
    os.mkfifo(str(tmp_path / "lock"))  # opened for writing, it would block for ever
    with pytest.raises(InputError, match="lock: is a FIFO"):
        with run_lock(str(tmp_path)):
            pass
