"""The package's errors and warnings: one root each, one kind per cause.

The command line catches :class:`SoundtrackCNNError` and prints its message as
one line (exit status 2); every message names the file, row, parameter or net
concerned.

Warnings are issued with :func:`warnings.warn` (the package never prints
them), so a notebook or pipeline can filter, silence, log or test them like any
other: ``warnings.simplefilter("ignore", InputWarning)``, or
``warnings.simplefilter("error", SoundtrackCNNWarning)`` to stop at the first.
The command line shows each as one line.

Examples
--------
>>> issubclass(InputError, SoundtrackCNNError) and issubclass(InputError, ValueError)
True
>>> issubclass(TrainingError, SoundtrackCNNError), issubclass(ClusterError, SoundtrackCNNError)
(True, True)
>>> issubclass(InputWarning, SoundtrackCNNWarning), issubclass(SoundtrackCNNWarning, UserWarning)
(True, True)
"""

__all__ = ["SoundtrackCNNError", "InputError", "TrainingError", "ClusterError", "Remedy",
           "SoundtrackCNNWarning", "InputWarning", "TrainingWarning", "WorkerWarning"]


class Remedy(object):
    """The Python call an error message names as its fix.

    The message says it as Python (``str(remedy)``); the command line, which
    knows its own commands, says the command instead.  An argument written in
    capitals (``"MANIFEST"``) stands for a value the error cannot know.

    Examples
    --------
    >>> str(Remedy("evaluate_run", "runs/demo")), str(Remedy("extract", "MANIFEST", "store"))
    ("evaluate_run('runs/demo')", "extract(MANIFEST, 'store')")
    >>> str(Remedy("upgrade_run", "runs/x", trust=True))
    "upgrade_run('runs/x', trust=True)"
    """

    def __init__(self, function, *arguments, **keywords):
        self.function, self.arguments, self.keywords = function, arguments, keywords

    def __str__(self):
        return "{}({})".format(self.function, ", ".join(
            [a if isinstance(a, str) and a.isupper() else repr(a) for a in self.arguments]
            + ["{}={!r}".format(key, value) for key, value in self.keywords.items()]))


class SoundtrackCNNError(Exception):
    """The root of the package's errors: what the command line reports in one line.

    Parameters
    ----------
    message : str
    remedy : Remedy, optional
        The call the message names as the fix (see :class:`Remedy`).

    Examples
    --------
    >>> fix = Remedy("evaluate_run", "runs/demo")
    >>> error = InputError("runs/demo: no scores yet; run {} first".format(fix), remedy=fix)
    >>> str(error), error.remedy.function
    ("runs/demo: no scores yet; run evaluate_run('runs/demo') first", 'evaluate_run')
    """

    def __init__(self, message, remedy=None):
        super().__init__(message)
        self.remedy = remedy


class InputError(SoundtrackCNNError, ValueError):
    """Input the package cannot use: a bad file, manifest row, setting or run.

    The message always names the offending file, row or parameter, so a long
    job can report it, skip the item and go on.
    """


class TrainingError(SoundtrackCNNError, RuntimeError):
    """Training went wrong although its input was good: for instance a diverging loss."""


class ClusterError(SoundtrackCNNError, RuntimeError):
    """Worker processes failed: Dask missing or unreachable, or workers that kept dying."""


class SoundtrackCNNWarning(UserWarning):
    """The root of the package's warnings: something to know; the work goes on."""


class InputWarning(SoundtrackCNNWarning):
    """Input used as far as it can be: a file left out, a track that failed, a file without checksum.

    The message names the file (or row) and what was done about it.
    """


class TrainingWarning(SoundtrackCNNWarning):
    """A training setting that will probably not give what is wanted (too few updates, ...)."""


class WorkerWarning(SoundtrackCNNWarning):
    """A worker process (local or on a Dask cluster) died or lost its work, which is done again."""
