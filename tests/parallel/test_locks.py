"""The one file lock: exclusive or shared, refused at once, released with its process."""
import os
import subprocess
import sys

import pytest

from soundtrack_cnn.parallel.locks import lock


def test_an_exclusive_lock_refuses_every_other_lock_until_closed(tmp_path):
    path = str(tmp_path / "lock")
    held = lock(path)
    assert held is not None and os.path.exists(path)
    assert lock(path) is None and lock(path, shared=True) is None
    held.close()
    again = lock(path)
    assert again is not None
    again.close()


def test_shared_locks_coexist_and_keep_writers_out(tmp_path):
    path = str(tmp_path / "lock")
    open(path, "w").close()
    first, second = lock(path, shared=True), lock(path, shared=True)
    assert first is not None and second is not None
    assert lock(path) is None
    first.close()
    second.close()


def test_a_lock_goes_with_a_killed_process(tmp_path):
    path = str(tmp_path / "lock")
    code = ("import sys, time; from soundtrack_cnn.parallel.locks import lock; "
            "held = lock(sys.argv[1]); print(held is not None, flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        assert lock(path) is None
    finally:
        holder.kill()
        holder.wait()
    released = lock(path)
    assert released is not None
    released.close()


def test_a_shared_lock_does_not_create_the_file(tmp_path):
    path = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        lock(path, shared=True)
    assert not os.path.exists(path)
