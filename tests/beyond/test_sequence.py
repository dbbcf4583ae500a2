import numpy as np
import pytest
from sklearn_checks import PARAMETER_CHECKS, run_check

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.sequence import SequenceModel, pad_tracks, tile_embeddings


def _shorten(ranges, rng):
    """Different lengths: keep 2..all tiles of each track."""
    return [(start, start + rng.randint(2, stop - start + 1)) for start, stop in ranges]


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_sequence_model_trains_on_hidden6_and_ignores_what_lies_beyond_the_mask(two_tag_run, cell):
    from soundtrack_cnn.experiment.tracksets import track_sets
    from soundtrack_cnn.training.dataset import TileView
    from soundtrack_cnn.training.loading import load_run
    store, genres, sets = track_sets(two_tag_run)
    ensemble = load_run(two_tag_run, settings=store.settings)
    rng = np.random.RandomState(0)
    data = {}
    for split in ("train", "valid"):
        embeddings = tile_embeddings(ensemble, TileView(store.tiles, sets[split].rows))
        assert embeddings.shape == (len(sets[split].rows), 50 * len(genres))
        data[split] = (embeddings, sets[split].labels, _shorten(sets[split].ranges, rng))
    model = SequenceModel(cell=cell, n_units=8, epochs=2, batch=8, random_state=0)
    model.fit(*data["train"], valid=data["valid"])
    assert [h["epoch"] for h in model.history_] == [1, 2]
    assert all(np.isfinite([h["train_loss"], h["valid_loss"]]).all() for h in model.history_)
    embeddings, labels, ranges = data["valid"]
    scores = model.predict(embeddings, ranges)
    assert scores.shape == labels.shape and np.all((scores > 0) & (scores < 1))
    # One track alone, then the same track padded with garbage (huge values) beyond its mask.
    start, stop = ranges[0]
    alone, mask = pad_tracks(embeddings, [(start, stop)])
    garbage = np.concatenate([alone, 1e3 * rng.randn(1, 7, alone.shape[2])], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((1, 7))], axis=1)
    assert np.allclose(model.predict_padded(garbage, padded_mask), model.predict_padded(alone, mask),
                       atol=1e-6)
    assert np.allclose(model.predict_padded(alone, mask), scores[:1], atol=1e-6)
    # Without the mask the garbage would change the score: the test can fail.
    assert not np.allclose(model.predict_padded(garbage, np.ones_like(padded_mask)), scores[:1],
                           atol=1e-3)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="cell"):
        SequenceModel(cell="rnn").fit(np.zeros((3, 2)), [[1]], [(0, 3)])
    with pytest.raises(InputError, match="at least one tile"):
        pad_tracks(np.zeros((3, 2)), [(0, 0)])


# Its predict takes (embeddings, ranges), so the unfitted check's predict(X) does not apply.
@pytest.mark.parametrize("check", PARAMETER_CHECKS)
def test_scikit_learn_estimator_checks(check):
    run_check(check, SequenceModel())
