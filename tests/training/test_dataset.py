import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.training.dataset import TileView, hop_view


class Scale(object):
    def transform(self, batch):
        return batch * 2


def test_view_gathers_and_normalises_lazily():
    tiles = np.arange(10 * 4, dtype=np.float32).reshape(10, 1, 2, 2)
    view = TileView(tiles, indices=[7, 2, 5], normalizer=Scale())
    assert view.shape == (3, 1, 2, 2) and len(view) == 3
    np.testing.assert_array_equal(view[0:2], tiles[[7, 2]] * 2)
    sub = view[np.array([2, 0])]
    assert isinstance(sub, TileView)
    np.testing.assert_array_equal(sub.to_array(), tiles[[5, 7]] * 2)
    assert view[1].shape == (1, 2, 2)


def test_view_of_a_view_reads_the_underlying_tiles():
    tiles = np.arange(10 * 4, dtype=np.float32).reshape(10, 1, 2, 2)
    outer = TileView(TileView(tiles, indices=[9, 8, 7]), indices=[2, 0], normalizer=Scale())
    assert outer.tiles is tiles and outer.indices.tolist() == [7, 9]
    np.testing.assert_array_equal(outer[:], tiles[[7, 9]] * 2)


def frames_view(track_lengths, n_frames=4):
    """Stored tiles whose values are (track, frame number within the track)."""
    tiles, groups = [], []
    for track, length in enumerate(track_lengths):
        for start in range(0, length * n_frames, n_frames):
            tiles.append(1000 * track + np.arange(start, start + n_frames, dtype=np.float32))
            groups.append(track)
    return np.array(tiles).reshape(len(tiles), 1, 1, n_frames), np.array(groups)


def test_successors_stay_within_a_track_and_follow_the_stored_order():
    tiles, groups = frames_view([3, 2])
    assert TileView(tiles, groups=groups).successors.tolist() == [1, 2, -1, 4, -1]
    # Rows out of stored order have no successor, even in the same track.
    assert TileView(tiles, [1, 0], groups=[0, 0]).successors.tolist() == [-1, -1]
    assert TileView(tiles).successors is None


def test_shifted_tiles_join_consecutive_stored_tiles_of_one_track():
    tiles, groups = frames_view([3, 2])
    view = TileView(tiles, groups=groups, normalizer=Scale())
    shifted = view.shifted([1, 2, 0, 3, 0])
    assert shifted.to_array()[:, 0, 0].tolist() == [
        [2 * f for f in range(1, 5)], [2 * f for f in range(6, 10)], [2 * f for f in range(8, 12)],
        [2 * f for f in (1003, 1004, 1005, 1006)], [2 * f for f in (1004, 1005, 1006, 1007)]]
    np.testing.assert_array_equal(view.to_array(), tiles * 2)   # the view itself unchanged
    # Sub-views and batches keep each row's shift and track.
    sub = shifted[np.array([3, 0])]
    assert sub.offsets.tolist() == [3, 1] and sub.groups.tolist() == [1, 0]
    np.testing.assert_array_equal(sub[0:2], shifted.to_array()[[3, 0]])


def test_shifts_are_refused_past_a_track_or_without_tracks():
    tiles, groups = frames_view([2])
    with pytest.raises(InputError, match="last tile"):
        TileView(tiles, groups=groups).shifted([0, 1])
    with pytest.raises(InputError, match="groups"):
        TileView(tiles).shifted([0, 0])
    with pytest.raises(InputError, match=r"in \[0, 4\)"):
        TileView(tiles, groups=groups).shifted([4, 0])


def test_a_view_of_a_view_with_tracks_keeps_them():
    tiles, groups = frames_view([3, 2])
    inner = TileView(tiles, groups=groups)
    outer = TileView(inner, np.array([1, 2, 3]), normalizer=Scale())
    assert outer.tiles is tiles and outer.groups.tolist() == [0, 0, 1]
    assert outer.successors.tolist() == [2, -1, 4]


def test_hop_view_cuts_every_start_at_the_hop_and_none_past_a_track():
    tiles, groups = frames_view([3, 1])
    view, rows = hop_view(TileView(tiles, groups=groups), 2)
    starts = view.to_array()[:, 0, 0, 0].tolist()
    assert starts == [0, 2, 4, 6, 8, 1000]           # every 2 frames, whole tiles only
    assert rows.tolist() == [0, 0, 1, 1, 2, 3] and view.groups.tolist() == [0] * 5 + [1]
    same, rows = hop_view(TileView(tiles, groups=groups), 4)
    np.testing.assert_array_equal(same.to_array(), tiles)
    assert rows.tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="hop must be"):
        hop_view(TileView(tiles, groups=groups), 5)
