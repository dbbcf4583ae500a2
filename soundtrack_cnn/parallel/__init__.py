"""Running work in parallel: worker processes, a Dask cluster, file locks.

The infrastructure beneath extraction, training and batch prediction; it knows
nothing about what the work is (the callers pass their functions in).

.. autosummary::

    pool      worker processes that survive a dead or stuck worker; ``effective_n_jobs``
    cluster   independent jobs as tasks on a Dask cluster: ``connect``, ``session``, ``run_tasks``
    locks     ``lock``: a file lock (``flock``) taken without waiting, for one writer at a time
"""
