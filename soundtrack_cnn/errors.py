"""The package's errors: one root, one kind per cause.

The command line catches :class:`SoundtrackCNNError` and prints its message as
one line (exit status 2); every message names the file, row, parameter or net
concerned.

Examples
--------
>>> issubclass(InputError, SoundtrackCNNError) and issubclass(InputError, ValueError)
True
>>> issubclass(TrainingError, SoundtrackCNNError), issubclass(ClusterError, SoundtrackCNNError)
(True, True)
"""

__all__ = ["SoundtrackCNNError", "InputError", "TrainingError", "ClusterError"]


class SoundtrackCNNError(Exception):
    """The root of the package's errors: what the command line reports in one line."""


class InputError(SoundtrackCNNError, ValueError):
    """Input the package cannot use: a bad file, manifest row, setting or run.

    The message always names the offending file, row or parameter, so a long
    job can report it, skip the item and go on.
    """


class TrainingError(SoundtrackCNNError, RuntimeError):
    """Training went wrong although its input was good: for instance a diverging loss."""


class ClusterError(SoundtrackCNNError, RuntimeError):
    """Worker processes failed: Dask missing or unreachable, or workers that kept dying."""
