"""What several commands share: checked argument types, the ``--scheduler`` option and its Dask client.

Every numeric argument is checked where it enters (argparse's usage line and
one error line naming the option, exit status 2), so no command starts with
a value it cannot use: ``--max-epochs 0`` would save untrained nets as a
finished run, ``--seed -5`` fails deep inside numpy.
"""
import argparse
import contextlib
import math
import os

__all__ = ["positive_int", "non_negative_int", "seed", "n_jobs", "positive_float", "Distinct",
           "add_scheduler", "cluster"]


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("{!r} is not an integer".format(text)) from None


def positive_int(text):
    """An integer of at least 1.

    Examples
    --------
    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive integer, got 0
    """
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer, got {}".format(value))
    return value


def non_negative_int(text):
    """An integer of at least 0.

    Examples
    --------
    >>> non_negative_int("0")
    0
    """
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more, got {}".format(value))
    return value


def seed(text):
    """A random seed numpy accepts: 0 to 2**32 - 1.

    Examples
    --------
    >>> seed("-5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: a seed must be between 0 and 4294967295, got -5
    """
    value = _integer(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError("a seed must be between 0 and {}, got {}".format(
            2 ** 32 - 1, value))
    return value


def n_jobs(text):
    """Processes in scikit-learn's meaning: a positive count, or -1 (every core), -2...

    Examples
    --------
    >>> n_jobs("-1"), n_jobs("4")
    (-1, 4)
    >>> n_jobs("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number of processes, or -1 for every core (-2 all but one...), got 0
    """
    value = _integer(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a number of processes, or -1 for every core "
                                         "(-2 all but one...), got 0")
    return value


def positive_float(text):
    """A finite number above 0.

    Examples
    --------
    >>> positive_float("2.5")
    2.5
    >>> positive_float("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive number, got 'nan'
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("must be a positive number, got {!r}".format(text))
    return value


class Distinct(argparse.Action):
    """``nargs='+'`` values that must all differ (``--genres Drama Drama`` is refused).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
    >>> _ = parser.add_argument("--genres", nargs="+", action=Distinct)
    >>> parser.parse_args(["--genres", "Drama", "Crime"]).genres
    ['Drama', 'Crime']
    >>> parser.parse_args(["--genres", "Drama", "Drama"])
    Traceback (most recent call last):
    ...
    argparse.ArgumentError: argument --genres: Drama is given twice
    """

    def __call__(self, parser, namespace, values, option_string=None):
        twice = sorted({value for value in values if values.count(value) > 1})
        if twice:
            raise argparse.ArgumentError(self, "{} {} given twice".format(
                ", ".join(twice), "is" if len(twice) == 1 else "are"))
        setattr(namespace, self.dest, values)


def add_scheduler(parser):
    """``--scheduler ADDRESS``, defaulting to ``$DASK_SCHEDULER_ADDRESS``."""
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="a Dask scheduler (tcp://host:8786) to run on; "
                             "default $DASK_SCHEDULER_ADDRESS, else this process")


def cluster(args):
    """A Dask client for ``--scheduler`` (or $DASK_SCHEDULER_ADDRESS), or a null context."""
    if not args.scheduler:
        return contextlib.nullcontext()
    from ..parallel.cluster import session
    return session(args.scheduler)
