"""Feature extraction: a whole collection decoded and tiled into a feature store, resumably.

Decoding and MFCC computation run in worker processes; the store keeps one
writer (this process), so its journal and chunk files stay consistent (see
:mod:`soundtrack_cnn.collection.store` for the format).  A track that cannot be used is
recorded with its reason and the run goes on.

Each worker talks to this process through a pipe of its own, so a worker
that dies (a decoder crash, the out-of-memory killer) names the one file it
was extracting: that file is retried once in a fresh worker and, if it kills
that one too, recorded as failed while the rest of the collection goes on.
On Ctrl-C the workers are killed at once (they hold nothing that is not
recomputed by a rerun).

Test hook (tests only, never set it otherwise): if the environment variable
``SOUNDTRACK_CNN_TEST_KILL_WORKER`` names a track's path, the process
extracting that track kills itself with SIGKILL, as a crashing decoder would.
"""
import collections
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys

import tqdm

from ..audio.io import load_audio
from ..errors import InputError
from ..audio.features import FeatureSettings, signal_to_tiles
from ..files import sha256_file
from .manifest import check_manifest
from .store import StoreWriter, create_store

__all__ = ["extract", "ExtractSummary"]


@dataclasses.dataclass
class ExtractSummary(object):
    """What one :func:`extract` call did.

    Attributes
    ----------
    ok, skipped, failed : int
        Tracks extracted by this call, by outcome (manifest rows that could
        not be used count as failed).
    already_done : int
        Tracks found finished by an earlier run (same file size and mtime).
    hours : float
        Hours of audio decoded by this call.
    tiles : int
        Tiles written by this call.
    problems : list of (str, str)
        ``(path, reason)`` of every track of the manifest that is not ok,
        including those recorded by earlier runs.
    store : str
    """

    ok: int = 0
    skipped: int = 0
    failed: int = 0
    already_done: int = 0
    hours: float = 0.0
    tiles: int = 0
    problems: list = dataclasses.field(default_factory=list)
    store: str = ""

    def __str__(self):
        return ("{}: {} tracks processed ({} ok, {} skipped, {} failed), {} already done; "
                "{:.2f} h of audio, {} tiles written".format(
                    self.store, self.ok + self.skipped + self.failed, self.ok, self.skipped,
                    self.failed, self.already_done, self.hours, self.tiles))


def extract(manifest, out, settings=FeatureSettings(), jobs=None, progress=True, client=None):
    """Extract the tiles of a whole collection into a feature store, resumably.

    Tracks already in the store with an unchanged file (same size and mtime)
    are skipped; a changed file is extracted again.  A track that cannot be
    used is recorded with its reason, printed to stderr, and the run goes on.

    Parameters
    ----------
    manifest : str or list of Track
        A manifest CSV (bad rows are reported and left out) or tracks.
    out : str
        Store directory; created if needed.  An existing store must have the
        same ``settings``.
    settings : FeatureSettings
    jobs : int, optional
        Worker processes (default: all cores); 1 extracts in this process
        (faster to start, but a crashing decoder then ends the command).
    progress : bool
        Show a tqdm bar on stderr (tracks and hours of audio done) if stderr
        is a terminal.
    client : distributed.Client or str, optional
        Decode on the workers of a Dask cluster instead of ``jobs`` local
        processes; they return the tiles and this process writes them.

    Returns
    -------
    summary : ExtractSummary
        Also printed to stderr as one line.

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.collection.corpus import generate_corpus
    >>> from soundtrack_cnn.collection.store import FeatureStore
    >>> folder = tempfile.mkdtemp()
    >>> manifest = generate_corpus(folder, n_tracks=2, progress=False)
    >>> summary = extract(manifest, os.path.join(folder, "store"), jobs=1, progress=False)
    >>> summary.ok, summary.failed, FeatureStore(os.path.join(folder, "store")).tiles.shape
    (2, 0, (4, 1, 40, 100))
    """
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if not isinstance(jobs, int) or jobs < 1:
        raise InputError("jobs must be a positive integer, got {!r}".format(jobs))
    summary = ExtractSummary(store=out)
    if isinstance(manifest, (str, os.PathLike)):
        tracks, bad_rows = check_manifest(manifest)
    else:
        tracks, bad_rows = list(manifest), []
    if not tracks and not bad_rows:
        print("warning: {}: lists no track (a header only?)".format(
            manifest if isinstance(manifest, (str, os.PathLike)) else "the manifest"),
            file=sys.stderr, flush=True)
    create_store(out, settings)
    with StoreWriter(out) as writer:
        for _, path, reason in bad_rows:
            summary.failed += 1
            summary.problems.append((path, reason))
            _report("failed", reason)
        todo = _pending(tracks, writer, summary)
        # A bar only on a terminal: in a log file its updates would make one huge line.
        # closing(): on an error here (a full disk) the workers stop now, not
        # whenever the generator is collected.
        with tqdm.tqdm(total=len(todo), unit="track", file=sys.stderr, desc="features",
                       disable=not (progress and sys.stderr.isatty())) as bar, \
                contextlib.closing(_run(todo, settings, jobs, client)) as results:
            for record, tiles in results:
                writer.append(record, tiles)
                summary.hours += record["duration"] / 3600.0
                setattr(summary, record["status"], getattr(summary, record["status"]) + 1)
                if record["status"] == "ok":
                    summary.tiles += len(tiles)
                else:
                    summary.problems.append((record["path"], record["reason"]))
                    _report(record["status"], record["reason"], bar)
                bar.update()
                bar.set_postfix_str("{:.2f} h of audio".format(summary.hours), refresh=False)
    print(str(summary), file=sys.stderr, flush=True)
    return summary


def _pending(tracks, writer, summary):
    """The tracks still to extract; finished ones are counted (and re-tagged if needed)."""
    todo = []
    for track in tracks:
        done = writer.records.get(track.track_id)
        source = (track.path,) + _stat(track.path)
        if not done or (done["path"], done["size"], done["mtime_ns"]) != source:
            todo.append(track)
            continue
        summary.already_done += 1
        if (tuple(done["tags"]), done["split"], done.get("film")) != (track.tags, track.split,
                                                                      track.film):
            writer.append(dict(done, tags=list(track.tags), split=track.split, film=track.film))
        if done["status"] != "ok":
            summary.problems.append((track.path, done["reason"]))
            _report(done["status"] + " (recorded earlier)", done["reason"])
    return todo


def _report(status, reason, bar=None):
    line = "{}: {}".format(status, reason)
    if bar is None:
        print(line, file=sys.stderr, flush=True)
    else:
        bar.write(line, file=sys.stderr)


def _notice(line):
    """Print a line between progress-bar updates (tqdm's class-level write)."""
    tqdm.tqdm.write(line, file=sys.stderr)


def _stat(path):
    try:
        info = os.stat(path)
    except OSError:
        return None, None
    return info.st_size, info.st_mtime_ns


def _run(tracks, settings, jobs, client=None):
    """Yield ``(record, tiles)`` per track, in completion order."""
    work = [(track, settings) for track in tracks]
    if client is not None and work:
        from .distributed import run_tasks, session
        with session(client) as cluster:
            jobs = {track.track_id: (job,) for track, job in zip(tracks, work)}
            for _, result in run_tasks(cluster, _extract_track, jobs, what="track",
                                       progress=False):
                yield result
        return
    if jobs == 1:
        yield from map(_extract_track, work)
        return
    n_workers = min(jobs, len(work))
    queue = collections.deque((job, 0) for job in work)  # (job, earlier worker deaths)
    idle, running = [], {}  # running: worker -> (job, deaths)
    try:
        while queue or running:
            while queue and len(running) < n_workers:
                job, deaths = queue.popleft()
                running[_submit(idle, job)] = (job, deaths)
            # A worker's pipe is readable when its result is complete or when it
            # died (end of file), so a death mid-result is noticed too.
            ready = multiprocessing.connection.wait([w.connection for w in running])
            for worker in [w for w in running if w.connection in ready]:
                job, deaths = running.pop(worker)
                try:
                    result = worker.connection.recv()
                except (EOFError, OSError):
                    cause = worker.death()
                    path = job[0].path
                    if deaths == 0:
                        _notice("worker died: {}: the process extracting it {}; retrying it "
                                "once in a fresh worker".format(path, cause))
                        queue.appendleft((job, 1))
                    else:
                        yield dict(_record(job[0]), status="failed", reason=(
                            "{}: the process extracting it {}, twice (a decoder crash or "
                            "out of memory?)".format(path, cause))), None
                    continue
                idle.append(worker)
                yield result
    finally:
        # Ctrl-C or an error in this process: kill the workers rather than wait
        # for their tracks (nothing of theirs is written yet).
        for worker in running:
            worker.kill()
        for worker in idle:
            worker.close()


def _submit(idle, job):
    """Give ``job`` to an idle worker still alive, else to a new one; returns the worker."""
    while idle:
        worker = idle.pop()
        try:
            worker.connection.send(job)
            return worker
        except OSError:  # died between jobs: nothing was lost
            worker.kill()
    worker = _Worker()
    worker.connection.send(job)
    return worker


def _serve(fd):
    """A worker's loop: extract each job received on pipe ``fd``, send back its result."""
    connection = multiprocessing.connection.Connection(fd)
    try:
        for job in iter(connection.recv, None):
            connection.send(_extract_track(job))
    except (EOFError, OSError):
        pass  # the parent is gone (interrupted): nothing to report to


class _Worker(object):
    """One worker process and the pipe that is its only link to this process.

    Each worker has a pipe of its own (a result queue shared by all workers
    can hang its reader for good when a worker dies in the middle of a
    message), so a death is seen as the end of that pipe and names the
    worker's one track.  A worker is a fresh interpreter (nothing inherited:
    threads, OpenMP, Theano) in a session of its own: Ctrl-C at the terminal
    reaches this process only, which kills the workers, so no worker prints a
    KeyboardInterrupt traceback and no Ctrl-C is lost while one starts.
    """

    def __init__(self):
        self.connection, child = multiprocessing.Pipe()
        code = ("import sys; sys.path[:0] = {!r}; from soundtrack_cnn.collection.extraction import _serve; "
                "_serve({})".format(sys.path, child.fileno()))
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code],
                                            pass_fds=[child.fileno()], start_new_session=True)
        finally:
            # Only the worker holds the other end now: its death ends the pipe.
            child.close()

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


def _record(track):
    """The journal record of ``track`` before extraction (status ``ok``)."""
    size, mtime_ns = _stat(track.path)
    return {"track_id": track.track_id, "path": track.path, "tags": list(track.tags),
            "split": track.split, "status": "ok", "reason": None, "duration": 0.0,
            "size": size, "mtime_ns": mtime_ns, "sha256": None, "film": track.film}


def _extract_track(job):
    """Decode and tile one track; never raises for bad input."""
    track, settings = job
    if track.path == os.environ.get("SOUNDTRACK_CNN_TEST_KILL_WORKER"):
        os.kill(os.getpid(), signal.SIGKILL)  # test hook: see the module docstring
    record = _record(track)
    try:
        samples = load_audio(track.path, settings.sr)
    except InputError as error:
        return dict(record, status="failed", reason=str(error)), None
    except Exception as error:  # a decoder bug must not end a run of hundreds of hours
        return dict(record, status="failed", reason="{}: {}: {}".format(
            track.path, type(error).__name__, error)), None
    record.update(sha256=sha256_file(track.path), duration=len(samples) / float(settings.sr))
    try:
        tiles = signal_to_tiles(samples, settings, name=track.path)
    except InputError as error:
        return dict(record, status="skipped", reason=str(error)), None
    return record, tiles
