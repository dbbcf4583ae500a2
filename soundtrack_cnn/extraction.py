"""Feature extraction: a whole collection decoded and tiled into a feature store, resumably.

Decoding and MFCC computation run in worker processes; the store keeps one
writer (this process), so its journal and chunk files stay consistent (see
:mod:`soundtrack_cnn.store` for the format).  A track that cannot be used is
recorded with its reason and the run goes on.

Each worker is a pool of its own, so a worker that dies (a decoder crash, the
out-of-memory killer) names the one file it was extracting: that file is
retried once in a fresh worker and, if it kills that one too, recorded as
failed while the rest of the collection goes on.  On Ctrl-C the workers are
killed at once (they hold nothing that is not recomputed by a rerun).

Test hook (tests only, never set it otherwise): if the environment variable
``SOUNDTRACK_CNN_TEST_KILL_WORKER`` names a track's path, the process
extracting that track kills itself with SIGKILL, as a crashing decoder would.
"""
import collections
import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading

import tqdm

from .audio import load_audio
from .errors import InputError
from .features import FeatureSettings, signal_to_tiles
from .files import sha256_file
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


def extract(manifest, out, settings=FeatureSettings(), jobs=None, progress=True):
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

    Returns
    -------
    summary : ExtractSummary
        Also printed to stderr as one line.

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.corpus import generate_corpus
    >>> from soundtrack_cnn.store import FeatureStore
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
                contextlib.closing(_run(todo, settings, jobs)) as results:
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
        if (tuple(done["tags"]), done["split"]) != (track.tags, track.split):
            writer.append(dict(done, tags=list(track.tags), split=track.split))
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


def _run(tracks, settings, jobs):
    """Yield ``(record, tiles)`` per track, in completion order."""
    work = [(track, settings) for track in tracks]
    if jobs == 1:
        yield from map(_extract_track, work)
        return
    n_workers = min(jobs, len(work))
    queue = collections.deque((job, 0) for job in work)  # (job, earlier worker deaths)
    idle, running = [], {}
    try:
        while queue or running:
            while queue and len(running) < n_workers:
                job, deaths = queue.popleft()
                worker = _idle_worker(idle)
                running[worker.submit(job)] = (worker, job, deaths)
            done, _ = concurrent.futures.wait(running,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                worker, job, deaths = running.pop(future)
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
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
        for worker, _, _ in running.values():
            worker.kill()
        for worker in idle:
            worker.close()


def _idle_worker(idle):
    """A worker ready for a job: an idle one still alive, else a new one."""
    while idle:
        worker = idle.pop()
        if worker.process.is_alive():
            return worker
        worker.kill()  # died between jobs: nothing was lost
    return _Worker()


class _Worker(object):
    """One worker process, as a one-process pool, so that its death names its track."""

    def __init__(self):
        # spawn: workers start clean whatever this process holds (threads, OpenMP, Theano).
        self.executor = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"))
        self.process = None

    def submit(self, job):
        if self.process is not None:
            return self.executor.submit(_extract_track, job)
        # Ctrl-C reaches the whole process group; this process alone decides
        # what happens (it kills the workers).  A worker started with SIGINT
        # blocked keeps it blocked, so none prints a KeyboardInterrupt traceback.
        # A Ctrl-C meanwhile is held until the worker is started (raised in the
        # middle, it would leave the worker waiting for its start-up data).
        held = []
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:
            handler = signal.signal(signal.SIGINT, lambda *_: held.append(True))
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        try:
            future = self.executor.submit(_extract_track, job)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            if in_main_thread:
                signal.signal(signal.SIGINT, handler)
        # spawn starts the process in submit(); ``_processes`` is the only
        # handle on it before Python 3.14's terminate_workers().
        self.process = next(iter(self.executor._processes.values()))
        if held:
            self.kill()
            raise KeyboardInterrupt
        return future

    def death(self):
        """How the worker's process ended (after a BrokenProcessPool)."""
        self.process.join(5)
        self.executor.shutdown(wait=False)
        code = self.process.exitcode
        if code is not None and code < 0:
            return "was killed by {}".format(signal.Signals(-code).name)
        return "ended with exit status {}".format(code)

    def kill(self):
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self):
        self.executor.shutdown(wait=True)


def _record(track):
    """The journal record of ``track`` before extraction (status ``ok``)."""
    size, mtime_ns = _stat(track.path)
    return {"track_id": track.track_id, "path": track.path, "tags": list(track.tags),
            "split": track.split, "status": "ok", "reason": None, "duration": 0.0,
            "size": size, "mtime_ns": mtime_ns, "sha256": None}


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
