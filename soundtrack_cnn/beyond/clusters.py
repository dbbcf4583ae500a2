"""Genre clusters from label co-occurrence, and the two-stage prediction built on them.

The study saw its predictions fall into two clusters (SciFi, Thriller, Action,
Adventure against Romance, Comedy, Musical) and proposed to decide the cluster
first, then the genre.  Here the clusters are not written down but found:
:func:`genre_clusters` groups the genres of the *training* labels by how often
they go together (average-linkage clustering of the Jaccard distances), and
:class:`TwoStage` learns, from a track's specialist scores, which clusters
the track belongs to and multiplies each genre's score by its cluster's
probability.  Genres that go with everything (Drama) are flagged
:func:`ambiguous`: they neither define a cluster for the first stage nor are
gated by one -- the study's "finer-grained prediction that brings in the
ambiguous, genre-breaking classes".  :func:`cluster_report` lists what fell
where, beside the study's split.
"""
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import AgglomerativeClustering
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ..scoring.metrics import safe_logit

__all__ = ["jaccard", "genre_clusters", "ambiguous", "cluster_report", "TwoStage",
           "STUDY_CLUSTERS"]

# The study's two clusters, for comparison only (the clusters used are found).
STUDY_CLUSTERS = (("Action", "Adventure", "SciFi", "Thriller"), ("Comedy", "Musical", "Romance"))


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


def ambiguous(labels, clusters, max_ratio=.5):
    """Genres that occur about as often beside one cluster's tags as beside the other's (Drama).

    For a genre g and each cluster c, the rate of g among the tracks that
    carry another tag of c; g is ambiguous when its lowest rate is at least
    ``max_ratio`` times its highest.  Rates ignore cluster sizes, and genres
    are set aside one at a time, most spread first: a genre that goes with
    everything makes every other genre look mixed until it is set aside.

    Parameters
    ----------
    labels : array of {0, 1}, shape (n_tracks, K)
        Training tracks' labels.
    clusters : array of int, shape (K,)
    max_ratio : float

    Returns
    -------
    flags : ndarray of bool, shape (K,)

    Examples
    --------
    >>> labels = [[1, 1, 0, 0, 0], [1, 0, 0, 1, 0], [1, 0, 0, 0, 1], [0, 1, 1, 0, 0]]
    >>> labels += [[0, 0, 0, 1, 1]] * 3
    >>> ambiguous(labels, [0, 0, 0, 1, 1]).tolist()    # genre 0 goes with both clusters
    [True, False, False, False, False]
    """
    labels = np.asarray(labels, dtype=bool)
    clusters = np.asarray(clusters)
    flags = np.zeros(len(clusters), dtype=bool)
    while not flags.all():
        spread = np.full(len(clusters), -np.inf)
        for g in np.flatnonzero(~flags):
            rates = []
            for c in np.unique(clusters):
                others = (clusters == c) & ~flags
                others[g] = False
                beside = labels[:, others].any(axis=1)
                if beside.any():
                    rates.append(labels[beside, g].mean())
            if len(rates) > 1 and max(rates) > 0:
                spread[g] = min(rates) / max(rates)
        worst = int(np.argmax(spread))
        if spread[worst] < max_ratio:
            break
        flags[worst] = True
    return flags


def cluster_report(genres, clusters, flags=None):
    """The clusters as genre lists, and how each matches the study's split.

    Parameters
    ----------
    genres : sequence of str
    clusters : array of int, shape (K,)
    flags : array of bool, shape (K,), optional
        Ambiguous genres (:func:`ambiguous`), listed apart.

    Returns
    -------
    report : dict
        ``clusters``: list of genre lists; ``ambiguous``: genre list;
        ``study``: the study's two lists; ``agreement``: for each found
        cluster, the study cluster it shares most genres with and the
        Jaccard overlap of the two sets.
    """
    flags = np.zeros(len(genres), dtype=bool) if flags is None else np.asarray(flags)
    groups = [[g for g, c, f in zip(genres, clusters, flags) if c == k and not f]
              for k in sorted(set(clusters))]
    agreement = []
    for group in groups:
        overlaps = [len(set(group) & set(s)) / float(len(set(group) | set(s)))
                    for s in STUDY_CLUSTERS]
        best = int(np.argmax(overlaps))
        agreement.append({"study_cluster": best, "jaccard": round(overlaps[best], 3)})
    return {"clusters": groups, "ambiguous": [g for g, f in zip(genres, flags) if f],
            "study": [list(s) for s in STUDY_CLUSTERS], "agreement": agreement}


class TwoStage(BaseEstimator):
    """Cluster first, genre second: ``score[g] = P(track in cluster of g) * score[g]``.

    The first stage is one logistic regression per cluster on the logits of
    the track's K specialist scores (a track may belong to both clusters);
    the second stage is the specialists themselves.  Ambiguous genres are
    left out of the first stage's targets and keep their own score.

    Parameters
    ----------
    clusters : array of int, shape (K,)
        From :func:`genre_clusters`.
    flags : array of bool, shape (K,), optional
        Ambiguous genres (:func:`ambiguous`); default none.
    C : float
        Inverse L2 strength of the first stage (scikit-learn's ``C``).

    Attributes
    ----------
    stage_one_ : list
        Per cluster: a fitted ``LogisticRegression``, or a float (the
        cluster's frequency) when the fitting tracks show only one class.
    """

    def __init__(self, clusters, flags=None, C=1.0):
        self.clusters = clusters
        self.flags = flags
        self.C = C

    def _flags(self):
        return (np.zeros(len(self.clusters), dtype=bool) if self.flags is None
                else np.asarray(self.flags, dtype=bool))

    def _members(self, labels):
        clusters, core = np.asarray(self.clusters), ~self._flags()
        return np.column_stack([labels[:, (clusters == c) & core].max(axis=1, initial=0)
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
        features = safe_logit(track_scores)
        self.stage_one_ = []
        for target in self._members(labels).T:
            if target.min() == target.max():
                self.stage_one_.append(float(target.mean()))
            else:
                self.stage_one_.append(LogisticRegression(C=self.C).fit(features, target))
        return self

    def cluster_probabilities(self, track_scores):
        """P(track has a tag in cluster c), shape (n_tracks, n_clusters)."""
        check_is_fitted(self, "stage_one_")
        features = safe_logit(track_scores)
        return np.column_stack([np.full(len(features), model) if isinstance(model, float)
                                else model.predict_proba(features)[:, 1]
                                for model in self.stage_one_])

    def predict(self, track_scores):
        """Combined scores, shape (n_tracks, K): each genre's score times its cluster's.

        An ambiguous genre's score is its specialist's alone.
        """
        weights = self.cluster_probabilities(track_scores)[:, np.asarray(self.clusters)]
        weights[:, self._flags()] = 1.0
        return weights * np.asarray(track_scores, dtype=float)
