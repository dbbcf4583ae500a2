"""Feature extraction: a whole collection decoded and tiled into a feature store, resumably.

Decoding and MFCC computation run in worker processes
(:mod:`soundtrack_cnn.parallel.pool`: a worker that dies or stops making
progress is replaced, its file retried once, then recorded as failed while
the rest of the collection goes on); the store keeps one writer (this
process), so its journal and chunk files stay consistent (see
:mod:`soundtrack_cnn.collection.store` for the format).  A track that cannot
be used is recorded with its reason and the run goes on.

A rerun extracts what is not finished: new or changed files, tracks whose
tiles in the store are damaged (checked against their checksums), and files
recorded as failed because their worker died (out of memory is not a
property of the file); bad audio stays failed until the file changes.

:func:`decode_file` is the one rule for what a file gives: ``ok`` (tiles),
``skipped`` (valid audio without a tile: too short, digital silence) or
``failed`` (missing, not audio, damaged); the collection report applies it
too.

Test hook (tests only, never set it otherwise): if the environment variable
``SOUNDTRACK_CNN_TEST_KILL_WORKER`` names a track's path, the process
extracting that track kills itself with SIGKILL, as a crashing decoder would.
"""
import contextlib
import dataclasses
import os
import signal
import sys
import warnings

import tqdm

from ..audio.features import FeatureSettings, check_usable, signal_to_tiles
from ..audio.io import load_audio
from ..errors import InputError, InputWarning
from ..files import sha256_file
from ..parallel.pool import STALL_SECONDS, Death, effective_n_jobs, imap_unordered
from .manifest import check_manifest, folder_tracks
from .store import StoreWriter, create_store, damaged_tracks, mark_complete, read_settings

__all__ = ["extract", "ExtractSummary", "decode_file"]


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


def extract(manifest, out, settings=FeatureSettings(), n_jobs=None, progress=False, client=None,
            stall_seconds=STALL_SECONDS, labelled=True, exclude_splits=()):
    """Extract the tiles of a whole collection into a feature store, resumably.

    Tracks already in the store with an unchanged file (same size and mtime)
    and intact tiles are skipped; a changed file, a track whose tiles are
    damaged and a file whose worker died are extracted again.  A track that
    cannot be used is recorded with its reason and an :class:`InputWarning`
    naming it, and the run goes on.  The store is marked complete at the end.

    Parameters
    ----------
    manifest : str or list of Track
        A manifest CSV (bad rows are reported and left out), a folder of
        audio files (unlabelled tracks, for pretraining) or tracks.
    out : str
        Store directory; created if needed.  An existing store must have the
        same ``settings``.
    settings : FeatureSettings
    n_jobs : int, optional
        Worker processes, in scikit-learn's meaning: None or 1 extracts in
        this process (faster to start, but a crashing decoder then ends the
        command), -1 uses every core.
    progress : bool
        Show a tqdm bar on stderr (tracks and hours of audio done) if stderr
        is a terminal (the command line does; off by default, as a library
        prints nothing of its own accord).
    client : distributed.Client or str, optional
        Decode on the workers of a Dask cluster instead of ``n_jobs`` local
        processes; they return the tiles and this process writes them.
    stall_seconds : float
        A worker whose CPU time does not advance this long is killed and
        counts as dead (None: wait for ever).
    labelled : bool
        False accepts manifest rows without tags (a store to pretrain on).
    exclude_splits : sequence of str
        Manifest rows of these splits are not extracted (e.g. ``test``).

    Returns
    -------
    summary : ExtractSummary
        Its ``str`` is one line (what the command line prints).

    Warns
    -----
    InputWarning
        For every track that is not ok (failed, skipped, damaged), naming
        its file and the reason; for a manifest that lists no track.

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.collection.corpus import generate_corpus
    >>> from soundtrack_cnn.collection.store import FeatureStore
    >>> folder = tempfile.mkdtemp()
    >>> manifest = generate_corpus(folder, n_tracks=2, progress=False)
    >>> summary = extract(manifest, os.path.join(folder, "store"), progress=False)
    >>> summary.ok, summary.failed, FeatureStore(os.path.join(folder, "store")).tiles.shape
    (2, 0, (4, 1, 40, 100))
    """
    effective_n_jobs(n_jobs)  # a bad value is refused before the store is made
    summary = ExtractSummary(store=out)
    if isinstance(manifest, (str, os.PathLike)) and os.path.isdir(manifest):
        tracks, bad_rows = folder_tracks(manifest), []
    elif isinstance(manifest, (str, os.PathLike)):
        tracks, bad_rows = check_manifest(manifest, labelled=labelled,
                                          exclude_splits=exclude_splits)
    else:
        tracks, bad_rows = list(manifest), []
    if not tracks and not bad_rows:
        warnings.warn("{}: lists no track (a header only?)".format(
            manifest if isinstance(manifest, (str, os.PathLike)) else "the manifest"),
            InputWarning, stacklevel=2)
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
                contextlib.closing(_run(todo, settings, n_jobs, client, stall_seconds)) \
                as results:
            for record, tiles in results:
                writer.append(record, tiles)
                summary.hours += record["duration"] / 3600.0
                setattr(summary, record["status"], getattr(summary, record["status"]) + 1)
                if record["status"] == "ok":
                    summary.tiles += len(tiles)
                else:
                    summary.problems.append((record["path"], record["reason"]))
                    _report(record["status"], record["reason"])
                bar.update()
                bar.set_postfix_str("{:.2f} h of audio".format(summary.hours), refresh=False)
        if not writer.read_only:
            mark_complete(out)
    return summary


def _pending(tracks, writer, summary):
    """The tracks still to extract; finished ones are counted (and re-tagged if needed)."""
    damaged = damaged_tracks(writer.out, writer.records, read_settings(writer.out))
    todo = []
    for track in tracks:
        done = writer.records.get(track.track_id)
        source = (track.path,) + _stat(track.path)
        if not done or (done["path"], done["size"], done["mtime_ns"]) != source or \
                done.get("crashed"):
            todo.append(track)
            continue
        if track.track_id in damaged:
            _report("damaged", "{}: {}; extracting it again".format(
                track.path, damaged[track.track_id]))
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


def _report(status, reason):
    # stacklevel 4: the warning points at the caller of extract (_report, _pending or
    # extract's loop, extract), as a notebook user wants to see it.
    warnings.warn("{}: {}".format(status, reason), InputWarning, stacklevel=4)


def _stat(path):
    try:
        info = os.stat(path)
    except OSError:
        return None, None
    return info.st_size, info.st_mtime_ns


def _run(tracks, settings, n_jobs, client, stall_seconds):
    """Yield ``(record, tiles)`` per track, in completion order."""
    work = [(track, settings) for track in tracks]
    if client is not None and work:
        from ..parallel.cluster import run_tasks, session
        with session(client) as cluster:
            jobs = {track.track_id: (job,) for track, job in zip(tracks, work)}
            for _, result in run_tasks(cluster, _extract_track, jobs, what="track",
                                       progress=False):
                yield result
        return
    for (track, _), result in imap_unordered(_extract_track, work, n_jobs,
                                              name=lambda job: job[0].path,
                                              stall_seconds=stall_seconds):
        if isinstance(result, Death):
            # Recorded as crashed, not as bad audio: a rerun tries it again.
            result = dict(_record(track), status="failed", crashed=True, reason=(
                "{}: the process extracting it {}, twice (a decoder crash or out of "
                "memory?); a rerun tries it again".format(track.path, result.cause))), None
        yield result


def _record(track):
    """The journal record of ``track`` before extraction (status ``ok``)."""
    size, mtime_ns = _stat(track.path)
    return {"track_id": track.track_id, "path": track.path, "tags": list(track.tags),
            "split": track.split, "status": "ok", "reason": None, "duration": 0.0,
            "size": size, "mtime_ns": mtime_ns, "sha256": None, "film": track.film}


def decode_file(path, settings=FeatureSettings(), tiles=True):
    """Decode one file as the feature store does and say what it gives: ok, skipped or failed.

    Parameters
    ----------
    path : str
    settings : FeatureSettings
    tiles : bool
        Also compute the tiles of an ok file (the collection report only
        needs the outcome).

    Returns
    -------
    outcome : dict
        ``status`` (``'ok'``; ``'skipped'``: decodes but gives no tile;
        ``'failed'``: does not decode), ``reason`` (one line naming the file,
        None if ok), ``seconds`` decoded, ``sha256`` of the file (None if it
        did not decode) and ``tiles`` (an array if ok and asked for, else
        None).  Never raises for bad audio.

    Examples
    --------
    >>> decode_file("missing.flac")["reason"]
    'missing.flac: no such file'
    """
    outcome = {"status": "ok", "reason": None, "seconds": 0.0, "sha256": None, "tiles": None}
    try:
        samples = load_audio(path, settings.sr)
    except InputError as error:
        return dict(outcome, status="failed", reason=str(error))
    except Exception as error:  # a decoder bug must not end a run of hundreds of hours
        return dict(outcome, status="failed", reason="{}: {}: {}".format(
            path, type(error).__name__, error))
    outcome.update(seconds=len(samples) / float(settings.sr), sha256=sha256_file(path))
    try:
        if tiles:
            outcome["tiles"] = signal_to_tiles(samples, settings, name=path)
        else:
            check_usable(samples, settings, name=path)
    except InputError as error:
        return dict(outcome, status="skipped", reason=str(error))
    return outcome


def _extract_track(job):
    """Decode and tile one track into its journal record and tiles; never raises for bad input."""
    track, settings = job
    if track.path == os.environ.get("SOUNDTRACK_CNN_TEST_KILL_WORKER"):
        os.kill(os.getpid(), signal.SIGKILL)  # test hook: see the module docstring
    outcome = decode_file(track.path, settings)
    record = dict(_record(track), status=outcome["status"], reason=outcome["reason"],
                  duration=outcome["seconds"], sha256=outcome["sha256"])
    return record, outcome["tiles"]
