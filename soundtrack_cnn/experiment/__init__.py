"""The experiment: profiles, the run folder and its record, the pipeline, report and comparison.

.. autosummary::

    profiles     the study / demo / small profiles and default paths
    runfolder    a run folder resumed only with its own inputs; one writer (``RUN/lock``)
    tracksets    a run's record (``experiment.json``) and its tracks by split
    scores       every model's tile scores on every split, written once by evaluate
    pipeline     the stages: prepare, train, evaluate; ``run_experiment`` (``make train``)
    report       a run's figures and viewer
    compare      the study's method beside its next steps, bootstrap intervals
"""
