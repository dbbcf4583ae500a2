"""The study's next steps and the references it is measured against.

.. autosummary::

    baseline      the classical baseline: MFCC mean+std per track, logistic per genre
    calibration   Platt / isotonic calibration of each specialist on validation tracks
    clusters      genre clusters from label co-occurrence; the two-stage ranking
    sequence      a GRU/LSTM over a track's tiles (the study's "RNN over slices")
    trunk         a pretrained trunk (conv1..hidden6) as ``.npz`` + provenance, checked
    pretraining   NT-Xent pretraining of the trunk on unlabelled tiles; ``pretrain``
    probe         a trunk's embeddings per track + logistic regression (the linear probe)
"""
