"""The experiment: profiles, the run folder and its ``experiment.json``, the pipeline, report and comparison.

.. autosummary::

    profiles     the study / demo / small profiles and default paths
    runfolder    a run folder resumed only with its own inputs; one writer (``RUN/lock``)
    tracksets    ``experiment.json`` (a run's store, genres, splits) and its tracks by split
    scores       ``scores.npz`` / ``scores.json``: every model's tile scores, written once by evaluate
    pipeline     the stages: prepare, train, evaluate; ``run_experiment`` (``make train``)
    export       the run's model as one ``.onnx`` or ``.npz``, with its in-distribution reference
    report       a run's figures and viewer
    compare      the study's method beside its next steps, bootstrap intervals
"""
