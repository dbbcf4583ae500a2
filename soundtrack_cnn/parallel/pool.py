"""Worker processes that survive a dead or stuck worker: the one pool of extraction, batch prediction, report and corpus.

:func:`imap_unordered` runs a function on many arguments in ``n_jobs``
worker processes and hands back each result as it comes.  Why not
:class:`concurrent.futures.ProcessPoolExecutor` (tried first): when one of
its workers dies, every pending future fails with ``BrokenProcessPool`` and
nothing says which argument killed it, so the culprit cannot be retried
alone or named; it cannot kill one stuck worker; and its workers share the
terminal's process group, so Ctrl-C prints a traceback from each.  Here:

* each worker talks to this process through a pipe of its own, so a worker
  that dies (a decoder crash, the out-of-memory killer) names the one
  argument it was working on: that argument is retried once in a fresh
  worker and, if it kills that one too, handed back as a :class:`Death`
  while the rest goes on;
* a worker whose CPU time does not advance for ``stall_seconds`` (stopped
  with SIGSTOP, hung on a dead network mount) is killed and counts as dead;
* a worker is a fresh interpreter (nothing inherited: threads, OpenMP,
  Theano) in a session of its own: Ctrl-C or SIGTERM reaches this process
  only, which kills the workers at once (they hold nothing that is not
  recomputed by a rerun).

``n_jobs`` has scikit-learn's meaning (:func:`effective_n_jobs`): None is 1
(the work runs in this process: faster to start, but a crashing decoder then
ends the command) unless a ``joblib.parallel_config`` context says otherwise,
-1 every core, -2 all but one.
"""
import collections
import dataclasses
import multiprocessing
import multiprocessing.connection
import signal
import subprocess
import sys
import time
import warnings

import joblib

from ..errors import InputError, WorkerWarning

__all__ = ["Death", "effective_n_jobs", "imap_unordered", "STALL_SECONDS"]

#: Seconds without CPU progress after which a worker counts as dead (default).
STALL_SECONDS = 600.0


@dataclasses.dataclass(frozen=True)
class Death(object):
    """What :func:`imap_unordered` hands back for an argument whose worker died twice.

    Attributes
    ----------
    cause : str
        How the second worker ended, e.g. ``'was killed by SIGKILL'``.
    """

    cause: str


def effective_n_jobs(n_jobs):
    """Worker processes for ``n_jobs`` in scikit-learn's meaning: the one resolver of the package.

    A bad value is refused with :class:`~soundtrack_cnn.errors.InputError`;
    a good one is resolved by joblib, as scikit-learn resolves it, so None
    means 1 unless a ``joblib.parallel_config(n_jobs=...)`` context says
    otherwise, and -1 counts the cores this process may use.

    Examples
    --------
    >>> import joblib
    >>> effective_n_jobs(None), effective_n_jobs(3), effective_n_jobs(-1) == joblib.cpu_count()
    (1, 3, True)
    >>> with joblib.parallel_config(n_jobs=2):
    ...     effective_n_jobs(None)
    2
    >>> effective_n_jobs(0)
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: n_jobs must be a positive number of processes or -1 (every core), -2 (all but one)...; got 0
    """
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs == 0):
        raise InputError("n_jobs must be a positive number of processes or -1 (every core), -2 "
                         "(all but one)...; got {!r}".format(n_jobs))
    return joblib.effective_n_jobs(n_jobs)


def imap_unordered(function, arguments, n_jobs=None, name=str, stall_seconds=STALL_SECONDS):
    """Yield ``(argument, function(argument))`` for every argument, in completion order.

    Parameters
    ----------
    function : callable
        A module-level function (workers import it by name).
    arguments : iterable
        Picklable arguments.
    n_jobs : int, optional
        Worker processes (see the module); with 1 the function runs here.
    name : callable
        ``name(argument)``: how a notice names an argument (a file's path).
    stall_seconds : float
        A worker whose CPU time stays the same this long is killed and counts
        as dead (None: never; read from ``/proc``, so Linux only).

    Yields
    ------
    argument, result
        ``result`` is the function's value, or a :class:`Death` when the
        argument killed its worker twice.

    Warns
    -----
    WorkerWarning
        When a worker dies the first time (its argument is retried).

    Examples
    --------
    >>> sorted(result for _, result in imap_unordered(abs, [-2, 1, -3], n_jobs=2))
    [1, 2, 3]
    """
    if stall_seconds is not None and not stall_seconds > 0:
        raise InputError("stall_seconds must be a positive number of seconds, got {!r}"
                         .format(stall_seconds))
    arguments = list(arguments)
    n_workers = min(effective_n_jobs(n_jobs), len(arguments))
    if n_workers <= 1:
        for argument in arguments:
            yield argument, function(argument)
        return
    queue = collections.deque((argument, 0) for argument in arguments)  # (argument, deaths)
    idle, running = [], {}  # running: worker -> (argument, deaths)
    try:
        while queue or running:
            while queue and len(running) < n_workers:
                argument, deaths = queue.popleft()
                running[_submit(idle, function, argument)] = (argument, deaths)
            # A worker's pipe is readable when its result is complete or when it
            # died (end of file), so a death mid-result is noticed too; the
            # timeout wakes this loop to look for stuck workers.
            ready = multiprocessing.connection.wait(
                [worker.connection for worker in running],
                timeout=None if stall_seconds is None else min(stall_seconds, 5.0))
            for worker in list(running):
                cause = None
                if worker.connection in ready:
                    try:
                        result = worker.connection.recv()
                    except (EOFError, OSError):
                        cause = worker.death()
                elif stall_seconds is not None and worker.stalled(stall_seconds):
                    worker.kill()
                    cause = "made no progress for {:g} s (stopped, or hung?) and was killed" \
                        .format(stall_seconds)
                else:
                    continue
                argument, deaths = running.pop(worker)
                if cause is None:
                    idle.append(worker)
                    yield argument, result
                elif deaths == 0:
                    warnings.warn("worker died: {}: the process working on it {}; retrying it "
                                  "once in a fresh worker".format(name(argument), cause),
                                  WorkerWarning, stacklevel=2)
                    queue.appendleft((argument, 1))
                else:
                    yield argument, Death(cause)
    finally:
        # Ctrl-C, SIGTERM or an error in this process: kill the workers rather
        # than wait for their results (nothing of theirs is written yet).
        for worker in running:
            worker.kill()
        for worker in idle:
            worker.close()


def _submit(idle, function, argument):
    """Give the work to an idle worker still alive, else to a new one; returns the worker."""
    while idle:
        worker = idle.pop()
        try:
            worker.send(function, argument)
            return worker
        except OSError:  # died between jobs: nothing was lost
            worker.kill()
    worker = _Worker()
    try:
        worker.send(function, argument)
    except OSError:
        # Killed before its first argument arrived: its pipe has ended, so the
        # caller's loop sees a death and counts it against this argument.
        pass
    return worker


def _serve(fd):
    """A worker's loop: run each ``(function, argument)`` received on pipe ``fd``, send the result."""
    connection = multiprocessing.connection.Connection(fd)
    try:
        for function, argument in iter(connection.recv, None):
            connection.send(function(argument))
    except (EOFError, OSError):
        pass  # the parent is gone (interrupted): nothing to report to


class _Worker(object):
    """One worker process and the pipe that is its only link to this process.

    A pipe of its own (a result queue shared by all workers can hang its
    reader for good when a worker dies in the middle of a message), so a
    death is seen as the end of that pipe and names the worker's one argument.
    """

    def __init__(self):
        self.connection, child = multiprocessing.Pipe()
        code = ("import sys; sys.path[:0] = {!r}; "
                "from soundtrack_cnn.parallel.pool import _serve; _serve({})".format(
                    sys.path, child.fileno()))
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code],
                                            pass_fds=[child.fileno()], start_new_session=True)
        finally:
            # Only the worker holds the other end now: its death ends the pipe.
            child.close()
        self.cpu, self.since = None, time.monotonic()

    def send(self, function, argument):
        self.connection.send((function, argument))
        self.cpu, self.since = self._cpu_time(), time.monotonic()

    def _cpu_time(self):
        """User + system clock ticks of the process (None where /proc is missing)."""
        try:
            with open("/proc/{}/stat".format(self.process.pid), "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)

    def stalled(self, seconds):
        """Whether the process has used no CPU for ``seconds`` (False if unknown)."""
        cpu = self._cpu_time()
        if cpu is None:
            return False
        if cpu != self.cpu:
            self.cpu, self.since = cpu, time.monotonic()
            return False
        return time.monotonic() - self.since > seconds

    def death(self):
        """How the worker's process ended (after its pipe ended)."""
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.connection.close()
        if code < 0:
            return "was killed by {}".format(signal.Signals(-code).name)
        return "ended with exit status {}".format(code)

    def kill(self):
        self.process.kill()
        self.process.wait()
        self.connection.close()

    def close(self):
        try:
            self.connection.send(None)
            self.process.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.connection.close()
