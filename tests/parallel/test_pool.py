"""The one worker pool: results, n_jobs as in scikit-learn, dead and stuck workers."""
import os
import signal
import time

import joblib
import pytest

from soundtrack_cnn.errors import InputError, WorkerWarning
from soundtrack_cnn.parallel.pool import Death, effective_n_jobs, imap_unordered


def work(argument):
    """Workers import this by name: the argument says what to do."""
    if argument == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if argument == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    if argument == "die once" and not os.path.exists(os.environ["POOL_TEST_MARK"]):
        open(os.environ["POOL_TEST_MARK"], "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return argument * 2, os.getpid()


def test_n_jobs_means_what_it_means_in_scikit_learn():
    cores = joblib.cpu_count()
    assert [effective_n_jobs(n) for n in (None, 1, 5, -1, -2)] == [
        1, 1, 5, cores, max(1, cores - 1)]
    for bad in (0, 1.5, "2", True):
        with pytest.raises(InputError, match="n_jobs must be"):
            effective_n_jobs(bad)


def test_a_joblib_context_sets_what_none_means_as_in_scikit_learn():
    with joblib.parallel_config(n_jobs=3):
        assert effective_n_jobs(None) == 3
        assert effective_n_jobs(1) == 1
        with pytest.raises(InputError, match="n_jobs must be"):
            effective_n_jobs(0)


def test_one_job_runs_here_and_more_run_in_fresh_processes():
    here = list(imap_unordered(work, ["a", "b"]))
    assert [result for _, (result, _) in here] == ["aa", "bb"]
    assert {pid for _, (_, pid) in here} == {os.getpid()}
    there = dict(imap_unordered(work, ["a", "b", "c", "d"], n_jobs=2))
    assert {argument: result for argument, (result, _) in there.items()} == {
        "a": "aa", "b": "bb", "c": "cc", "d": "dd"}
    assert os.getpid() not in {pid for _, pid in there.values()}


def test_an_argument_that_kills_its_worker_twice_is_a_death_the_rest_goes_on():
    with pytest.warns(WorkerWarning) as caught:
        results = dict(imap_unordered(work, ["a", "die", "b"], n_jobs=2,
                                      name=lambda a: "<" + a + ">"))
    assert results["die"] == Death("was killed by SIGKILL")
    assert results["a"][0] == "aa" and results["b"][0] == "bb"
    assert [str(w.message) for w in caught] == [
        "worker died: <die>: the process working on it was killed by SIGKILL; retrying it once "
        "in a fresh worker"]


def test_a_worker_that_dies_once_is_retried_and_its_result_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("POOL_TEST_MARK", str(tmp_path / "mark"))
    results = dict(imap_unordered(work, ["die once", "x"], n_jobs=2))
    assert results["die once"][0] == "die oncedie once" and results["x"][0] == "xx"


def test_a_worker_killed_before_its_first_argument_arrives_counts_as_one_death(monkeypatch):
    # The out-of-memory killer can strike between a worker's start and its first
    # argument: sending to it then fails, and that is a death like any other.
    from soundtrack_cnn.parallel import pool

    class KilledAtStart(pool._Worker):
        killed = []

        def __init__(self):
            super().__init__()
            if not self.killed:
                self.killed.append(self.process.pid)
                self.process.kill()
                self.process.wait()

    monkeypatch.setattr(pool, "_Worker", KilledAtStart)
    with pytest.warns(WorkerWarning) as caught:
        results = dict(imap_unordered(work, ["a", "b", "c"], n_jobs=2))
    assert {argument: result for argument, (result, _) in results.items()} == {
        "a": "aa", "b": "bb", "c": "cc"}
    assert KilledAtStart.killed and KilledAtStart.killed[0] not in {
        pid for _, pid in results.values()}
    assert sum("was killed by SIGKILL; retrying it once" in str(w.message) for w in caught) == 1


def test_a_stopped_worker_is_killed_after_the_stall_time():
    started = time.time()
    results = dict(imap_unordered(work, ["stop", "a"], n_jobs=2, stall_seconds=1))
    assert results["stop"] == Death("made no progress for 1 s (stopped, or hung?) and was killed")
    assert results["a"][0] == "aa" and time.time() - started < 30
    with pytest.raises(InputError, match="stall_seconds must be a positive"):
        list(imap_unordered(work, ["a"], stall_seconds=0))


def test_a_bad_n_jobs_is_refused_before_anything_is_made(tmp_path):
    from soundtrack_cnn.collection.corpus import generate_corpus
    from soundtrack_cnn.collection.extraction import extract
    from soundtrack_cnn.reporting.collection_report import collection_report
    (tmp_path / "m.csv").write_text("path,tags\n")
    for call in (lambda: generate_corpus(str(tmp_path / "corpus"), n_jobs=0),
                 lambda: extract(str(tmp_path / "m.csv"), str(tmp_path / "store"), n_jobs=0),
                 lambda: collection_report(str(tmp_path / "m.csv"), str(tmp_path / "report"),
                                           n_jobs=2.5)):
        with pytest.raises(InputError, match="n_jobs must be"):
            call()
    assert os.listdir(str(tmp_path)) == ["m.csv"]
