"""Run folders: resumed only with their own inputs, written by one command at a time."""
import fcntl
import os
import re
import subprocess
import sys

import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.pipeline import prepare_run


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
