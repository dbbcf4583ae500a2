"""The scoring path every engine shares: TileScorer, predict_file, score_tiles."""
import numpy as np
import pytest
import soundfile

from soundtrack_cnn.audio.features import FeatureSettings
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.scoring.prediction import TileScorer, predict_file, score_tiles


class _Loudness(TileScorer):
    """Scores a tile by its mean MFCC: 'Loud' rises with it, 'Quiet' falls."""

    genres_ = ["Quiet", "Loud"]
    settings_ = FeatureSettings()
    fitted = True

    def _check_fitted(self):
        if not self.fitted:
            raise RuntimeError("not fitted")

    def predict_tiles(self, X):
        loud = 1 / (1 + np.exp(-np.asarray(X, np.float32).mean(axis=(1, 2, 3)) / 10))
        return np.column_stack([1 - loud, loud]).astype(np.float32)


def test_track_scores_are_the_mean_of_each_track_s_tiles():
    X = np.random.RandomState(0).randn(6, 1, 40, 100).astype(np.float32)
    model = _Loudness()
    scores = model.predict_track_scores(X, [(0, 2), (2, 6)])
    tiles = model.predict_tiles(X)
    np.testing.assert_allclose(scores, [tiles[:2].mean(axis=0), tiles[2:].mean(axis=0)], rtol=1e-6)


def test_predict_tracks_scores_files_and_reports_unreadable_ones(tmp_path):
    t = np.arange(22050 * 25) / 22050.0
    soundfile.write(str(tmp_path / "tone.wav"), (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
                    22050)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nothing")
    model = _Loudness()
    good, bad = model.predict_tracks([str(tmp_path / "tone.wav"), str(tmp_path / "broken.wav")],
                                     k=2)
    assert [g for g, _ in good.top] == sorted(good.scores, key=good.scores.get, reverse=True)
    assert abs(sum(s for _, s in good.top) - 1) < 1e-6 and good.tile_scores.shape[1] == 2
    assert bad.error and "broken.wav" in bad.error and not bad.scores
    model.fitted = False
    with pytest.raises(RuntimeError):
        model.predict_tracks([])


def test_tiles_decoded_elsewhere_score_as_the_file(tmp_path):
    from soundtrack_cnn.audio.streaming import stream_tiles
    t = np.arange(22050 * 31) / 22050.0
    path = str(tmp_path / "chirp.wav")
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * (200 + 20 * t) * t)).astype(np.float32), 22050)
    model = _Loudness()
    direct = predict_file(model, path)
    tiles = np.concatenate(list(stream_tiles(path, model.settings_)))
    assert score_tiles(model, path, [tiles]).scores == direct.scores

    def unreadable():
        yield tiles[:1]
        raise InputError("{}: cut short".format(path))
    failed = score_tiles(model, path, unreadable())
    assert failed.error.endswith("cut short") and failed.tile_scores is None


def test_a_model_trained_on_track_normalised_tiles_scores_track_normalised_tiles(tmp_path):
    from soundtrack_cnn.audio.features import normalise_track
    from soundtrack_cnn.audio.streaming import stream_tiles
    t = np.arange(22050 * 42) / 22050.0
    path = str(tmp_path / "long.wav")
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * (100 + 10 * t) * t)).astype(np.float32), 22050)
    model = _Loudness()
    model.settings_ = FeatureSettings(track_norm="meanvar")
    tiles = np.concatenate(list(stream_tiles(path, model.settings_)))
    expected = model.predict_tiles(normalise_track(tiles, model.settings_))
    # Blocks of one tile: the statistics are still the whole track's.
    got = predict_file(model, path, tiles_per_block=1)
    np.testing.assert_allclose(got.tile_scores, expected, rtol=1e-6)


@pytest.mark.parametrize("pooling", ["max", "lme"])
def test_a_calibration_with_another_pooling_is_refused_before_any_file(pooling, tmp_path):
    from soundtrack_cnn.beyond.calibration import Calibration
    rng = np.random.RandomState(0)
    calibration = Calibration("platt").fit(rng.rand(40, 2), rng.rand(40, 2) > .5,
                                           ["Quiet", "Loud"])
    missing = str(tmp_path / "never-read.wav")
    with pytest.raises(InputError, match="a calibration maps mean-pooled scores"):
        _Loudness().predict_tracks([missing], pooling=pooling, calibration=calibration)
    with pytest.raises(InputError, match="a calibration maps mean-pooled scores"):
        predict_file(_Loudness(), missing, pooling=pooling, calibration=calibration)
    # The mean is what a calibration maps: the file is then read (and found missing).
    prediction, = _Loudness().predict_tracks([missing], calibration=calibration)
    assert "never-read.wav" in prediction.error
