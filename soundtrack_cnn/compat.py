"""Make the 2015 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1) run on Python 3.11.

This is the only place in the package that touches third-party code, and it
does so without editing site-packages: every shim below is installed in
``sys.modules`` or in Theano's configuration *before* the library that needs it
is imported.  ``import soundtrack_cnn`` calls :func:`install` first thing.
:func:`install` itself imports neither Theano nor scikit-learn: the two shims
that need them are built by an import hook the moment Lasagne or nolearn asks
for the missing module, so code that never touches the 2015 stack (the numpy
inference engine behind ``soundtrack-cnn predict``) starts in a fraction of a
second.

The shims, one per upstream break:

* :func:`configure_theano` -- Theano 1.0.5 asks
  ``numpy.distutils.__config__.blas_opt_info`` for BLAS link flags; numpy 1.22
  renamed that attribute, so ``import theano`` dies.  We hand Theano explicit
  flags instead, pointing at the LP64 OpenBLAS that the scipy wheel already
  ships (numpy's own OpenBLAS is ILP64 with suffixed symbols Theano cannot call),
  so GEMM-based convolutions work with no system package.
* :func:`install_downsample` -- Lasagne 0.1 imports
  ``theano.tensor.signal.downsample``, which Theano 0.9 removed in favour of
  ``theano.tensor.signal.pool.pool_2d``.
* :func:`install_python_scan` -- Theano 1.0.5 ships a Cython-generated C
  loop for ``scan`` (recurrent nets) that includes ``longintrepr.h``, which
  Python 3.11 moved to ``cpython/``; compiling it fails.  Theano falls back to
  its own pure-Python scan loop when that extension cannot be imported.
* :func:`install_iterable` -- nolearn 0.6.1 imports ``collections.Iterable``,
  removed from ``collections`` in Python 3.10 (it lives in ``collections.abc``).
* :func:`install_cross_validation` -- nolearn 0.6.1 imports
  ``sklearn.cross_validation.KFold/StratifiedKFold`` with their old constructor
  signatures (``KFold(n, n_folds)``, ``StratifiedKFold(y, n_folds)``);
  scikit-learn 0.20 removed that module.

Environment variables
---------------------
SOUNDTRACK_CNN_CACHE
    Root of the package's caches (default ``~/.cache/soundtrack_cnn``).  The
    Theano compile cache lives in ``$SOUNDTRACK_CNN_CACHE/theano`` and survives
    between runs, so only the first run pays for compiling C code.
THEANO_FLAGS
    Still wins over everything set here, as in plain Theano.
"""
import collections
import collections.abc
import glob
import importlib.abc
import importlib.util
import logging
import os
import sys
import types

__all__ = ["install", "cache_dir", "openblas_library"]

#: Theano settings chosen by measurement (see ``make bench`` and the README).
THEANO_SETTINGS = {
    # openmp parallelises CorrMM and large elemwise ops over the batch: +15%
    # training and +50% inference throughput on 2 cores (bench/bench_network.py).
    "global": {"floatX": "float32", "device": "cpu", "openmp": "True"},
    "gcc": {"cxxflags": "-O3 -march=native"},
}


def cache_dir():
    """Return the package cache directory, creating it if needed.

    Returns
    -------
    path : str
        ``$SOUNDTRACK_CNN_CACHE`` or ``~/.cache/soundtrack_cnn``.
    """
    path = os.environ.get("SOUNDTRACK_CNN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "soundtrack_cnn")
    os.makedirs(path, exist_ok=True)
    return path


def openblas_library():
    """Locate the LP64 OpenBLAS bundled in the scipy wheel.

    Returns
    -------
    path : str or None
        Absolute path of ``scipy.libs/libopenblas*.so``, or None if scipy was
        built against a system BLAS (then Theano's own detection is used).
    """
    import importlib.util
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = os.path.join(os.path.dirname(list(spec.submodule_search_locations)[0]), "scipy.libs")
    found = sorted(glob.glob(os.path.join(libs, "libopenblas*.so*")))
    return found[0] if found else None


def _blas_ldflags():
    library = openblas_library()
    if library is None:
        return None
    directory, name = os.path.split(library)
    # -Wl,-rpath makes Theano's compiled modules find the library at run time
    # without LD_LIBRARY_PATH.
    return "-L{0} -l:{1} -Wl,-rpath,{0}".format(directory, name)


def _write_atomically(path, text):
    tmp = "{}.{}.tmp".format(path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def configure_theano():
    """Give Theano BLAS flags, a compile cache and floatX before it is imported.

    The settings go into a generated ``theanorc`` placed *first* on
    ``THEANORC``, so a user's own ``~/.theanorc`` and ``THEANO_FLAGS`` still
    override them.  (A theanorc rather than ``THEANO_FLAGS`` because the link
    flags contain commas, which ``THEANO_FLAGS`` uses as a separator.)
    """
    if "theano" in sys.modules:
        return
    sections = {name: dict(values) for name, values in THEANO_SETTINGS.items()}
    sections["global"]["base_compiledir"] = os.path.join(cache_dir(), "theano")
    ldflags = _blas_ldflags()
    if ldflags:
        sections["blas"] = {"ldflags": ldflags}
    text = "".join(
        "[{}]\n{}\n".format(name, "".join("{} = {}\n".format(k, v) for k, v in values.items()))
        for name, values in sections.items())
    rc_path = os.path.join(cache_dir(), "theanorc")
    if not os.path.exists(rc_path) or open(rc_path).read() != text:
        _write_atomically(rc_path, text)
    # Remember the user's own THEANORC once: child processes inherit our
    # THEANORC, and must not let the parent's generated file (another cache,
    # perhaps) override their own.
    user_rc = os.environ.setdefault(
        "SOUNDTRACK_CNN_USER_THEANORC",
        os.environ.get("THEANORC", "~/.theanorc" + os.pathsep + "~/.theanorc.txt"))
    os.environ["THEANORC"] = rc_path + os.pathsep + user_rc
    # Theano's sanity check only understands "-lNAME" and warns about our
    # "-l:FILE" on every compile, although linking and running work.
    logging.getLogger("theano.tensor.blas").addFilter(
        lambda record: "did not find a dynamic library" not in record.getMessage())


def install_downsample():
    """Provide ``theano.tensor.signal.downsample.max_pool_2d`` for Lasagne 0.1."""
    from theano.tensor.signal import pool
    import theano.tensor.signal as signal

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st,
                            pad=padding, mode=mode)

    module = types.ModuleType("theano.tensor.signal.downsample",
                              "Shim: the Theano < 0.9 pooling API on top of pool_2d.")
    module.max_pool_2d = max_pool_2d
    sys.modules[module.__name__] = module
    signal.downsample = module


def install_python_scan():
    """Make Theano use its pure-Python scan loop instead of the uncompilable C one."""
    # None in sys.modules turns the import into ImportError, the case Theano's
    # Scan.make_thunk handles by running Scan.execute.
    sys.modules.setdefault("theano.scan_module.scan_perform_ext", None)


def install_iterable():
    """Restore ``collections.Iterable`` (moved to ``collections.abc``) for nolearn."""
    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable


def install_cross_validation():
    """Provide ``sklearn.cross_validation`` with the pre-0.18 fold iterators."""
    import sklearn
    from sklearn import model_selection

    class KFold(object):
        """``KFold(n, n_folds)``: iterate (train, test) index arrays over ``range(n)``."""

        def __init__(self, n, n_folds=3, shuffle=False, random_state=None):
            self.n = n
            self.splitter = model_selection.KFold(int(n_folds), shuffle=shuffle,
                                                  random_state=random_state)

        def __iter__(self):
            return self.splitter.split(range(self.n))

    class StratifiedKFold(object):
        """``StratifiedKFold(y, n_folds)``: stratified (train, test) index arrays."""

        def __init__(self, y, n_folds=3, shuffle=False, random_state=None):
            self.y = y
            self.splitter = model_selection.StratifiedKFold(int(n_folds), shuffle=shuffle,
                                                            random_state=random_state)

        def __iter__(self):
            return self.splitter.split(self.y, self.y)

    module = types.ModuleType("sklearn.cross_validation",
                              "Shim: scikit-learn < 0.18 fold iterators for nolearn 0.6.1.")
    module.KFold = KFold
    module.StratifiedKFold = StratifiedKFold
    sys.modules[module.__name__] = module
    sklearn.cross_validation = module


class _ShimImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Build a shim module when something imports it, not before.

    Building the shims needs ``theano`` and ``sklearn.model_selection``
    imported (seconds); deferring them to the import that asks for them keeps
    ``import soundtrack_cnn`` free of both.
    """

    installers = {"theano.tensor.signal.downsample": install_downsample,
                  "sklearn.cross_validation": install_cross_validation}

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in self.installers else None

    def create_module(self, spec):
        self.installers[spec.name]()
        return sys.modules[spec.name]

    def exec_module(self, module):
        pass


_installed = False


def install():
    """Install every shim (idempotent); called by ``import soundtrack_cnn``.

    Imports no Theano, Lasagne, nolearn or scikit-learn itself: the
    ``downsample`` and ``cross_validation`` shims are built on first import.
    """
    global _installed
    if _installed:
        return
    configure_theano()
    install_python_scan()
    install_iterable()
    sys.meta_path.insert(0, _ShimImporter())
    _installed = True
