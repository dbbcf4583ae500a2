"""Pretraining: learns (contrastive, tags), is deterministic, resumes after an interruption,
writes a trunk."""
import json
import os

import numpy as np
import pytest
from sklearn_checks import PARAMETER_CHECKS, run_check

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


@pytest.mark.parametrize("check", PARAMETER_CHECKS)
def test_scikit_learn_estimator_checks(check):
    run_check(check, ContrastivePretrainer())


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
    X, groups = _tracks()
    with pytest.raises(InputError, match="objective must be one of"):
        _model(objective="both").fit(X, groups)
    with pytest.raises(InputError, match="needs the tiles' tags"):
        _model(objective="tags").fit(X, groups)
    with pytest.raises(InputError, match="no tile has training tags"):
        _model(objective="tags").fit(X, groups, tags=-np.ones((len(X), 2), np.int8))
    with pytest.raises(InputError, match="must hold 0, 1"):
        _model(objective="tags").fit(X, groups, tags=2 * np.ones((len(X), 2), np.int8))
    with pytest.raises(InputError, match="n_jobs must be a positive number"):
        _model(n_jobs=0).fit(X, groups)


def _tags_of(groups):
    """Two tags that follow the track (even: first, odd: second); the last four tracks untagged."""
    tags = np.stack([groups % 2 == 0, groups % 2 == 1], axis=1).astype(np.int8)
    tags[groups >= groups.max() - 3] = -1
    return tags


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["tags", "contrastive+tags"])
def test_pretraining_on_tags_learns_them_from_the_tagged_tracks_only(objective):
    X, groups = _tracks()
    tags = _tags_of(groups)
    first = _model(objective=objective, epochs=4).fit(X, groups, tags)
    losses = [row["loss"] for row in first.history_]
    assert losses[-1] < losses[0]
    again = _model(objective=objective, epochs=4).fit(X, groups, tags)
    assert _same(first.trunk_, again.trunk_)
    untagged_differently = tags.copy()
    untagged_differently[groups == groups.max()] = [1, 1]
    other = _model(objective=objective, epochs=4).fit(X, groups, untagged_differently)
    assert not _same(first.trunk_, other.trunk_)


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
def test_pretraining_runs_on_n_jobs_threads_and_resumes_only_on_as_many(tmp_path):
    from threadpoolctl import threadpool_info
    X, groups = _tracks()
    checkpoint = str(tmp_path / "trunk.checkpoint.npz")
    threads = []
    _model(epochs=1, n_jobs=2, checkpoint=checkpoint, on_epoch=lambda row: threads.append(
        {pool["num_threads"] for pool in threadpool_info()})).fit(X, groups)
    assert threads == [{2}]
    # Thread counts change the sums: a resume on another number would not give the same weights.
    with pytest.raises(InputError, match="other data or parameters \\(threads\\)"):
        _model(epochs=1, n_jobs=1, checkpoint=checkpoint).fit(X, groups)


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
    X, groups, tags, description = pretraining_data([two_tag_store], exclude_splits=())
    assert description["tracks"] == 36 and len(X) == len(groups) == len(tags)
    # Only the 24 training tracks carry targets: the valid and test tracks' tags are not read.
    assert description["tags"] == ["High", "Low", "Music"] and description["tagged_tracks"] == 24
    tagged = np.unique(groups[tags[:, 0] != -1])
    assert len(tagged) == 24 and (tags[tags[:, 0] != -1, 2] == 1).all()
    assert (tags[tags[:, 0] != -1, :2].sum(axis=1) == 1).all()
    assert provenance["parameters"]["objective"] == "contrastive"
    assert "tags" not in provenance["data"]

    from_tags = pretrain([two_tag_store], str(tmp_path / "trunks" / "tags.npz"), epochs=1,
                         batch=8, net_params=TINY, objective="tags", estimate=False,
                         report=lines.append)
    assert "(tags) on" in lines[-2] and "3 tags of 24 training tracks" in lines[-2]
    assert "cross-entropy" in from_tags.provenance["objective"]
    assert from_tags.provenance["parameters"]["n_tags"] == 3
    assert from_tags.provenance["data"]["tags"] == ["High", "Low", "Music"]
