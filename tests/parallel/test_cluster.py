"""Training and extraction on a real Dask cluster (LocalCluster, or `dask scheduler` + `dask worker`)."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import ClusterError, InputError, InputWarning, WorkerWarning
from soundtrack_cnn.files import read_json, sha256_file
from soundtrack_cnn.training.checkpoint import ModelFolder
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.training.ensemble import SpecialistEnsemble

distributed = pytest.importorskip("distributed")
from soundtrack_cnn.parallel.cluster import connect, run_tasks  # noqa: E402  (needs Dask)

#: Tiny nets: the tests check where and how nets train, not what they learn.
TINY = {"c1": 4, "c2": 4, "c3": 4, "c4": 4, "h5": 4, "h6": 4, "epochs": 2, "batch": 32,
        "patience": 2}
GENRES = ["Low", "High", "Music"]


@pytest.fixture(autouse=True)
def _restore_environment():
    """A LocalCluster's nannies leave OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_ and
    more in this process's environment for good; later tests start subprocesses
    that must see the environment they would without Dask."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _data(store_path):
    """The two-tag store as (X, Y, groups, validation) for the estimator."""
    from sklearn.model_selection import PredefinedSplit
    store = FeatureStore(store_path)
    tracks = [t for t in store.ok_tracks if t.split in ("train", "valid")]
    rows = np.concatenate([np.arange(t.start, t.stop) for t in tracks])
    Y = np.concatenate([np.tile([[g in t.tags for g in GENRES]], (t.stop - t.start, 1))
                        for t in tracks]).astype(int)
    groups = np.concatenate([[t.track_id] * (t.stop - t.start) for t in tracks])
    folds = np.concatenate([[-1 if t.split == "train" else 0] * (t.stop - t.start)
                            for t in tracks])
    return TileView(store.tiles, rows), Y, groups, PredefinedSplit(folds)


def _ensemble(run_dir, validation, client=None, warm_start=False, verbose=0):
    return SpecialistEnsemble(GENRES, net_params=TINY, validation=validation, run_dir=run_dir,
                              warm_start=warm_start, random_state=3, client=client,
                              verbose=verbose)


@pytest.fixture
def cluster():
    """Two single-threaded worker processes whose OpenMP would use three threads.

    Every net trains on one thread wherever it runs (soundtrack_cnn.stack.threads),
    so the workers' OMP_NUM_THREADS must not change the weights.
    """
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0",
                                  env={"OMP_NUM_THREADS": "3"}) as local:
        with distributed.Client(local) as client:
            yield client


@pytest.fixture(scope="module")
def sequential(two_tag_store, tmp_path_factory):
    """The three specialists trained here, one after another."""
    X, Y, groups, validation = _data(two_tag_store)
    run_dir = str(tmp_path_factory.mktemp("sequential"))
    return _ensemble(run_dir, validation).fit(X, Y, groups), run_dir


@pytest.mark.slow
def test_a_local_cluster_trains_the_same_specialists(two_tag_store, cluster, sequential,
                                                     tmp_path, capsys):
    X, Y, groups, validation = _data(two_tag_store)
    connect(cluster, verbose=True)
    spread = _ensemble(str(tmp_path), validation, client=cluster, verbose=1).fit(X, Y, groups)
    alone, alone_dir = sequential
    np.testing.assert_array_equal(spread.predict_proba(X), alone.predict_proba(X))
    for genre in GENRES:
        assert (spread.summaries_[genre]["history"]
                == alone.summaries_[genre]["history"])
    # Checkpointed exactly as in one process: every pickle recorded with its sha256.
    record = ModelFolder(str(tmp_path), "ensemble").read()
    assert sorted(record["models"]) == sorted(GENRES)
    for entry in record["models"].values():
        assert sha256_file(os.path.join(str(tmp_path), entry["file"])) == entry["sha256"]
    out = capsys.readouterr().out
    workers = set(cluster.scheduler_info()["workers"])
    for genre in GENRES:
        assert "dask: specialist {} done".format(genre) in out
        assert any("specialist {} running on {}".format(genre, w) in out for w in workers)
    assert "dashboard http" in out


@pytest.mark.slow
def test_workers_compile_into_caches_of_their_own(cluster):
    from soundtrack_cnn.stack.compat import worker_compile_cache
    connect(cluster, setup=worker_compile_cache)
    caches = cluster.run(lambda: os.environ["SOUNDTRACK_CNN_CACHE"])
    assert len(set(caches.values())) == len(caches) == 2
    assert all("dask-workers" in path for path in caches.values())


def test_an_unreachable_scheduler_is_one_clear_error():
    port = _free_port()
    with pytest.raises(ClusterError, match="tcp://127.0.0.1:{}".format(port)):
        connect("tcp://127.0.0.1:{}".format(port), timeout=1)


@pytest.mark.parametrize("how", ["--scheduler", "DASK_SCHEDULER_ADDRESS"])
def test_the_cli_names_an_unreachable_scheduler_without_a_traceback(two_tag_store, tmp_path, how):
    address = "tcp://127.0.0.1:{}".format(_free_port())
    command = ["train", two_tag_store, "--out", str(tmp_path / "run")]
    if how == "--scheduler":
        result = _cli(*command, "--scheduler", address)
    else:
        result = _cli(*command, env={how: address})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert address in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_tiles_in_memory_cannot_go_to_a_cluster():
    # Refused before any connection is tried: the workers could not read them.
    X = np.zeros((8, 1, 40, 100), np.float32)
    with pytest.raises(InputError, match="feature store"):
        SpecialistEnsemble(["a"], client="tcp://127.0.0.1:1").fit(X, np.eye(8, 1, dtype=int))


@pytest.fixture(scope="module")
def mixed_manifest(two_tag_corpus, tmp_path_factory):
    """Six good tracks of the two-tag corpus and five files that cannot be used."""
    import shutil

    import soundfile
    folder = tmp_path_factory.mktemp("mixed")
    source = os.path.dirname(two_tag_corpus)
    rows = ["path,tags,track_id,split"]
    for i in range(6):
        name = "track{:02d}.wav".format(i)
        shutil.copy(os.path.join(source, name), str(folder / name))
        rows.append("{},Music,t{},".format(name, i))
    soundfile.write(str(folder / "clip.wav"), np.zeros(11025, np.float32) + 0.1, 22050)
    soundfile.write(str(folder / "silence.wav"), np.zeros(22050 * 12, np.int16), 22050)
    (folder / "zero.wav").write_bytes(b"")
    (folder / "text.wav").write_text("not audio\n" * 100)
    for name in ("clip.wav", "silence.wav", "zero.wav", "text.wav", "missing.wav"):
        rows.append("{},Music,,".format(name))
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return str(folder / "manifest.csv")


def test_extraction_on_a_cluster_writes_the_same_store(mixed_manifest, cluster, tmp_path):
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.collection.extraction import extract
    settings = FeatureSettings(hop=25)
    with pytest.warns(InputWarning) as caught:
        here = extract(mixed_manifest, str(tmp_path / "here"), settings=settings)
    reported_here = sorted(str(w.message) for w in caught)
    with pytest.warns(InputWarning) as caught:
        spread = extract(mixed_manifest, str(tmp_path / "spread"), settings=settings,
                         client=cluster)
    reported_spread = sorted(str(w.message) for w in caught)
    assert (here.ok, here.skipped, here.failed, here.tiles) == (
        spread.ok, spread.skipped, spread.failed, spread.tiles)
    assert (here.ok, here.skipped, here.failed) == (6, 2, 3) and here.tiles > 0
    assert sorted(here.problems) == sorted(spread.problems)
    assert reported_here == reported_spread and len(reported_here) == 5
    a, b = FeatureStore(str(tmp_path / "here")), FeatureStore(str(tmp_path / "spread"))
    np.testing.assert_array_equal(a.tiles[:], b.tiles[:])
    assert a.tracks == b.tracks

    def journal(store):
        # Where a track's tiles sit in the chunk depends on completion order; all else must not.
        lines = open(os.path.join(store, "journal.jsonl")).read().splitlines()
        return sorted(json.dumps(dict(json.loads(line), row=None), sort_keys=True)
                      for line in lines)
    assert journal(str(tmp_path / "here")) == journal(str(tmp_path / "spread"))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("address", ["nonsense", "tcp://host:notaport", "ftp://host:1",
                                     "tcp//localhost:8786", "tcp://127.0.0.1:0"])
def test_a_malformed_address_is_one_line_at_once(address, tmp_path):
    # Issue 32 N15: it waited 20 s, then printed a TimeoutError traceback.
    started = time.monotonic()
    result = _cli("features", str(tmp_path / "m.csv"), "--out", str(tmp_path / "s"),
                  "--scheduler", address, timeout=60)
    assert time.monotonic() - started < 15
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "soundtrack-cnn: error: {!r} is not a Dask scheduler address: give SCHEME://HOST:PORT, "
        "e.g. tcp://127.0.0.1:8786".format(address)] or "ftp" in address, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- a cluster started with the dask command line ---------------------------

@pytest.fixture
def dask_cli(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1 (no nanny: a kill is final).

    Yields ``(address, {worker address: pid})``.
    """
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    address = "tcp://127.0.0.1:{}".format(_free_port())
    env = dict(os.environ, OMP_NUM_THREADS="1")
    logs = open(str(tmp_path / "dask.log"), "w")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                   address.rsplit(":", 1)[1], "--dashboard-address", ":0"],
                                  stdout=logs, stderr=logs, env=env)]
    try:
        for name in ("w1", "w2"):
            processes.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--name", name,
                 "--no-dashboard"], stdout=logs, stderr=logs, env=env))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            pids = client.run(os.getpid)
        yield address, pids
    finally:
        for process in processes:
            process.kill()
            process.wait()
        logs.close()


def _recorded(run_dir):
    """``{genre: (sha256 of the pickle on disk, recorded sha256, mtime)}``."""
    record = read_json(os.path.join(run_dir, "ensemble.json"))
    return {genre: (sha256_file(os.path.join(run_dir, entry["file"])), entry["sha256"],
                    os.stat(os.path.join(run_dir, entry["file"])).st_mtime_ns)
            for genre, entry in record["models"].items()}


@pytest.mark.slow
def test_the_cli_trains_on_a_dask_cli_cluster_and_survives_a_killed_worker(
        two_tag_store, dask_cli, tmp_path):
    address, pids = dask_cli
    run_dir = str(tmp_path / "run")
    command = [sys.executable, "-m", "soundtrack_cnn", "train", two_tag_store, "--out", run_dir,
               "--profile", "small", "--genres", "Low", "High", "Music", "--scheduler", address]
    train = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    lines, running, done, killed, dead, kill_line = [], {}, set(), None, None, None
    for line in train.stdout:
        lines.append(line)
        words = line.split()
        if line.startswith("dask: specialist") and "running on" in line:
            running[words[2]] = words[-1]
        if line.startswith("dask: specialist") and " done " in line:
            done.add(words[2])
        # Once a specialist is saved, kill the worker of one still training.
        if killed is None and done and set(running) - done:
            killed = sorted(set(running) - done)[0]
            dead, kill_line = running[killed], len(lines)
            os.kill(pids[dead], signal.SIGKILL)
    output = "".join(lines)
    assert train.wait(timeout=60) == 0, output
    assert killed is not None, output
    # The killed specialist was finished by the surviving worker; nothing by the dead one.
    after = "".join(lines[kill_line:])
    survivor = (set(pids) - {dead}).pop()
    assert "dask: specialist {} done on {}".format(killed, survivor) in after, output
    assert "done on {}".format(dead) not in after, output
    for genre in ("Low", "High", "Music"):
        assert output.count("dask: specialist {} done".format(genre)) == 1, output
    assert "dask: single net multilabel done" in output
    saved = _recorded(run_dir)
    assert sorted(saved) == ["High", "Low", "Music"]
    assert all(on_disk == recorded for on_disk, recorded, _ in saved.values())
    # Rerunning trains nothing and leaves every pickle as it was.
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "running on" not in again.stdout
    assert _recorded(run_dir) == saved


def test_a_job_lost_with_its_worker_warns_and_is_submitted_again():
    """The scheduler cancels a task whose worker died holding it: a WorkerWarning, then a rerun."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as local, \
            distributed.Client(local) as client:
        def lose_the_first_run_of_a():
            for _ in range(200):
                keys = [key for running in client.processing().values() for key in running
                        if str(key).startswith("task-a-")]
                if keys:
                    client.cancel([distributed.Future(keys[0], client)], force=True)
                    return
                time.sleep(0.05)
        loser = threading.Thread(target=lose_the_first_run_of_a)
        loser.start()
        with pytest.warns(WorkerWarning, match="task a was lost with its worker; submitted again"):
            results = dict(run_tasks(client, time.sleep, {"a": (2.0,), "b": (0.1,)}))
        loser.join()
    assert results == {"a": None, "b": None}
