"""Feature extraction: a whole collection decoded and tiled into a feature store, resumably.

Decoding and MFCC computation run in worker processes; the store keeps one
writer (this process), so its journal and chunk files stay consistent (see
:mod:`soundtrack_cnn.store` for the format).  A track that cannot be used is
recorded with its reason and the run goes on.
"""
import dataclasses
import multiprocessing
import os
import sys

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
        Worker processes (default: all cores); 1 extracts in this process.
    progress : bool
        Show a tqdm bar on stderr (tracks and hours of audio done).
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
    create_store(out, settings)
    with StoreWriter(out) as writer:
        for _, path, reason in bad_rows:
            summary.failed += 1
            summary.problems.append((path, reason))
            _report("failed", reason)
        todo = _pending(tracks, writer, summary)
        bar = tqdm.tqdm(total=len(todo), unit="track", file=sys.stderr, disable=not progress,
                        desc="features")
        for record, tiles in _run(todo, settings, jobs, client):
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
        bar.close()
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
    if jobs == 1 or len(work) <= 1:
        yield from map(_extract_track, work)
        return
    # spawn: workers start clean whatever the parent holds (threads, OpenMP, Theano).
    with multiprocessing.get_context("spawn").Pool(min(jobs, len(work))) as pool:
        yield from pool.imap_unordered(_extract_track, work)


def _extract_track(job):
    """Decode and tile one track; never raises for bad input."""
    track, settings = job
    size, mtime_ns = _stat(track.path)
    record = {"track_id": track.track_id, "path": track.path, "tags": list(track.tags),
              "split": track.split, "status": "ok", "reason": None, "duration": 0.0,
              "size": size, "mtime_ns": mtime_ns, "sha256": None, "film": track.film}
    try:
        signal = load_audio(track.path, settings.sr)
    except InputError as error:
        return dict(record, status="failed", reason=str(error)), None
    except Exception as error:  # a decoder bug must not end a run of hundreds of hours
        return dict(record, status="failed", reason="{}: {}: {}".format(
            track.path, type(error).__name__, error)), None
    record.update(sha256=sha256_file(track.path), duration=len(signal) / float(settings.sr))
    if not signal.any():
        return dict(record, status="skipped",
                    reason="{}: digital silence".format(track.path)), None
    try:
        tiles = signal_to_tiles(signal, settings, name=track.path)
    except InputError as error:
        return dict(record, status="skipped", reason=str(error)), None
    return record, tiles
