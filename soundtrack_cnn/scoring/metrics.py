"""Metrics on score matrices, baselines, and the aggregation of tile scores per track.

Everything works on plain arrays: ``y_true`` (n, K) of 0/1 and ``scores``
(n, K) in [0, 1], rows being tracks (or tiles), columns genres.  The study
reads a track's answer from the mean of its tiles' scores
(:func:`soundtrack_cnn.scoring.pooling.pool_tracks`) and asks whether the true
tags land in the top five (:func:`evaluate_scores`, ``top_k_any`` / ``top_k_all``).
"""
import html
import re

import numpy as np
from scipy.special import logit

from ..errors import InputError
from ..files import printable

__all__ = ["normalise_scores", "top_k", "choose_thresholds",
           "safe_logit", "macro_roc_auc", "evaluate_scores", "prior_scores", "random_scores",
           "METRICS", "metric_value", "markdown_text", "markdown_table", "metrics_table"]

# Scores are clipped this far from 0 and 1 before a logit, so that a saturated
# sigmoid (exactly 0 or 1 in float32) stays a finite feature.
_LOGIT_EPS = 1e-6


def normalise_scores(scores):
    """Scale each row to sum to 1, for display (the study's normalised bars)."""
    scores = np.asarray(scores, dtype=float)
    totals = scores.sum(axis=1, keepdims=True)
    return np.divide(scores, totals, out=np.full_like(scores, 1.0 / scores.shape[1]),
                     where=totals > 0)


def top_k(scores, genres, k=5):
    """Each row's ``k`` best genres with their scores, best first.

    Examples
    --------
    >>> top_k(np.array([[.1, .7, .2]]), ["a", "b", "c"], k=2)
    [[('b', 0.7), ('c', 0.2)]]
    """
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :k]
    return [[(genres[j], float(row[j])) for j in ranks] for row, ranks in zip(scores, order)]


def choose_thresholds(y_true, scores):
    """Per-genre decision threshold maximising F1, chosen on validation tracks only.

    Candidates are the genre's own scores; of equally good thresholds the
    highest is kept (fewest positive calls).  A genre without positives keeps 0.5.

    Returns
    -------
    thresholds : ndarray, shape (K,)
    """
    # Imported here: sklearn takes ~0.5 s to import, and ``predict`` needs only
    # the array helpers of this module.
    from sklearn import metrics
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    thresholds = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        if not y_true[:, j].any():
            continue
        candidates = np.unique(scores[:, j])
        f1 = [metrics.f1_score(y_true[:, j], scores[:, j] >= c, zero_division=0)
              for c in candidates]
        best = np.flatnonzero(np.isclose(f1, max(f1)))[-1]
        thresholds[j] = candidates[best]
    return thresholds


def _per_genre(metric, y_true, scores, genres):
    """A ranking metric per genre; None where a genre has only one class."""
    values = {}
    for j, genre in enumerate(genres):
        column = y_true[:, j]
        values[genre] = (float(metric(column, scores[:, j]))
                         if 0 < column.sum() < len(column) else None)
    defined = [v for v in values.values() if v is not None]
    return values, (float(np.mean(defined)) if defined else None)


def safe_logit(scores):
    """``log(p / (1 - p))`` of scores clipped to ``[1e-6, 1 - 1e-6]``: always finite.

    Examples
    --------
    >>> safe_logit([0.5, 0.0, 1.0]).round(2).tolist()
    [0.0, -13.82, 13.82]
    """
    return logit(np.clip(np.asarray(scores, dtype=float), _LOGIT_EPS, 1 - _LOGIT_EPS))


def macro_roc_auc(y_true, scores):
    """Mean ROC-AUC over the columns that have both classes (None if none has).

    Examples
    --------
    >>> macro_roc_auc(np.array([[1, 0], [0, 0]]), np.array([[.9, .1], [.2, .3]]))
    1.0
    """
    from sklearn import metrics  # lazily, as in choose_thresholds
    y_true, scores = np.asarray(y_true).astype(int), np.asarray(scores, dtype=float)
    return _per_genre(metrics.roc_auc_score, y_true, scores, range(y_true.shape[1]))[1]


def evaluate_scores(y_true, scores, genres, thresholds=None, k_max=5):
    """Every metric of the report for one score matrix.

    Parameters
    ----------
    y_true : array of {0, 1}, shape (n, K)
    scores : array, shape (n, K)
    genres : sequence of str
    thresholds : array, shape (K,), optional
        Per-genre thresholds for F1 and Hamming loss (default 0.5 each).
    k_max : int
        Top-k hit rates for k = 1..k_max.

    Returns
    -------
    results : dict
        JSON-serialisable: ``n``, ``roc_auc`` / ``average_precision`` per genre
        (None for a genre with one class only, left out of the ``macro_``
        means), ``top_k_any[k]`` (share of rows with at least one true tag in
        the top k), ``top_k_all[k]`` (all true tags in the top k),
        ``precision_at_3``, ``recall_at_3``, ``lrap``, ``micro_f1``,
        ``macro_f1``, ``hamming_loss`` and the ``thresholds`` used.
    """
    # Imported here: sklearn takes ~0.5 s to import, and ``predict`` needs only
    # the array helpers of this module.
    from sklearn import metrics
    y_true = np.asarray(y_true).astype(int)
    scores = np.asarray(scores, dtype=float)
    if y_true.shape != scores.shape or y_true.shape[1] != len(genres):
        raise InputError("y_true {} and scores {} must both be (n, {})".format(
            y_true.shape, scores.shape, len(genres)))
    thresholds = np.full(len(genres), 0.5) if thresholds is None else np.asarray(thresholds)
    auc, macro_auc = _per_genre(metrics.roc_auc_score, y_true, scores, genres)
    ap, macro_ap = _per_genre(metrics.average_precision_score, y_true, scores, genres)
    ranks = np.argsort(-scores, axis=1, kind="stable")
    hits = np.take_along_axis(y_true, ranks, axis=1)      # true tags in rank order
    n_true = y_true.sum(axis=1)
    tagged = n_true > 0
    predicted = (scores >= thresholds).astype(int)
    return {
        "n": int(len(y_true)),
        "roc_auc": auc, "macro_roc_auc": macro_auc,
        "average_precision": ap, "macro_average_precision": macro_ap,
        "top_k_any": {k: float((hits[:, :k].sum(axis=1) > 0)[tagged].mean())
                      for k in range(1, k_max + 1)},
        "top_k_all": {k: float((hits[:, :k].sum(axis=1) == n_true)[tagged].mean())
                      for k in range(1, k_max + 1)},
        "precision_at_3": float((hits[:, :3].sum(axis=1) / 3.0).mean()),
        "recall_at_3": float((hits[:, :3].sum(axis=1)[tagged] / n_true[tagged]).mean()),
        "lrap": float(metrics.label_ranking_average_precision_score(y_true, scores)),
        "micro_f1": float(metrics.f1_score(y_true, predicted, average="micro", zero_division=0)),
        "macro_f1": float(metrics.f1_score(y_true, predicted, average="macro", zero_division=0)),
        "hamming_loss": float(metrics.hamming_loss(y_true, predicted)),
        "thresholds": [float(t) for t in thresholds],
    }


def prior_scores(y_train, n):
    """Label-frequency baseline: every row scored with the training tag frequencies."""
    return np.tile(np.asarray(y_train, dtype=float).mean(axis=0), (n, 1))


def random_scores(n, n_genres, seed=0):
    """Uniform random baseline."""
    return np.random.RandomState(seed).uniform(size=(n, n_genres))


#: Every metric of the tables, in table order: (label, key of :func:`evaluate_scores`).
METRICS = [("macro ROC-AUC", "macro_roc_auc"),
           ("macro average precision", "macro_average_precision"),
           ("top-1 hit (any true tag)", ("top_k_any", 1)),
           ("top-3 hit (any true tag)", ("top_k_any", 3)),
           ("top-5 hit (any true tag)", ("top_k_any", 5)),
           ("all true tags in top 5", ("top_k_all", 5)),
           ("precision@3", "precision_at_3"), ("recall@3", "recall_at_3"),
           ("label ranking AP", "lrap"), ("micro F1", "micro_f1"), ("macro F1", "macro_f1"),
           ("Hamming loss", "hamming_loss")]


def metric_value(result, key):
    """One metric of an :func:`evaluate_scores` result (None where undefined).

    ``key`` is a name or a ``(table, k)`` pair; JSON round trips, whose
    ``k`` keys are strings, are accepted too.

    Examples
    --------
    >>> metric_value({"top_k_any": {"1": .5}, "lrap": None}, ("top_k_any", 1))
    0.5
    >>> metric_value({"lrap": None}, "lrap") is None
    True
    """
    if isinstance(key, tuple):
        table = result[key[0]]
        return table.get(key[1], table.get(str(key[1])))
    return result.get(key)


#: Marks that would make Markdown build something of a name: a table cell's end,
#: a link or image, code, an escape; HTML (<, >, &) is written as entities.
_MARKDOWN_MARKS = re.compile(r"([\\|\[\]`])")


def markdown_text(text):
    """``text`` (a genre, a file or run name) as literal text in a Markdown page.

    Tags, file names and run folder names come from the user's collection:
    written raw, ``<script>`` or ``<img onerror=...>`` in one would run in
    whatever renders the page, a ``|`` would break its table, ``[x](url)``
    would be a link.  HTML is escaped as entities, Markdown's marks with a
    backslash, control characters as :func:`soundtrack_cnn.files.printable`
    shows them.

    Examples
    --------
    >>> print(markdown_text('<img src=x onerror="alert(1)"> Drama|Crime [x](y)'))
    &lt;img src=x onerror="alert(1)"&gt; Drama\\|Crime \\[x\\](y)
    """
    return _MARKDOWN_MARKS.sub(r"\\\1", html.escape(printable(str(text)), quote=False))


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells, each cell :func:`markdown_text`.

    Examples
    --------
    >>> print(markdown_table(["metric", "a|b"], [["AUC", 0.9]]))
    | metric | a\\|b |
    |---|---|
    | AUC | 0.9 |
    """
    lines = ["| " + " | ".join(map(markdown_text, header)) + " |", "|---" * len(header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(markdown_text, row)) + " |" for row in rows])


def metrics_table(results):
    """Markdown table: one row per metric of :data:`METRICS`, one column per model.

    Parameters
    ----------
    results : dict
        ``{model name: evaluate_scores(...) output}`` (JSON round trips accepted).

    Returns
    -------
    table : str
    """
    def cell(result, key):
        found = metric_value(result, key)
        return "-" if found is None else "{:.3f}".format(found)

    names = list(results)
    return markdown_table(["metric"] + names,
                          [[label] + [cell(results[n], key) for n in names]
                           for label, key in METRICS])
