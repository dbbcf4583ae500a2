"""The order of the training tiles: as stored, shuffled once, every epoch, class-balanced."""
import pickle

import numpy as np
import pytest
from nolearn.lasagne import BatchIterator

from soundtrack_cnn.training.batches import ShufflingBatchIterator, make_batch_iterator
from soundtrack_cnn.errors import InputError


def epoch(iterator, X, y):
    return [(xb.tolist(), yb.tolist()) for xb, yb in iterator(X, y)]


X, Y = np.arange(10) * 10, np.arange(10)


def test_none_is_nolearns_own_iterator_in_stored_order():
    iterator = make_batch_iterator(4)
    assert type(iterator) is BatchIterator
    assert [yb for _, yb in epoch(iterator, X, Y)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize("shuffle", ["once", "epoch"])
def test_shuffled_batches_keep_rows_and_targets_together_and_cover_every_row(shuffle):
    batches = epoch(make_batch_iterator(4, shuffle, seed=3), X, Y)
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    rows = sum((xb for xb, _ in batches), [])
    targets = sum((yb for _, yb in batches), [])
    assert rows == [10 * t for t in targets] and sorted(targets) == list(range(10))
    assert targets != list(range(10))


def test_once_repeats_its_order_and_epoch_draws_a_new_one_reproducibly():
    once = make_batch_iterator(4, "once", seed=1)
    assert epoch(once, X, Y) == epoch(once, X, Y)
    first, second = make_batch_iterator(4, "epoch", seed=1), make_batch_iterator(4, "epoch", seed=1)
    orders = [epoch(first, X, Y) for _ in range(3)]
    assert orders[0] != orders[1] != orders[2]
    assert [epoch(second, X, Y) for _ in range(3)] == orders     # same seed, same orders


def test_a_pickled_iterator_starts_again_from_its_seed():
    iterator = make_batch_iterator(4, "epoch", seed=2)
    fresh = epoch(iterator, X, Y)
    epoch(iterator, X, Y)
    assert epoch(pickle.loads(pickle.dumps(iterator)), X, Y) == fresh


def test_unknown_orders_are_one_error():
    with pytest.raises(InputError, match="shuffle must be one of"):
        make_batch_iterator(4, "sometimes")
    with pytest.raises(InputError, match="shuffle must be one of"):
        ShufflingBatchIterator(4, shuffle="none")


def test_balanced_draws_each_class_half_the_time_every_epoch():
    y = (np.arange(1000) % 10 == 0).astype(np.float32).reshape(-1, 1)   # 10% positive
    iterator = make_batch_iterator(100, "balanced", seed=0)
    epochs = [np.concatenate([yb for _, yb in iterator(np.arange(1000), y)]) for _ in range(5)]
    assert all(len(targets) == 1000 for targets in epochs)
    shares = [float(targets.mean()) for targets in epochs]
    assert all(.45 < share < .55 for share in shares), shares
    assert not np.array_equal(epochs[0], epochs[1])
    for xb, yb in iterator(np.arange(1000), y):
        assert np.array_equal(y[xb], yb)   # rows keep their targets


def test_balanced_needs_one_target_column_and_copes_with_one_class():
    with pytest.raises(InputError, match="one target column"):
        list(make_batch_iterator(4, "balanced")(np.arange(6), np.zeros((6, 2))))
    targets = [yb for _, yb in make_batch_iterator(4, "balanced")(np.arange(6), np.zeros(6))]
    assert sorted(np.concatenate(targets).tolist()) == [0] * 6
