"""Training and extraction on a real Dask cluster (LocalCluster, or `dask scheduler` + `dask worker`)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.checkpoint import ModelFolder
from soundtrack_cnn.dataset import TileView
from soundtrack_cnn.ensemble import SpecialistEnsemble
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.files import read_json, sha256_file
from soundtrack_cnn.store import FeatureStore

distributed = pytest.importorskip("distributed")
from soundtrack_cnn.distributed import connect  # noqa: E402  (needs Dask)

#: Tiny nets: the tests check where and how nets train, not what they learn.
TINY = {"c1": 4, "c2": 4, "c3": 4, "c4": 4, "h5": 4, "h6": 4, "epochs": 2, "batch": 32,
        "patience": 2}
GENRES = ["Low", "High", "Music"]


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


def _ensemble(run_dir, validation, client=None, warm_start=False):
    return SpecialistEnsemble(GENRES, net_params=TINY, validation=validation, run_dir=run_dir,
                              warm_start=warm_start, random_state=3, client=client)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes (each with its own compile cache)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local:
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
    spread = _ensemble(str(tmp_path), validation, client=cluster).fit(X, Y, groups)
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
    caches = cluster.run(lambda: os.environ["SOUNDTRACK_CNN_CACHE"])
    assert len(set(caches.values())) == len(caches) == 2
    assert all("dask-workers" in path for path in caches.values())


def test_an_unreachable_scheduler_is_one_clear_error():
    port = _free_port()
    with pytest.raises(InputError, match="tcp://127.0.0.1:{}".format(port)):
        connect("tcp://127.0.0.1:{}".format(port), timeout=1)


def test_the_cli_names_an_unreachable_scheduler_without_a_traceback(two_tag_store, tmp_path):
    address = "tcp://127.0.0.1:{}".format(_free_port())
    result = _cli("train", two_tag_store, "--out", str(tmp_path / "run"), "--scheduler", address)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert address in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_tiles_in_memory_cannot_go_to_a_cluster(cluster):
    X = np.zeros((8, 1, 40, 100), np.float32)
    with pytest.raises(InputError, match="feature store"):
        SpecialistEnsemble(["a"], client=cluster).fit(X, np.eye(8, 1, dtype=int))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
