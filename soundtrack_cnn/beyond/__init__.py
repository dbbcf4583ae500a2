"""Beyond the study: its next steps, and the classical baseline it is measured against.

Everything here is something the 2015 study did not do; each is an option
measured beside the study's method (``soundtrack-cnn compare``), never a
change to it.  (Metrics are in :mod:`soundtrack_cnn.scoring`; evaluating a
run is :func:`soundtrack_cnn.experiment.pipeline.evaluate_run`.)

.. autosummary::

    baseline      the classical baseline: MFCC mean+std per track, logistic per genre
    calibration   Platt / isotonic calibration of each specialist on validation tracks
    clusters      genre clusters from label co-occurrence; the two-stage ranking
    sequence      a GRU/LSTM over a track's tiles (the study's "RNN over slices")
    options       the names of these choices (``CALIBRATIONS``), without scikit-learn
    trunk         a pretrained trunk (conv1..hidden6) as ``.npz`` + provenance, checked
    pretraining   NT-Xent pretraining of the trunk on unlabelled tiles; ``pretrain``
    probe         a trunk's embeddings per track + logistic regression (the linear probe)
"""
