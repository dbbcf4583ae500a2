"""From tile scores to a track's ranked tags, whichever engine produced the scores.

Theano-free; shared by the trained nets (:mod:`soundtrack_cnn.training`) and the
numpy engine (:mod:`soundtrack_cnn.inference`).

.. autosummary::

    metrics       metrics on score matrices, reference baselines, aggregation per track
    pooling       tile scores -> track score: mean (the study's), max, log-mean-exp, attention
    prediction    audio files to ranked tags: the scoring path both engines share
"""
