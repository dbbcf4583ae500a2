import numpy as np
import pytest

from soundtrack_cnn.collection.labels import (
    cooccurrence,
    label_matrix,
    label_statistics,
    vocabulary,
)
from soundtrack_cnn.errors import InputError

TAGS = [("Drama", "Action"), ("Drama", "Romance"), ("Drama", "Action", "SciFi"),
        ("Comedy", "Romance"), ("Drama",)]


def test_vocabulary_is_most_frequent_first_with_stable_ties():
    assert vocabulary(TAGS, k=3) == ["Drama", "Action", "Romance"]
    assert vocabulary(TAGS, k=10) == ["Drama", "Action", "Romance", "Comedy", "SciFi"]


def test_explicit_vocabulary_must_occur():
    assert vocabulary(TAGS, genres=["SciFi", "Drama"]) == ["SciFi", "Drama"]
    with pytest.raises(InputError, match="Western"):
        vocabulary(TAGS, genres=["Western"])


def test_label_matrix_and_cooccurrence():
    genres = ["Drama", "Action", "Romance"]
    labels = label_matrix(TAGS, genres)
    assert labels.tolist() == [[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]]
    counts = cooccurrence(TAGS, genres)
    assert np.diag(counts).tolist() == [4, 2, 2]
    assert counts[0, 1] == counts[1, 0] == 2 and counts[1, 2] == 0


def test_statistics_show_drama_as_near_superset():
    stats = label_statistics(TAGS, ["Drama", "Action", "Romance", "SciFi"])
    # ("Comedy", "Romance") counts one tag: Comedy is outside this vocabulary.
    assert stats["tags_per_track"] == {1: 2, 2: 2, 3: 1}
    assert stats["overlap"][1][0] == 1.0          # P(Drama | Action)
    assert stats["overlap"][0][1] == 0.5          # P(Action | Drama)
    assert ("Action", "Drama") in stats["near_subsets"]
    assert ("Drama", "Action") not in stats["near_subsets"]
