"""What several commands share: checked argument types, the ``--scheduler`` option and its Dask client.

Every numeric argument is checked where it enters (one error line naming the
option, its unit and its range, exit status 2), so no command starts with a
value it cannot use: ``--max-epochs 0`` would save untrained nets as a
finished run, ``--seed -5`` fails deep inside numpy, ``--min-cue inf``
overflows, ``--silence-db nan`` compares false with everything.  Each type
is a :class:`Number`: finite, within its range, in its unit.
"""
import argparse
import contextlib
import math
import os

__all__ = ["Number", "count", "seconds", "seed", "n_jobs", "share", "Distinct",
           "add_scheduler", "cluster"]


class Number(object):
    """An argparse type: a finite integer or float within a range, named with its unit.

    Parameters
    ----------
    kind : {int, float}
    description : str
        What the value is, for the message: ``"a whole number of epochs, at least 1"``.
    low, high : number, optional
        Inclusive bounds.
    above, below : number, optional
        Exclusive bounds.

    Examples
    --------
    >>> cue = Number(float, "a number of seconds, above 0 and at most 86400", above=0, high=86400)
    >>> cue("2.5")
    2.5
    >>> cue("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number of seconds, above 0 and at most 86400; got inf
    """

    def __init__(self, kind, description, low=None, high=None, above=None, below=None):
        self.kind, self.description = kind, description
        self.low, self.high, self.above, self.below = low, high, above, below

    def __call__(self, text):
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or \
                (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high) or \
                (self.above is not None and value <= self.above) or \
                (self.below is not None and value >= self.below):
            raise argparse.ArgumentTypeError("must be {}; got {}".format(self.description, text))
        return value

    def __repr__(self):  # argparse names the type in some messages
        return self.description


def count(unit, low=1, high=None):
    """A whole number of ``unit`` from ``low`` (to ``high``).

    Examples
    --------
    >>> count("epochs")("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a whole number of epochs, at least 1; got 0
    >>> count("resamples", high=100000)("1e9")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a whole number of resamples, from 1 to 100000; got 1e9
    """
    bounds = "at least {}".format(low) if high is None else "from {} to {}".format(low, high)
    return Number(int, "a whole number of {}, {}".format(unit, bounds), low=low, high=high)


def seconds(high):
    """A number of seconds above 0 and at most ``high``.

    Examples
    --------
    >>> seconds(86400)("20")
    20.0
    """
    return Number(float, "a number of seconds, above 0 and at most {:g}".format(high), above=0,
                  high=high)


def share(what, closed=True):
    """A share (of ``what``) from 0 to 1, or strictly between them unless ``closed``.

    Examples
    --------
    >>> share("the tiles", closed=False)("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a share of the tiles, above 0 and below 1; got 1
    """
    if closed:
        return Number(float, "a share of {}, from 0 to 1".format(what), low=0, high=1)
    return Number(float, "a share of {}, above 0 and below 1".format(what), above=0, below=1)


#: A random seed numpy accepts.
seed = Number(int, "a seed, a whole number from 0 to {}".format(2 ** 32 - 1), low=0,
              high=2 ** 32 - 1)


def n_jobs(text):
    """Processes in scikit-learn's meaning: a positive count, or -1 (every core), -2...

    At most ``max(32, 4 x cores)``: each process holds a decoder and its
    buffers, so more only fill the memory.

    Examples
    --------
    >>> n_jobs("-1"), n_jobs("4")
    (-1, 4)
    >>> n_jobs("0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number of processes from 1 to ..., or -1 for every core (-2 all but one, down to -...); got 0
    """
    cores = os.cpu_count() or 1
    most = max(32, 4 * cores)
    processes = Number(int, "a number of processes from 1 to {}, or -1 for every core (-2 all "
                            "but one, down to -{})".format(most, cores), low=-cores, high=most)
    value = processes(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be {}; got {}".format(processes.description, text))
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
    return session(args.scheduler, verbose=True)
