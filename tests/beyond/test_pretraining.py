"""Contrastive pretraining: learns, is deterministic, resumes after an interruption, writes a trunk."""
import json
import os

import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.pretraining import (ContrastivePretrainer, StackedTiles, pretrain,
                                                 pretraining_data)
from soundtrack_cnn.beyond.trunk import TRUNK_LAYERS, read_trunk
from soundtrack_cnn.parallel.locks import lock

TINY = {"c1": 2, "c2": 3, "c3": 2, "c4": 2, "h5": 4, "h6": 3}


def _tracks(n_tracks=12, tiles=3, seed=0):
    """Tracks whose tiles share a per-track pattern (so views of one track look alike)."""
    rng = np.random.RandomState(seed)
    patterns = rng.randn(n_tracks, 1, 40, 1) * 2
    X = (np.repeat(patterns, tiles, axis=0) + rng.randn(n_tracks * tiles, 1, 40, 100)) \
        .astype(np.float32)
    return X, np.repeat(np.arange(n_tracks), tiles)


def _model(**params):
    return ContrastivePretrainer(**dict(dict(epochs=2, batch=4, net_params=TINY, rate=.05),
                                        **params))


def _same(a, b):
    return all(np.array_equal(x, y) for layer in TRUNK_LAYERS
               for x, y in zip(a.params[layer], b.params[layer]))


def test_stacked_tiles_read_across_stores():
    a, b = np.arange(4.).reshape(2, 1, 1, 2), 10 + np.arange(6.).reshape(3, 1, 1, 2)
    stacked = StackedTiles([a, b])
    np.testing.assert_array_equal(stacked[1:4][:, 0, 0, 0], [2, 10, 12])


def test_parameters_are_checked_before_anything_compiles():
    X, groups = _tracks(n_tracks=3)
    with pytest.raises(InputError, match="distinct tracks"):
        _model().fit(X, groups)
    with pytest.raises(InputError, match="augmentations of a view"):
        _model(augment={"mixup": .4}).fit(*_tracks())
    with pytest.raises(InputError, match="listing"):
        _model(net_params={"c9": 1}).fit(*_tracks())
    with pytest.raises(InputError, match="consecutive"):
        _model().fit(X, np.array([0, 1, 0, 1, 2, 2, 0, 1, 2]))


@pytest.mark.slow
def test_pretraining_lowers_the_loss_and_is_deterministic(tmp_path):
    X, groups = _tracks()
    first = _model(epochs=4).fit(X, groups)
    losses = [row["loss"] for row in first.history_]
    assert losses[-1] < losses[0]
    second = _model(epochs=4).fit(X, groups)
    assert _same(first.trunk_, second.trunk_)
    other = _model(epochs=4, random_state=1).fit(X, groups)
    assert not _same(first.trunk_, other.trunk_)
    assert first.transform(X[:5]).shape == (5, TINY["h6"])


@pytest.mark.slow
def test_an_interrupted_pretraining_resumes_from_its_last_epoch_to_the_same_weights(tmp_path,
                                                                                     monkeypatch):
    X, groups = _tracks()
    whole = _model(epochs=3).fit(X, groups)
    checkpoint = str(tmp_path / "trunk.checkpoint.npz")
    calls = []
    original = ContrastivePretrainer._pairs

    def interrupt_in_epoch_two(self, *args):
        calls.append(1)
        if len(calls) == 9 + 2:  # 9 updates per epoch: a kill during the second epoch
            raise KeyboardInterrupt()
        return original(self, *args)

    monkeypatch.setattr(ContrastivePretrainer, "_pairs", interrupt_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        _model(epochs=3, checkpoint=checkpoint).fit(X, groups)
    monkeypatch.setattr(ContrastivePretrainer, "_pairs", original)
    with np.load(checkpoint) as archive:
        assert json.loads(str(archive["meta"]))["epoch"] == 1
    resumed = _model(epochs=3, checkpoint=checkpoint).fit(X, groups)
    assert [row["epoch"] for row in resumed.history_] == [1, 2, 3]
    assert _same(whole.trunk_, resumed.trunk_)
    with pytest.raises(InputError, match="other data or parameters.*temperature"):
        _model(epochs=3, checkpoint=checkpoint, temperature=.1).fit(X, groups)


@pytest.mark.slow
def test_pretrain_writes_a_trunk_with_provenance_and_leaves_test_tracks_out(two_tag_store,
                                                                           tmp_path):
    out = str(tmp_path / "trunks" / "mine.npz")
    os.makedirs(os.path.dirname(out))
    with lock(out[:-4] + ".lock"):  # one pretraining per trunk at a time
        with pytest.raises(InputError, match="another pretraining is writing this trunk"):
            pretrain([two_tag_store], out, epochs=1, batch=8, net_params=TINY)
    lines = []
    trunk = pretrain([two_tag_store], out, command="soundtrack-cnn pretrain ...", report=lines.append,
                     epochs=2, batch=8, net_params=TINY)
    assert "30 tracks" in lines[0] and "test left out" in lines[0] and "tiles/s" in lines[0]
    assert [line.split(":")[0] for line in lines[1:]] == ["epoch 1/2", "epoch 2/2"]
    again = read_trunk(out)
    assert again.sha256 == trunk.sha256
    provenance = json.load(open(str(tmp_path / "trunks" / "mine.json")))
    assert provenance["data"]["tracks"] == 30 and provenance["data"]["excluded_splits"] == ["test"]
    assert provenance["epochs"] == 2 and len(provenance["loss_curve"]) == 2
    assert provenance["versions"]["Theano"] == "1.0.5" and provenance["command"]
    assert provenance["sha256"] == trunk.sha256 and provenance["tiles_per_second"] > 0
    assert os.path.exists(out[:-4] + ".checkpoint.npz") and not os.path.exists(out[:-4] + ".lock")
    X, groups, description = pretraining_data([two_tag_store], exclude_splits=())
    assert description["tracks"] == 36 and len(X) == len(groups)
