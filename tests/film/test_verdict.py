"""The film's verdict on known tile scores: pooling, calibration, intervals, abstention, provenance."""
import numpy as np
import pytest

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.calibration import Calibration
from soundtrack_cnn.film.segments import Segment
from soundtrack_cnn.film.verdict import ABSTAIN, film_verdict
from soundtrack_cnn.scoring.pooling import pool_tracks

GENRES = ["Drama", "Horror", "Comedy"]


def _film(seed=0):
    """Six segments of 10 tiles; Horror lives in segments 2 and 5, tiles 50-54 are unlike training."""
    rng = np.random.RandomState(seed)
    scores = np.clip(rng.normal(.3, .05, (60, 3)), 0, 1)
    scores[10:20, 1] = scores[40:50, 1] = .9
    scores[:, 0] += .2
    flags = np.ones(60, bool)
    flags[50:55] = False
    segments = [Segment(i + 1, "cue", 30.0 * i, 30.0 * (i + 1), (10 * i, 10 * i + 10), 0,
                        float(flags[10 * i:10 * i + 10].mean()), None) for i in range(6)]
    return scores, flags, segments


@pytest.mark.parametrize("pooling", ["mean", "max", "lme"])
def test_ranking_pools_the_in_distribution_tiles_and_the_interval_holds_it(pooling):
    scores, flags, segments = _film()
    verdict = film_verdict(scores, flags, segments, GENRES, pooling=pooling, n_boot=300)
    expected = pool_tracks(scores[flags], [(0, int(flags.sum()))], pooling)[0]
    by_genre = {g["genre"]: g for g in verdict["genres"]}
    for j, genre in enumerate(GENRES):
        assert by_genre[genre]["score"] == pytest.approx(expected[j])
        low, high = by_genre[genre]["interval"]
        assert low <= expected[j] + 1e-12 and expected[j] <= high + 1e-12
    assert [g["genre"] for g in verdict["genres"]] == [GENRES[j] for j in np.argsort(-expected, kind="stable")]
    assert sum(g["share"] for g in verdict["genres"]) == pytest.approx(1)
    assert verdict["n_segments"] == 6 and not verdict["abstained"]


def test_intervals_are_reproducible_and_narrow_with_agreeing_segments():
    scores, flags, segments = _film()
    one = film_verdict(scores, flags, segments, GENRES, n_boot=200, seed=3)
    assert one == film_verdict(scores, flags, segments, GENRES, n_boot=200, seed=3)
    width = {g["genre"]: g["interval"][1] - g["interval"][0] for g in one["genres"]}
    # Horror is in two of six segments: its interval is far wider than Comedy's.
    assert width["Horror"] > 5 * width["Comedy"]


def test_provenance_names_the_segments_holding_the_evidence():
    scores, flags, segments = _film()
    verdict = film_verdict(scores, flags, segments, GENRES, n_boot=0, top=2)
    horror = verdict["provenance"]["Horror"]
    assert [p["segment"] for p in horror[:2]] == [2, 5] or [p["segment"] for p in horror[:2]] == [5, 2]
    assert horror[0]["start_s"] in (30.0, 120.0) and horror[0]["mean_score"] == pytest.approx(.9)
    assert 0 < sum(p["share"] for p in horror) <= 1 and len(verdict["provenance"]) == 2
    assert verdict["genres"][0]["interval"] is None


def test_calibrated_probabilities_rank_the_film():
    scores, flags, segments = _film()
    rng = np.random.RandomState(0)
    raw = rng.uniform(size=(400, 3))
    labels = (rng.uniform(size=raw.shape) < raw[:, [2, 1, 0]]).astype(int)
    calibration = Calibration("platt").fit(raw, labels, GENRES)
    verdict = film_verdict(scores, flags, segments, GENRES, calibration=calibration, n_boot=100)
    pooled = pool_tracks(scores[flags], [(0, int(flags.sum()))])
    probabilities = calibration.predict(pooled)[0]
    assert verdict["calibrated"] == "platt"
    assert [g["probability"] for g in verdict["genres"]] == pytest.approx(sorted(probabilities, reverse=True))
    for g in verdict["genres"]:
        assert g["interval"][0] <= g["probability"] <= g["interval"][1]
    with pytest.raises(InputError, match="mean-pooled"):
        film_verdict(scores, flags, segments, GENRES, pooling="max", calibration=calibration)


def test_too_little_music_like_the_collection_abstains():
    scores, _, segments = _film()
    flags = np.zeros(60, bool)
    flags[:5] = True
    verdict = film_verdict(scores, flags, segments, GENRES, min_share=0.1)
    assert verdict["abstained"] and verdict["reason"].startswith(ABSTAIN)
    assert "8%" in verdict["reason"] and verdict["genres"] == [] and verdict["provenance"] == {}
    assert not film_verdict(scores, flags, segments, GENRES, min_share=0.05)["abstained"]
    assert film_verdict(scores, np.zeros(60, bool), segments, GENRES, min_share=0)["abstained"]
    with pytest.raises(InputError, match="min_share"):
        film_verdict(scores, flags, segments, GENRES, min_share=2)
