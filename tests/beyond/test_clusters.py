import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn_checks import PARAMETER_CHECKS, UNFITTED_CHECK, run_check

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.beyond.clusters import (
    TwoStage,
    ambiguous,
    cluster_report,
    genre_clusters,
    jaccard,
)


def _planted(rng, n=300, noise=.03):
    """Genres 0, 2, 4, 6 go together and 1, 3, 5, 7 go together (interleaved columns)."""
    labels = np.zeros((n, 8), dtype=int)
    blocks = [np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7])]
    for row in labels:
        block = blocks[rng.randint(2)]
        row[rng.choice(block, size=rng.randint(1, 4), replace=False)] = 1
        row[rng.uniform(size=8) < noise] = 1            # a few cross-block tags
    return labels


def test_two_planted_blocks_are_recovered():
    labels = _planted(np.random.RandomState(0))
    assert genre_clusters(labels).tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    similarity = jaccard(labels)
    assert np.allclose(similarity, similarity.T) and np.allclose(np.diag(similarity), 1)
    assert not ambiguous(labels, genre_clusters(labels)).any()
    with pytest.raises(InputError, match="n_clusters"):
        genre_clusters(labels, n_clusters=9)


def test_a_genre_that_goes_with_both_blocks_is_ambiguous():
    rng = np.random.RandomState(0)
    labels = _planted(rng)
    drama = (rng.uniform(size=len(labels)) < .6).astype(int)[:, None]   # with anything
    labels = np.hstack([labels, drama])
    clusters = genre_clusters(labels)
    assert clusters[:8].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert ambiguous(labels, clusters).tolist() == [False] * 8 + [True]
    genres = ["g{}".format(k) for k in range(8)] + ["Drama"]
    assert cluster_report(genres, clusters, ambiguous(labels, clusters))["ambiguous"] == ["Drama"]


def test_cluster_report_compares_with_the_studys_split():
    genres = ["Action", "Comedy", "SciFi", "Romance", "Drama"]
    report = cluster_report(genres, [0, 1, 0, 1, 0])
    assert report["clusters"] == [["Action", "SciFi", "Drama"], ["Comedy", "Romance"]]
    assert [a["study_cluster"] for a in report["agreement"]] == [0, 1]
    assert report["agreement"][1]["jaccard"] == round(2 / 3., 3)
    assert cluster_report(genres, [0, 1, 0, 1, 0], [0, 0, 0, 0, 1])["clusters"][0] == \
        ["Action", "SciFi"]


def test_two_stage_keeps_a_biased_specialist_out_of_the_other_cluster():
    rng = np.random.RandomState(1)
    clusters = np.array([0, 0, 0, 1, 1, 1])
    labels = np.zeros((400, 6), dtype=int)
    side = rng.randint(2, size=400)
    labels[np.arange(400), 3 * side + rng.randint(3, size=400)] = 1
    # Specialists that see their genre and, more faintly, its cluster; genre 0's
    # specialist (a frequent genre's, like Drama) scores high everywhere.
    scores = np.clip(.3 + .3 * labels + .15 * np.repeat(np.eye(2)[side], 3, axis=1)
                     + .1 * rng.randn(400, 6), .01, .99)
    scores[:, 0] = np.clip(scores[:, 0] + .3, .01, .99)
    model = TwoStage(clusters).fit(scores[:200], labels[:200])
    probabilities = model.cluster_probabilities(scores[200:])
    assert ((probabilities[:, 1] > .5) == side[200:]).mean() > .9
    top1 = lambda s: labels[200:][np.arange(200), s.argmax(axis=1)].mean()
    assert top1(model.predict(scores[200:])) > top1(scores[200:]) + .03
    # A cluster seen with one class only falls back to its frequency.
    only = TwoStage(clusters).fit(scores[:50], np.column_stack([labels[:50, :3], np.ones((50, 3))]))
    assert np.all(only.cluster_probabilities(scores[:5])[:, 1] == 1.0)
    # An ambiguous genre keeps its specialist's score, ungated.
    flagged = TwoStage(clusters, flags=[True] + [False] * 5).fit(scores[:200], labels[:200])
    assert np.array_equal(flagged.predict(scores[200:])[:, 0], scores[200:, 0])
    with pytest.raises(InputError, match="must both be"):
        TwoStage(clusters).fit(scores[:5], labels[:4])
    with pytest.raises(NotFittedError):
        TwoStage(clusters).predict(scores[:5])


@pytest.mark.parametrize("check", PARAMETER_CHECKS + [UNFITTED_CHECK])
def test_scikit_learn_estimator_checks(check):
    run_check(check, TwoStage(clusters=[0, 1, 0]))
