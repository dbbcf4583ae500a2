"""Process settings for speed, applied when Theano is first imported (:mod:`.compat`).

Three settings, measured on the study's network at batch 1200 on a 2-core
machine (``make bench``; docs/results/benchmarks.md):

* glibc's allocator: by default it serves every block above 128 kB with
  ``mmap`` and hands freed memory back to the kernel, so Theano's large
  intermediate buffers are page-faulted in again at every training step (about
  800,000 minor faults per step).  :func:`tune_allocator` calls ``mallopt``
  with ``M_MMAP_MAX=0`` (no ``mmap`` for blocks) and ``M_TRIM_THRESHOLD=-1``
  (never give the heap's top back), so freed buffers are reused from the heap
  and a training step takes no page fault at all.  The process keeps its peak
  memory instead.  (Theano's ``allow_gc=False``, which keeps buffers inside
  each compiled function, gave no further speed once faults were gone, and
  cost about 200 MB more at batch 1200, so Theano's default is kept.)
* :mod:`soundtrack_cnn.stack.ops`: the study's 2x2 max-pooling and its gradient as
  faster C ops with bitwise-identical results, swapped in when Theano
  compiles a function.
* :mod:`soundtrack_cnn.stack.parallel_rng`: dropout's random numbers drawn on
  every core, the same numbers as Theano's single-threaded op.

Environment variables
---------------------
SOUNDTRACK_CNN_FAST
    ``0`` turns all three off (the process then runs with glibc's defaults
    and Theano's own pooling and random-number ops); anything else, or unset,
    leaves them on.
"""
import ctypes
import ctypes.util
import os

__all__ = ["enabled", "install", "register_ops", "tune_allocator"]

# glibc's <malloc.h> parameter numbers for mallopt.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# mallopt(3): "Setting M_TRIM_THRESHOLD to -1 disables trimming completely"
# (a positive int would cap it at 2 GB, below a batch-1200 step's heap).
_NEVER_TRIM = -1


def enabled():
    """Whether the speed settings apply (``SOUNDTRACK_CNN_FAST`` is not ``0``).

    Returns
    -------
    on : bool

    Examples
    --------
    >>> import os
    >>> enabled() == (os.environ.get("SOUNDTRACK_CNN_FAST", "1").strip() != "0")
    True
    """
    return os.environ.get("SOUNDTRACK_CNN_FAST", "1").strip() != "0"


def tune_allocator():
    """Keep freed memory in the process: ``mallopt(M_MMAP_MAX, 0)`` and no trimming.

    Returns
    -------
    applied : bool
        False where the C library has no ``mallopt`` (not glibc) or refuses
        a setting; the process then simply runs with its defaults.

    Examples
    --------
    >>> tune_allocator() in (True, False)
    True
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))


_installed = False


def install():
    """Tune the allocator unless ``SOUNDTRACK_CNN_FAST=0`` (idempotent); whether the settings apply.

    Called with the compatibility shims, when Theano, Lasagne or nolearn is
    first imported (:func:`soundtrack_cnn.stack.compat.arm`), never by
    ``import soundtrack_cnn`` alone; the caller then has :func:`register_ops`
    run once Theano is loaded (the ops need it).

    Returns
    -------
    on : bool
    """
    global _installed
    if not enabled():
        return False
    if not _installed:
        tune_allocator()
        _installed = True
    return True


def register_ops(theano_module=None):
    """Swap in the faster pooling and random-number ops (:mod:`.ops`, :mod:`.parallel_rng`)."""
    from . import ops, parallel_rng
    ops.register()
    parallel_rng.register()
