"""Make the 2015 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1) run on Python 3.11.

This is the only place in the package that touches third-party code, and it
does so without editing site-packages: every shim below is installed in
``sys.modules`` or in Theano's configuration *before* the library that needs it
is imported.

When: the first time Theano, Lasagne or nolearn is imported in the process
(by the package's training code, or directly by a notebook after ``import
soundtrack_cnn``), never before.  ``import soundtrack_cnn`` itself writes no
file, sets no environment variable and patches no module: it only adds one
import hook (:func:`arm`) to ``sys.meta_path``, which looks at nothing but the
names ``theano``, ``lasagne`` and ``nolearn``, and calls :func:`install` (and
the speed settings of :mod:`.runtime`) when one of them is first imported.
That hook is the least a package can do and still let ``import lasagne`` work
right after ``import soundtrack_cnn``: Python has no other "after import"
hook, and Theano must be configured *before* it is imported.  A process that
uses only the numpy or ONNX engines never triggers it.  :func:`install` can
also be called directly (idempotent).

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
* :func:`install_clonable_neuralnet` -- nolearn 0.6.1's ``NeuralNet`` cannot be
  cloned or printed by scikit-learn >= 0.24 (see :func:`_make_neuralnet_clonable`).
* :func:`install_stable_compile_keys` -- Theano 1.0.5 keys two kinds of
  compiled C code so that the next process never finds it: ops without
  properties (``Dot22``, ``DeepCopyOp``, ...) and ops whose C code is read from
  files (``DimShuffle``, ...); every process compiled seven modules of the
  study's network again (about 9 s), and the second kind piled up in the cache.
* :func:`silence_image_shape_warning` -- Lasagne 0.1 calls Theano's ``conv2d``
  with ``image_shape``, which Theano 0.9 renamed ``input_shape`` (same
  meaning); Theano warns on every net built, once per layer.

The shims that need Theano, scikit-learn or nolearn are import hooks too:
they take effect when that library is first imported, so installing them
imports none of them.

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
import functools
import glob
import importlib.abc
import importlib.machinery
import itertools
import logging
import os
import socket
import sys
import types
import warnings

from ..errors import WorkerWarning
from ..files import sha256_bytes, write_text
from ..parallel.locks import lock

__all__ = ["arm", "install", "after_import", "cache_dir", "openblas_library",
           "worker_compile_cache"]

#: Theano settings chosen by measurement (see ``make bench`` and docs/results/benchmarks.md).
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
        write_text(rc_path, text)
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
    # Nets training side by side in worker processes wait for each other's compiles
    # at times; Theano announces every wait, with how to delete the lock, at INFO.
    logging.getLogger("theano.gof.compilelock").addFilter(
        lambda record: record.levelno > logging.INFO)


def worker_compile_cache():
    """Give this Dask worker process a Theano compile cache of its own, before Theano loads.

    Run in every worker by :class:`soundtrack_cnn.parallel.cluster.WorkerSetup`
    when training on a cluster (:mod:`soundtrack_cnn.training.ensemble`).  Each worker compiles Theano code into
    ``$SOUNDTRACK_CNN_CACHE/dask-workers/<host>-<slot>``: worker processes on
    one host take the lowest free slot, held by a lock file for the life of
    the process, so their caches never clash and a restarted worker finds its
    compiled code again.

    Returns
    -------
    lock : file object
        The slot's lock, held until the worker process ends.
    """
    root = os.path.join(cache_dir(), "dask-workers")
    os.makedirs(root, exist_ok=True)
    host = socket.gethostname()
    for slot in itertools.count():
        held = lock(os.path.join(root, "{}-{}.lock".format(host, slot)))
        if held is not None:
            break
    os.environ["SOUNDTRACK_CNN_CACHE"] = os.path.join(root, "{}-{}".format(host, slot))
    if "theano" in sys.modules:
        warnings.warn("Theano was imported in this Dask worker before its setup ran; it uses "
                      "the compile cache it had", WorkerWarning, stacklevel=2)
    configure_theano()
    return held


#: The libraries whose first import installs the shims (top-level names).
TRIGGERS = ("theano", "lasagne", "nolearn")


class _ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hooks: install the shims when the stack is first imported; build a
    removed module on first import, or patch a module once loaded.

    Shims are installed lazily, so ``import soundtrack_cnn`` imports neither
    Theano nor scikit-learn: code that never trains (reading manifests,
    numpy inference) starts fast and leaves the process as it was.
    """

    def __init__(self):
        self.builders = {}   # module name -> function returning the shim module
        self.patches = {}    # module name -> function(module) run after it loads

    def find_spec(self, name, path=None, target=None):
        if not _installed and name in TRIGGERS:
            _install_all()
        if name in self.builders:
            return importlib.machinery.ModuleSpec(name, self)
        if name in self.patches:
            # Find the real module with the other finders, then patch it after loading.
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    spec.loader = _PatchingLoader(spec.loader, self.patches[name])
                    return spec
        return None

    def create_module(self, spec):
        return self.builders[spec.name]()

    def exec_module(self, module):
        """The builder made the module whole."""


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader, patch):
        self.loader = loader
        self.patch = patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.patch(module)


_FINDER = _ShimFinder()


def _downsample_module():
    from theano.tensor.signal import pool

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st,
                            pad=padding, mode=mode)

    module = types.ModuleType("theano.tensor.signal.downsample",
                              "Shim: the Theano < 0.9 pooling API on top of pool_2d.")
    module.max_pool_2d = max_pool_2d
    return module


def install_downsample():
    """Provide ``theano.tensor.signal.downsample.max_pool_2d`` for Lasagne 0.1 (on import)."""
    _FINDER.builders["theano.tensor.signal.downsample"] = _downsample_module


def install_python_scan():
    """Make Theano use its pure-Python scan loop instead of the uncompilable C one."""
    # None in sys.modules turns the import into ImportError, the case Theano's
    # Scan.make_thunk handles by running Scan.execute.
    sys.modules.setdefault("theano.scan_module.scan_perform_ext", None)


def install_iterable():
    """Restore ``collections.Iterable`` (moved to ``collections.abc``) for nolearn."""
    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable


def _cross_validation_module():
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
    return module


def install_cross_validation():
    """Provide ``sklearn.cross_validation`` with the pre-0.18 fold iterators (on import)."""
    _FINDER.builders["sklearn.cross_validation"] = _cross_validation_module


def _make_neuralnet_clonable(base):
    """Let ``sklearn.base.clone`` and ``repr`` work on nolearn's ``NeuralNet``.

    nolearn 0.6.1's ``__init__`` accepts ``loss`` and ``X_tensor_type`` (only
    to refuse values other than None) without storing them, so scikit-learn's
    ``get_params`` fails on them; and it re-wraps ``layers`` and replaces
    empty lists and dicts with new ones, which ``clone`` takes for a
    constructor that modifies its parameters.  Here the two removed
    parameters read as None, and every explicit argument that nolearn stored
    as an equal copy is stored as the object given.
    """
    cls = base.NeuralNet
    if getattr(cls, "_soundtrack_cnn_clonable", False):
        return
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self, layers, **kwargs):
        original_init(self, layers, **kwargs)
        given = dict(kwargs, layers=layers)
        for name, value in given.items():
            stored = self.__dict__.get(name, value)
            if stored is not value and (isinstance(value, base._list) or (
                    isinstance(value, (list, dict)) and not value and stored == value)):
                setattr(self, name, value)

    original_get_params = cls.get_params

    @functools.wraps(original_get_params)
    def get_params(self, deep=True):
        params = original_get_params(self, deep=deep)
        if isinstance(self.layers, base._list):
            params["layers"] = self.layers   # the same object, as clone requires
        return params

    cls.__init__ = __init__
    cls.get_params = get_params
    cls.loss = None
    cls.X_tensor_type = None
    cls._soundtrack_cnn_clonable = True


def after_import(name, patch):
    """Run ``patch(module)`` once module ``name`` is imported (now, if it already is)."""
    if name in sys.modules:
        patch(sys.modules[name])
    else:
        _FINDER.patches[name] = patch


def install_clonable_neuralnet():
    """Make nolearn's ``NeuralNet`` clonable by scikit-learn (patched when nolearn loads)."""
    after_import("nolearn.lasagne.base", _make_neuralnet_clonable)


def _version_ops_without_properties(cc):
    """Let ``CLinker.cmodule_key_`` version a graph whose ops have empty ``__props__``.

    Theano appends each op's ``__props__`` to a graph's version and reads any
    empty entry as "this op is unversioned", so a graph holding an op without
    properties (``__props__ == ()``, as ``Dot22``, ``Dot22Scalar``,
    ``DotModulo``, ``ScalarFromTensor``, ``DeepCopyOp`` and the package's own
    ``MaxPool2x2`` have) gets an unversioned key: its module is deleted when
    the process ends and compiled again by the next one.  Where Theano returns
    an unversioned key, the version is built again the same way with each
    op's properties as a non-empty entry; if every op and type still declares
    a C code version, that version is returned, else Theano's key stands.  The
    rest of the key (the graph's ops, types, compiler flags and Theano's
    configuration) is Theano's, so a cached module is reused only for the same
    graph and op versions, as for any other op.
    """
    theano_key = cc.CLinker.cmodule_key_

    @functools.wraps(theano_key)
    def cmodule_key_(self, fgraph, no_recycling, *args, **kwargs):
        key = theano_key(self, fgraph, no_recycling, *args, **kwargs)
        if key is None or key[0]:
            return key
        version = []
        for node in self.schedule(fgraph):
            if hasattr(node.op, "c_code_cache_version_apply"):
                version.append(node.op.c_code_cache_version_apply(node))
            if hasattr(node.op, "__props__"):
                version.append(("__props__",) + tuple(node.op.__props__))
            version.extend(variable.type.c_code_cache_version()
                           for variable in node.inputs + node.outputs)
        return (tuple(version), key[1]) if all(version) else key

    cc.CLinker.cmodule_key_ = cmodule_key_


def _version_cops_by_their_code(op_module):
    """Version a ``COp`` by a digest of its C files, not by Python's salted ``hash``.

    Theano's ``COp.c_code_cache_version`` is ``hash(tuple(self.func_codes))``:
    Python salts the hash of a string per process, so each process gives the
    same code another version, compiles it again and keeps the copy in the
    cache for good.  The same tuple, with SHA-256 of the files instead.
    """
    def c_code_cache_version(self):
        digest = sha256_bytes("\0".join(self.func_codes).encode("utf-8"))
        version = (int(digest[:15], 16),)
        if hasattr(self, "params_type"):
            version += (self.params_type.c_code_cache_version(),)
        return version

    op_module.COp.c_code_cache_version = c_code_cache_version


def install_stable_compile_keys():
    """Let the next process find the C code this one compiled (patched when Theano loads)."""
    after_import("theano.gof.cc", _version_ops_without_properties)
    after_import("theano.gof.op", _version_cops_by_their_code)


def silence_image_shape_warning():
    """Ignore Theano's warning about Lasagne 0.1's ``image_shape`` argument.

    The argument was only renamed; the warning tells a user of the package
    nothing they can act on.  A message filter, so no other warning is hidden.
    """
    import warnings
    warnings.filterwarnings("ignore", message="The `image_shape` keyword argument",
                            category=UserWarning)


_installed = False


def arm():
    """Add the import hook that installs the shims when the stack is first imported.

    Called by ``import soundtrack_cnn``; does nothing else (see the module).
    Idempotent.
    """
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def _install_all():
    """The shims, then the speed settings (:func:`soundtrack_cnn.stack.runtime.install`)."""
    from . import runtime
    install()
    if runtime.install():
        after_import("theano", runtime.register_ops)


def install():
    """Install every shim (idempotent); done when Theano, Lasagne or nolearn is first imported."""
    global _installed
    if _installed:
        return
    # Set first: what follows imports modules, which come back through find_spec.
    _installed = True
    configure_theano()
    install_python_scan()
    install_iterable()
    install_cross_validation()
    install_downsample()
    install_clonable_neuralnet()
    install_stable_compile_keys()
    silence_image_shape_warning()
    arm()
