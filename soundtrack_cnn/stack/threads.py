"""One thread per net while it trains, so that its weights do not depend on the machine.

A net's sums are split over threads in two places: Theano's convolution
gradient (``CorrMM`` with ``openmp``) adds up a partial gradient per OpenMP
thread, and OpenBLAS's ``sgemm`` partitions its work by its thread count.
Floating-point addition is not associative, so the same seed gives other
weights in the last bits with another number of threads, and after a few
epochs another kept epoch (measured on the bundled corpus, one specialist,
four epochs: a different weights sha256 for each of OMP/OpenBLAS threads
1/1, 2/1, 1/2 and 2/2).  Training on one thread makes a net the same on
any machine, for any ``n_jobs``, in this process or on a Dask worker;
parallelism comes from training several nets at once
(:class:`soundtrack_cnn.training.ensemble.SpecialistEnsemble`'s ``n_jobs``).
At the study's small batches one thread is also the faster use of a core:
on two cores, one specialist took 18.5 s for four epochs with two threads
and 24.8 s with one, so two nets side by side, one thread each, train in
two thirds of the time.  Pretraining trains one net: its ``n_jobs`` is the
number of threads (:class:`soundtrack_cnn.beyond.pretraining.ContrastivePretrainer`),
and its weights are those of that number.

Examples
--------
>>> from threadpoolctl import threadpool_info
>>> with one_thread():
...     all(pool["num_threads"] == 1 for pool in threadpool_info())
True
"""
from threadpoolctl import ThreadpoolController

__all__ = ["limit_threads", "one_thread"]


def limit_threads(n_threads):
    """``with limit_threads(n):`` OpenMP and BLAS run on ``n`` threads; restored on the way out.

    Only the libraries already loaded are limited: call it after the net's
    Theano functions are compiled (that loads OpenMP and OpenBLAS).
    """
    return ThreadpoolController().limit(limits=n_threads)


def one_thread():
    """``with one_thread():`` OpenMP and BLAS run on one thread (:func:`limit_threads`)."""
    return limit_threads(1)
