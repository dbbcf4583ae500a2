"""Running independent jobs (specialists, tracks) as tasks on a Dask cluster.

The study's work is embarrassingly parallel: the specialists never talk to
each other and every audio file is decoded on its own.  With a Dask client
(``pip install soundtrack_cnn[dask]``) each of those jobs becomes one task;
the calling process stays the only writer of run folders and feature stores,
so checkpointing, journals and resume work as they do in one process.

A cluster is a ``dask scheduler`` and any number of ``dask worker``
processes, on hosts that share a file system (the workers read the feature
store by its path, memory-mapped; only row indices, targets and the trained
nets travel, never tiles).  What a worker process must do before its first
task (training gives each worker a Theano compile cache of its own) is
passed in by the caller as a ``setup`` function (:class:`WorkerSetup`).
A net trains on one thread wherever it runs (:mod:`soundtrack_cnn.stack.threads`:
thread counts change the sums), so a specialist trained on a worker is
bit-identical to one trained in the calling process; run one single-threaded
worker per core (``dask worker --nworkers N --nthreads 1``).
"""
import asyncio
import concurrent.futures
import contextlib
import socket
import time
import uuid
import warnings

from ..errors import ClusterError, InputError, WorkerWarning

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # an optional extra: only a user who asks for a cluster needs it
    raise ClusterError("a Dask scheduler was given but Dask is not installed; "
                     "pip install 'soundtrack_cnn[dask]'") from None

__all__ = ["connect", "session", "run_tasks", "WorkerSetup"]

#: How often a job whose result was lost with a dead worker is submitted again.
LOST_RESUBMISSIONS = 2


def _check_address(address, timeout):
    """ClusterError at once unless ``address`` is a Dask address whose host answers.

    Checked before a :class:`distributed.Client` is made: a client made from a
    malformed address raises, and the half-made client then spends 20 s at
    interpreter exit trying to close, with a traceback.  A TCP address is
    tried with a plain socket first, so a refused or unknown host is one
    line at once.
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends
    usage = ("{!r} is not a Dask scheduler address: give SCHEME://HOST:PORT, e.g. "
             "tcp://127.0.0.1:8786".format(address))
    try:
        scheme, location = parse_address(address, strict=False)
    except (ValueError, TypeError):
        raise ClusterError(usage) from None
    if scheme not in backends:
        raise ClusterError("{} (scheme {!r} is not one of {})".format(
            usage, scheme, ", ".join(sorted(backends))))
    if scheme == "inproc":
        return
    try:
        host, port = parse_host_port(location)
    except (ValueError, TypeError):
        raise ClusterError(usage) from None
    if not host or "/" in host or not 0 < port < 65536:
        raise ClusterError(usage)
    if scheme == "tcp":
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as error:
            raise ClusterError("cannot reach the Dask scheduler at {} ({}; is `dask scheduler` "
                               "running there, and the address right?)".format(
                                   address, error.strerror or error)) from None


def connect(scheduler, timeout=10, setup=None, verbose=False):
    """A Dask client for ``scheduler``, with every worker set up by ``setup``.

    Parameters
    ----------
    scheduler : distributed.Client or str or None
        A client (used as it is), a scheduler address such as
        ``'tcp://host:8786'``, or None for no cluster.
    timeout : float
        Seconds to wait for the scheduler.
    setup : callable, optional
        A module-level function run once in every worker process, present
        and future, before its first task (see :class:`WorkerSetup`).
    verbose : bool
        Print one line (scheduler, workers, threads, dashboard) on stdout the
        first time a client is connected.

    Returns
    -------
    client : distributed.Client or None

    Raises
    ------
    ClusterError
        At once if the address is malformed or its host refuses or is unknown,
        else if the scheduler does not answer in ``timeout`` seconds (the
        message names the address).

    Examples
    --------
    >>> connect(None) is None
    True
    >>> connect("tcp://127.0.0.1:1", timeout=1)
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.ClusterError: cannot reach the Dask scheduler at tcp://127.0.0.1:1 (Connection refused; is `dask scheduler` running there, and the address right?)
    >>> connect("tcp://host:port")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.ClusterError: 'tcp://host:port' is not a Dask scheduler address: give SCHEME://HOST:PORT, e.g. tcp://127.0.0.1:8786
    """
    if scheduler is None:
        return None
    if isinstance(scheduler, distributed.Client):
        client = scheduler
    elif isinstance(scheduler, str):
        _check_address(scheduler, timeout)
        try:
            client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, ValueError, TypeError):
            raise ClusterError("cannot reach the Dask scheduler at {} (is `dask scheduler` running "
                             "there, and the address right?)".format(scheduler)) from None
    else:
        raise InputError("a Dask scheduler is a distributed.Client or an address string, "
                         "got {!r}".format(scheduler))
    if setup is not None:
        # Workers that join later get the plugin from the scheduler; registering
        # the same name again is a no-op (the plugin is idempotent).
        client.register_plugin(WorkerSetup(setup), name="soundtrack_cnn-{}.{}".format(
            setup.__module__, setup.__qualname__))
    if verbose and not getattr(client, "_soundtrack_cnn_described", False):
        workers = client.scheduler_info(n_workers=-1)["workers"]
        print("dask: scheduler {}, {} worker(s) with {} thread(s); dashboard {}".format(
            client.scheduler.address, len(workers),
            sum(info["nthreads"] for info in workers.values()), client.dashboard_link),
            flush=True)
        client._soundtrack_cnn_described = True
    return client


@contextlib.contextmanager
def session(scheduler, setup=None, verbose=False):
    """``with session(scheduler) as client``: connect, and close what was opened here.

    A client passed in stays open (its owner closes it); one made from an
    address is closed on the way out.  ``setup``, ``verbose``: as for :func:`connect`.
    """
    client = connect(scheduler, setup=setup, verbose=verbose)
    try:
        yield client
    finally:
        if client is not scheduler:
            client.close()


def run_tasks(client, function, jobs, what="task", progress=False):
    """Run ``function(*arguments)`` for every job on the cluster; yield results as they finish.

    Each task is retried once if it raises, and Dask reruns a task whose
    worker died (up to ``distributed.scheduler.allowed-failures`` times).

    Parameters
    ----------
    client : distributed.Client
    function : callable
        Importable by the workers (a module-level function of the package).
    jobs : dict
        ``{name: arguments tuple}``; the arguments travel inside the task (a worker that
        dies then takes no input with it).
    what : str
        What a job is, for the progress lines (``'specialist'``).
    progress : bool
        Print one line on stdout when a job starts running on a worker and
        one when it is done (with the worker's address).

    Yields
    ------
    (name, result)
        In completion order; the task's result is released on the workers
        as soon as it is yielded.

    Raises
    ------
    ClusterError
        When a job was lost (its workers died too often): what finished
        was yielded first.

    Warns
    -----
    WorkerWarning
        When a job's result was lost with its worker (it is submitted again).
    """
    def submit(name):
        key = "{}-{}-{}".format(what.replace(" ", "_"), name, uuid.uuid4().hex[:8])
        future = client.submit(function, *jobs[name], key=key, pure=False, retries=1)
        futures[future], keys[key] = name, name
        return future

    futures, keys, lost = {}, {}, {}
    pending = distributed.as_completed([submit(name) for name in jobs], loop=client.loop)
    started, done = set(), 0
    while not pending.is_empty():
        if progress:
            # Ask the workers what they are executing: the scheduler's "processing"
            # also counts tasks queued on a busy worker.
            executing = client.run(_executing, on_error="ignore")
            for worker, running in sorted(executing.items()):
                for key in running:
                    if key in keys and (key, worker) not in started:
                        started.add((key, worker))
                        print("dask: {} {} running on {}".format(what, keys[key], worker),
                              flush=True)
        batch = pending.next_batch(block=False)
        if not batch:
            time.sleep(0.5)
            continue
        for future in batch:
            name = futures.pop(future)
            try:
                result = future.result()
            except (distributed.KilledWorker, concurrent.futures.CancelledError,
                    asyncio.CancelledError) as error:
                # Its workers died running it too often (KilledWorker), or one died
                # holding its result: then it is submitted again, a few times.
                lost[name] = lost.get(name, 0) + 1
                if (not isinstance(error, distributed.KilledWorker)
                        and lost[name] <= LOST_RESUBMISSIONS):
                    warnings.warn("dask: {} {} was lost with its worker; submitted again".format(
                        what, name), WorkerWarning, stacklevel=2)
                    pending.add(submit(name))
                    continue
                raise ClusterError(
                    "{} {} was lost with the workers running it ({}: {}); everything finished "
                    "was handed back first, so running it again resumes".format(
                        what, name, type(error).__name__, error)) from None
            done += 1
            if progress:
                holders = client.who_has([future]).get(future.key) or ["a worker"]
                print("dask: {} {} done on {} ({}/{})".format(what, name, holders[0], done,
                                                               len(jobs)), flush=True)
            future.release()
            yield name, result


def _executing(dask_worker):
    """The keys a worker is executing right now (run on the worker by ``client.run``)."""
    return [task.key for task in dask_worker.state.executing]


class WorkerSetup(WorkerPlugin):
    """Dask worker plugin: ``setup()`` run once in every worker process, before its tasks.

    Registered on every worker (present and future) by :func:`connect`.
    What ``setup`` returns is kept until the worker process ends (a held
    lock file, for instance) and closed then if it can be.

    Parameters
    ----------
    setup : callable
        A module-level function (workers import it by name), no arguments.
    """

    idempotent = True

    def __init__(self, setup):
        self.setup_function = setup

    def setup(self, worker=None):
        self._held = self.setup_function()

    def teardown(self, worker=None):
        close = getattr(getattr(self, "_held", None), "close", None)
        if close is not None:
            close()
