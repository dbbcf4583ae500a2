"""The linear probe: a pretrained trunk's embeddings, pooled per track, and a logistic regression.

What self-supervised representations are usually judged by (CLMR, COLA):
the trunk is kept fixed, each tile gives its ``hidden6`` activations
(:func:`.trunk.embed_tiles`), a track is the mean and standard deviation of
its tiles' activations, and one class-balanced logistic regression per genre
is fitted on the training tracks -- the classical baseline's classifier
(:func:`.baseline.make_classical_baseline`), on learned features instead of
MFCC statistics.  Beside the fine-tuned
specialists it answers: did fine-tuning the whole network beat a linear
read-out of the trunk?
"""
import os

import numpy as np

from ..audio.features import Normalizer
from ..errors import InputError
from ..training.dataset import TileView
from .baseline import make_classical_baseline
from .trunk import embed_tiles, read_trunk

__all__ = ["pool_embeddings", "linear_probe_scores", "probe_name"]


def pool_embeddings(embeddings, ranges):
    """Mean and standard deviation of each track's tile embeddings.

    Examples
    --------
    >>> pool_embeddings(np.array([[1., 2.], [3., 2.], [5., 5.]]), [(0, 2), (2, 3)]).tolist()
    [[2.0, 2.0, 1.0, 0.0], [5.0, 5.0, 0.0, 0.0]]
    """
    pooled = []
    for start, stop in ranges:
        if stop <= start:
            raise InputError("every track needs at least one tile; got range ({}, {})"
                             .format(start, stop))
        block = np.asarray(embeddings[start:stop], np.float64)
        pooled.append(np.concatenate([block.mean(axis=0), block.std(axis=0)]))
    return np.array(pooled)


def probe_name(trunk):
    """The row name of a trunk's probe (its file and the start of its sha256).

    Examples
    --------
    >>> import types
    >>> probe_name(types.SimpleNamespace(path="/x/pretrained.npz", sha256="0123456789abcdef"))
    'linear probe of trunk pretrained.npz (01234567)'
    """
    return "linear probe of trunk {} ({})".format(os.path.basename(trunk.path), trunk.sha256[:8])


def linear_probe_scores(trunk, tiles, sets, random_state=0):
    """Validation and test track scores of a trunk's linear probe, fitted on the training tracks.

    Parameters
    ----------
    trunk : Trunk or str
        A trunk, its path, or ``'pretrained'``.
    tiles : array-like
        The store's raw tiles.
    sets : dict
        ``{"train", "valid", "test"}`` track sets (``rows``, ``ranges``,
        ``labels``), as :func:`~soundtrack_cnn.experiment.tracksets.track_sets` gives them.
    random_state : int

    Returns
    -------
    scores : dict
        ``{"valid": (n_valid, K), "test": (n_test, K)}``.
    """
    if not hasattr(trunk, "params"):
        trunk = read_trunk(trunk)
    if not len(sets["train"].rows):
        raise InputError("the linear probe needs training tracks")
    # The tiles are standardised with the training tracks' statistics, as the
    # fine-tuned nets see them.
    normalizer = Normalizer().fit(TileView(tiles, sets["train"].rows))
    pooled = {split: pool_embeddings(embed_tiles(trunk, TileView(tiles, tracks.rows,
                                                                 normalizer=normalizer)),
                                     tracks.ranges)
              for split, tracks in sets.items() if tracks.track_ids}
    model = make_classical_baseline(random_state=random_state).fit(pooled["train"],
                                                                   sets["train"].labels)
    return {split: model.predict_proba(pooled[split]) for split in ("valid", "test")
            if split in pooled}
