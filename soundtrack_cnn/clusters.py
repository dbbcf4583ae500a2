"""Genre clusters from label co-occurrence, and the two-stage prediction built on them.

The study saw its predictions fall into two clusters (SciFi, Thriller, Action,
Adventure against Romance, Comedy, Musical) and proposed to decide the cluster
first, then the genre.  Here the clusters are not written down but found:
:func:`genre_clusters` groups the genres of the *training* labels by how often
they go together (average-linkage clustering of the Jaccard distances), and
:class:`TwoStage` learns, from a track's specialist scores, which clusters
the track belongs to and multiplies each genre's score by its cluster's
probability.  Genres that go with everything (Drama) land wherever their
co-occurrence puts them; :func:`cluster_report` says where, beside the
study's split.
"""
import numpy as np
from scipy.special import logit
from sklearn.cluster import AgglomerativeClustering
from sklearn.linear_model import LogisticRegression

from .errors import InputError

__all__ = ["jaccard", "genre_clusters", "cluster_report", "TwoStage", "STUDY_CLUSTERS"]

# The study's two clusters, for comparison only (the clusters used are found).
STUDY_CLUSTERS = (("Action", "Adventure", "SciFi", "Thriller"), ("Comedy", "Musical", "Romance"))

# Scores are clipped before the logit so that a saturated sigmoid stays finite.
_EPS = 1e-6


def jaccard(labels):
    """Jaccard similarity of the genres' track sets, shape (K, K).

    Examples
    --------
    >>> jaccard([[1, 1, 0], [1, 0, 0], [0, 0, 1]]).round(2).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(labels, dtype=float)
    both = labels.T @ labels
    own = np.diag(both)
    union = own[:, None] + own[None, :] - both
    return np.divide(both, union, out=np.eye(len(own)), where=union > 0)


def genre_clusters(labels, n_clusters=2):
    """Cluster index of each genre, from training labels.

    Parameters
    ----------
    labels : array of {0, 1}, shape (n_tracks, K)
        Training tracks' labels.
    n_clusters : int

    Returns
    -------
    clusters : ndarray of int, shape (K,)
        Numbered by first appearance in column order (genre 0 is in cluster 0).

    Examples
    --------
    >>> genre_clusters([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]]).tolist()
    [0, 0, 1, 1]
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not 2 <= n_clusters <= labels.shape[1]:
        raise InputError("need a (n_tracks, K) label matrix with 2 <= n_clusters <= K; got "
                         "shape {} and n_clusters={}".format(labels.shape, n_clusters))
    found = AgglomerativeClustering(n_clusters=n_clusters, metric="precomputed",
                                    linkage="average").fit_predict(1 - jaccard(labels))
    # Renumber by first appearance so the result does not depend on the library's labelling.
    order = {c: i for i, c in enumerate(dict.fromkeys(found))}
    return np.array([order[c] for c in found])


def cluster_report(genres, clusters):
    """The clusters as genre lists, and how each matches the study's split.

    Returns
    -------
    report : dict
        ``clusters``: list of genre lists; ``study``: the study's two lists;
        ``agreement``: for each found cluster, the study cluster it shares
        most genres with and the Jaccard overlap of the two sets.
    """
    groups = [[g for g, c in zip(genres, clusters) if c == k] for k in sorted(set(clusters))]
    agreement = []
    for group in groups:
        overlaps = [len(set(group) & set(s)) / float(len(set(group) | set(s)))
                    for s in STUDY_CLUSTERS]
        best = int(np.argmax(overlaps))
        agreement.append({"study_cluster": best, "jaccard": round(overlaps[best], 3)})
    return {"clusters": groups, "study": [list(s) for s in STUDY_CLUSTERS],
            "agreement": agreement}


class TwoStage(object):
    """Cluster first, genre second: ``score[g] = P(track in cluster of g) * score[g]``.

    The first stage is one logistic regression per cluster on the logits of
    the track's K specialist scores (a track may belong to both clusters);
    the second stage is the specialists themselves.

    Parameters
    ----------
    clusters : array of int, shape (K,)
        From :func:`genre_clusters`.
    C : float
        Inverse L2 strength of the first stage (scikit-learn's ``C``).

    Attributes
    ----------
    stage_one_ : list
        Per cluster: a fitted ``LogisticRegression``, or a float (the
        cluster's frequency) when the fitting tracks show only one class.
    """

    def __init__(self, clusters, C=1.0):
        self.clusters = clusters
        self.C = C

    def _members(self, labels):
        clusters = np.asarray(self.clusters)
        return np.column_stack([labels[:, clusters == c].max(axis=1)
                                for c in range(clusters.max() + 1)])

    def fit(self, track_scores, labels):
        """Fit the first stage on tracks with known labels (validation tracks).

        Parameters
        ----------
        track_scores : array, shape (n_tracks, K)
        labels : array of {0, 1}, shape (n_tracks, K)

        Returns
        -------
        self
        """
        track_scores, labels = np.asarray(track_scores, dtype=float), np.asarray(labels)
        if track_scores.shape != labels.shape or labels.shape[1] != len(self.clusters):
            raise InputError("track scores {} and labels {} must both be (n, {})".format(
                track_scores.shape, labels.shape, len(self.clusters)))
        features = logit(np.clip(track_scores, _EPS, 1 - _EPS))
        self.stage_one_ = []
        for target in self._members(labels).T:
            if target.min() == target.max():
                self.stage_one_.append(float(target.mean()))
            else:
                self.stage_one_.append(LogisticRegression(C=self.C).fit(features, target))
        return self

    def cluster_probabilities(self, track_scores):
        """P(track has a tag in cluster c), shape (n_tracks, n_clusters)."""
        features = logit(np.clip(np.asarray(track_scores, dtype=float), _EPS, 1 - _EPS))
        return np.column_stack([np.full(len(features), model) if isinstance(model, float)
                                else model.predict_proba(features)[:, 1]
                                for model in self.stage_one_])

    def predict(self, track_scores):
        """Combined scores, shape (n_tracks, K): each genre's score times its cluster's."""
        weights = self.cluster_probabilities(track_scores)[:, np.asarray(self.clusters)]
        return weights * np.asarray(track_scores, dtype=float)
