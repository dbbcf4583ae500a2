import numpy as np

from soundtrack_cnn.training.dataset import TileView


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
