"""The order of the training tiles (stored, shuffled once or every epoch, class-balanced), augmented."""
import pickle

import numpy as np
import pytest
from nolearn.lasagne import BatchIterator

from soundtrack_cnn.audio.features import Normalizer
from soundtrack_cnn.training.batches import (AugmentingBatchIterator, ShufflingBatchIterator,
                                             make_batch_iterator)
from soundtrack_cnn.training.dataset import TileView
from soundtrack_cnn.training.network import build_net
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


def tracks_view(n_tracks=4, tiles_per_track=5, n_mfcc=6, n_frames=8, normalizer=None):
    """Tiles whose frame values are 1000 * track + frame number (c0 .. c5 alike)."""
    frames = [1000 * t + np.arange(tiles_per_track * n_frames, dtype=np.float32)
              for t in range(n_tracks)]
    tiles = np.concatenate([f.reshape(tiles_per_track, 1, 1, n_frames) for f in frames])
    tiles = np.repeat(tiles, n_mfcc, axis=2)
    groups = np.repeat(np.arange(n_tracks), tiles_per_track)
    return TileView(tiles, groups=groups, normalizer=normalizer), groups


def batches_of(iterator, X, y):
    return [(xb.copy(), None if yb is None else yb.copy()) for xb, yb in iterator(X, y)]


def test_the_network_passes_augmentation_to_its_training_batches_only():
    net = build_net(epochs=1, batch=8, shuffle="epoch", augment={"time_mask": 3})
    assert isinstance(net.batch_iterator_train, AugmentingBatchIterator)
    assert net.batch_iterator_train.time_mask == 3 and net.batch_iterator_train.order == "epoch"
    assert type(net.batch_iterator_test) is BatchIterator
    assert type(build_net(batch=8).batch_iterator_train) is BatchIterator   # the study's


@pytest.mark.parametrize("shuffle", ["none", "epoch", "balanced"])
def test_augmentation_keeps_the_order_of_the_rows(shuffle):
    view, groups = tracks_view()
    y = (groups == 1).astype(np.float32).reshape(-1, 1)
    plain = make_batch_iterator(6, shuffle, seed=4)
    augmented = make_batch_iterator(6, shuffle, seed=4, augment={"hop": 2, "gain_db": 3.0})
    for _ in range(2):
        expected = [yb.tolist() for _, yb in plain(view, y)]
        assert [yb.tolist() for _, yb in augmented(view, y)] == expected


def test_hop_starts_tiles_between_stored_ones_within_the_track():
    view, groups = tracks_view()
    iterator = make_batch_iterator(7, "epoch", seed=0, augment={"hop": 2})
    starts = set()
    for _ in range(5):
        for xb, yb in iterator(view, groups.astype(np.float32)):
            track, first = np.divmod(xb[:, 0, 0, 0], 1000)
            assert (track == yb).all()                        # never another track's frames
            # Ten consecutive frames of the track, starting at an even frame.
            assert (xb[:, 0, 0, :] - xb[:, 0, :1, 0] == np.arange(8)).all()
            assert (first % 2 == 0).all() and (first <= 32).all()
            starts.update(first.tolist())
    assert starts == set(range(0, 33, 2))    # every start, over a few epochs


def test_masks_zero_bands_no_wider_than_asked_and_leave_the_rest():
    view, groups = tracks_view()
    iterator = make_batch_iterator(20, augment={"time_mask": 3, "coef_mask": 2}, seed=1)
    (xb, _), = batches_of(iterator, view, groups)
    original = view.to_array()
    zero = xb == 0
    changed = zero & (original != 0)
    assert (xb[~zero] == original[~zero]).all()
    time_band = zero.all(axis=(1, 2)).sum(axis=1)    # whole masked frames per tile
    coef_band = zero.all(axis=(1, 3)).sum(axis=1)    # whole masked coefficients per tile
    assert time_band.max() <= 3 and coef_band.max() <= 2 and changed.any()
    assert time_band.max() > 0 and coef_band.max() > 0


def test_mixup_mixes_tiles_of_other_tracks_with_their_targets():
    view, groups = tracks_view()
    y = np.eye(4, dtype=np.float32)[groups]
    iterator = make_batch_iterator(20, augment={"mixup": 0.4}, seed=2)
    (xb, yb), = batches_of(iterator, view, y)
    original = view.to_array()
    # c0's first frame is 1000 * track + frame (< 40): the mixed value weighs the tracks.
    assert np.allclose(xb[:, 0, 0, 0] / 1000, yb @ np.arange(4), atol=.04)
    assert np.allclose(yb.sum(axis=1), 1) and (yb.max(axis=1) >= .5).all()
    mixed = (yb.max(axis=1) < 1)
    assert mixed.any() and np.array_equal(xb[~mixed], original[~mixed])
    with pytest.raises(InputError, match="groups"):
        list(make_batch_iterator(4, augment={"mixup": 0.4})(np.zeros((4, 1, 2, 3)), np.zeros(4)))


def test_gain_moves_only_c0_by_at_most_the_gain_in_normalised_units():
    view, groups = tracks_view()
    normalizer = Normalizer().fit(view)
    view = TileView(view, normalizer=normalizer)
    (xb, _), = batches_of(make_batch_iterator(20, augment={"gain_db": 6.0}, seed=3), view, groups)
    difference = xb - view.to_array()
    assert (difference[:, :, 1:] == 0).all()
    shift = difference[:, 0, 0, :]
    assert np.allclose(shift, shift[:, :1], atol=1e-4)     # the same for every frame of a tile
    limit = 6.0 * np.log(10) / 10 / normalizer.std_[0]
    assert (np.abs(shift) <= limit + 1e-5).all() and np.ptp(shift) > limit / 2


def test_augmentation_is_seeded_and_a_pickled_iterator_starts_again():
    view, groups = tracks_view()
    augment = {"hop": 1, "time_mask": 3, "coef_mask": 2, "mixup": .4, "gain_db": 3.0}
    first = make_batch_iterator(6, "epoch", seed=5, augment=augment)
    second = make_batch_iterator(6, "epoch", seed=5, augment=augment)
    runs = [batches_of(first, view, groups) for _ in range(2)]
    for epoch_a, epoch_b in zip(runs, [batches_of(second, view, groups) for _ in range(2)]):
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(*runs))    # new draws each epoch
    again = pickle.loads(pickle.dumps(first))
    for (xa, _), (xb, _) in zip(runs[0], batches_of(again, view, groups)):
        assert np.array_equal(xa, xb)


def test_invalid_augmentation_is_one_error():
    for bad in ({"hop": -1}, {"time_mask": 2.5}, {"mixup": -1}, {"colour": 1}):
        with pytest.raises((InputError, TypeError)):
            make_batch_iterator(4, augment=bad)
    with pytest.raises(InputError, match="groups"):
        list(AugmentingBatchIterator(4, hop=2)(np.zeros((4, 1, 2, 3)), np.zeros(4)))
