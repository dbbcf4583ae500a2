"""Predicting a whole collection: decoding on every core beside scoring, into one resumable CSV.

The CSV has one row per file::

    path,tag_1,score_1,...,tag_k,score_k,error,size,mtime_ns,sha256

with scores the track's normalised shares (as ``predict`` prints them), and
the size, modification time and sha256 of the file as it was scored.  A
file that cannot be read gets its row with the error and empty tags; the
others are still scored.  One file is one row however it is named (``x``,
``./x``, ``d/../x``, a link to it: :func:`soundtrack_cnn.files.same_file_key`).

:func:`predict_collection` is made for archives of thousands of files and
films of hours:

* files are decoded into tiles by worker processes (the package's one pool,
  :func:`soundtrack_cnn.parallel.pool.imap_unordered`: fresh interpreters,
  a file that kills its decoder twice becomes that file's error row) while
  this process scores the tiles of the files already decoded;
* each row is appended (and flushed) as soon as its file is scored, so a
  rerun after Ctrl-C or a crash skips every file already tagged -- unless
  it changed since (its size, modification time or sha256 differ: it is
  tagged again), and files with an error row are tried again -- and at the
  end the CSV is rewritten atomically in the order of the inputs, one row
  per file; rows of files that are gone (or changed, and not among the
  inputs) are dropped, and the summary says how many;
* memory does not grow with the collection: a worker decodes its next file
  only once its tiles were taken, and a file's tile scores are dropped once
  its row is written.

File names are kept as the file system gives them: names that are not
UTF-8 are decoded by :func:`os.fsdecode` (surrogate escapes) and written
back to the CSV as the same bytes, so a path read from the CSV opens the
same file; :func:`soundtrack_cnn.files.printable` shows them in messages.
"""
import csv
import io
import os
import time
import warnings

import numpy as np

from ..audio.io import AUDIO_EXTENSIONS, find_audio
from ..audio.streaming import stream_tiles
from ..errors import InputError
from ..files import (check_not_input, input_path, output_path, printable, same_file_key,
                     sha256_file, write_bytes)
from ..parallel.pool import Death, effective_n_jobs, imap_unordered
from ..scoring.pooling import check_pooling
from ..scoring.prediction import TrackPrediction, score_tiles

__all__ = ["expand_inputs", "distinct_files", "check_csv", "predict_collection", "read_tags", "csv_header",
           "CollectionSummary"]

#: How the CSV's bytes map to paths: file names that are not UTF-8 survive.
ENCODING, ERRORS = "utf-8", "surrogateescape"


def expand_inputs(inputs):
    """Files as given, folders replaced by the audio files under them.

    Returns
    -------
    paths : list of str
        Each file once (:func:`distinct_files`): ``predict x ./x`` scores ``x`` once.
    any_folder : bool
        Whether a folder was among the inputs.

    Raises
    ------
    InputError
        If a folder holds no audio file.
    """
    paths, any_folder = [], False
    for item in map(os.fsdecode, inputs):
        if os.path.isdir(item):
            any_folder = True
            found = find_audio(item)
            if not found:
                raise InputError("{}: no audio files ({}) in this folder or below".format(
                    printable(item), ", ".join(sorted(AUDIO_EXTENSIONS))))
            paths.extend(found)
        else:
            paths.append(item)
    return distinct_files(paths), any_folder


def distinct_files(paths):
    """``paths`` with each file kept once, under the first name it is given.

    Examples
    --------
    >>> distinct_files(["/etc/hostname", "/etc/../etc/hostname", "/x.wav", "/y/../x.wav"])
    ['/etc/hostname', '/x.wav']
    """
    first = {}
    for path in paths:
        first.setdefault(same_file_key(path), path)
    return list(first.values())


#: The columns that tell whether a row still describes its file.
KEY_COLUMNS = ["size", "mtime_ns", "sha256"]


def csv_header(k):
    """The CSV's header for ``k`` ranked tags.

    Examples
    --------
    >>> csv_header(2)
    ['path', 'tag_1', 'score_1', 'tag_2', 'score_2', 'error', 'size', 'mtime_ns', 'sha256']
    """
    header = ["path"]
    for rank in range(1, k + 1):
        header += ["tag_{}".format(rank), "score_{}".format(rank)]
    return header + ["error"] + KEY_COLUMNS


def _file_key(path):
    """``{"size", "mtime_ns", "sha256"}`` of the file at ``path``, as strings ("" if unreadable).

    Taken before the file is decoded: if it changes meanwhile, its row is
    stale and the next run tags it again.
    """
    try:
        info = os.stat(path)
        return {"size": str(info.st_size), "mtime_ns": str(info.st_mtime_ns),
                "sha256": sha256_file(path)}
    except (OSError, InputError):
        return dict.fromkeys(KEY_COLUMNS, "")


def _still_true(row, path, hash_it):
    """Whether ``row`` describes the file now at ``path``: same size and mtime (and sha256).

    The sha256 settles it: a file replaced by another of the same size
    keeps its mtime through ``mv``, ``cp -p`` or an archive.  It is read only
    when size and mtime agree (otherwise the file changed anyway), and only
    if ``hash_it`` (for the files about to be tagged; a row of a file not
    asked about is kept on size and mtime).
    """
    try:
        info = os.stat(path)
    except OSError:
        return False
    if [str(info.st_size), str(info.st_mtime_ns)] != [row["size"], row["mtime_ns"]]:
        return False
    return not hash_it or sha256_file(path) == row["sha256"]


def _row(prediction, k, key):
    cells = []
    for genre, share in prediction.top[:k]:
        cells += [genre, "{:.4f}".format(share)]
    return [prediction.path] + cells + [""] * (2 * k - len(cells)) + [prediction.error or ""] + \
        [key[column] for column in KEY_COLUMNS]


def _csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode(ENCODING, ERRORS)


def read_tags(path, k):
    """The rows of an existing tags CSV, ``{path: {column: value}}`` in file order (later rows win).

    A last line cut short (the process was killed while writing it) is
    ignored.  A CSV written with another ``k`` is refused: its columns
    differ.  One written before rows had their file's size, mtime and sha256
    is read with those empty (its files are then tagged again).

    Returns
    -------
    rows : dict
        Empty if ``path`` does not exist.

    Raises
    ------
    InputError
        If ``path`` is not a regular file, not a CSV or not one of ``--top k``.
    """
    if not os.path.lexists(path):
        return {}
    with open(input_path(path, "tags CSV"), "rb") as stream:
        data = stream.read()
    if not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
    try:
        lines = list(csv.reader(io.StringIO(data.decode(ENCODING, ERRORS))))
    except csv.Error as error:
        raise InputError("{}: not a tags CSV ({}); give another CSV file".format(
            path, error)) from None
    if not lines:
        return {}
    header = csv_header(k)
    if lines[0] not in (header, header[:-len(KEY_COLUMNS)]):
        raise InputError("{}: its columns are not those of a CSV of the top {} tags ({}); give "
                         "another CSV file, or the number of tags it was written with".format(
                             path, k, ",".join(lines[0])[:200]))
    if lines[0] != header:
        warnings.warn("{} has no file keys (compatibility path `unkeyed-tags-csv`, removed in "
                      "0.4)".format(path), DeprecationWarning)
    empty = dict.fromkeys(KEY_COLUMNS, "")
    return {row[0]: dict(empty, **dict(zip(lines[0], row)))
            for row in lines[1:] if len(row) == len(lines[0])}


def _file_tiles(path, settings):
    """The tiles of one file; whatever goes wrong decoding it is that file's InputError.

    In a collection one odd file (a decoder's own exception, a name the
    decoder cannot encode) must cost its row, not the run.
    """
    try:
        yield from stream_tiles(path, settings)
    except InputError:
        raise
    except Exception as error:
        raise InputError("{}: cannot be decoded ({}: {})".format(
            printable(path), type(error).__name__, printable(str(error)))) from error


def _decode(job):
    """A worker's job ``(path, settings)``: ``(tiles, None, seconds, key)``, or
    ``(None, error, seconds, key)``, ``key`` the file's :func:`_file_key`."""
    path, settings = job
    start = time.perf_counter()
    key = _file_key(path)
    try:
        tiles = np.concatenate(list(_file_tiles(path, settings)))
        return tiles, None, time.perf_counter() - start, key
    except InputError as error:
        return None, str(error), time.perf_counter() - start, key


class CollectionSummary(object):
    """What :func:`predict_collection` did, and how fast.

    Attributes
    ----------
    tagged, failed, skipped : int
        Files scored, files with an error row, files already in the CSV.
    dropped : int
        Rows of earlier runs dropped: their file is gone, or changed and not
        among the inputs.
    workers : int
        Decoding processes (0: decoded in this process).
    wall, decode_seconds, score_seconds : float
        Seconds: the whole run; decoding, summed over the files; scoring.
    audio_seconds : float
        Audio scored (tiles times the tile's hop).
    """

    def __init__(self, workers):
        self.tagged = self.failed = self.skipped = self.dropped = 0
        self.workers = workers
        self.wall = self.decode_seconds = self.score_seconds = self.audio_seconds = 0.0

    def describe(self, csv_path):
        """One line: counts, then the decoding and scoring rates that overlapped."""
        line = "{}: {} file(s) tagged, {} could not be read".format(
            printable(csv_path), self.tagged, self.failed)
        if self.skipped:
            line += ", {} already there".format(self.skipped)
        if self.dropped:
            line += ", {} row(s) dropped (file gone or changed)".format(self.dropped)
        done = self.tagged + self.failed
        if done and self.wall > 0:
            line += "; {:.1f} files/s ({:.1f} h of audio in {:.0f} s".format(
                done / self.wall, self.audio_seconds / 3600, self.wall)
            if self.workers and self.decode_seconds > 0 and self.score_seconds > 0:
                line += "; decoding {:.1f} files/s on {} process(es), scoring {:.1f} files/s".format(
                    done * self.workers / self.decode_seconds, self.workers,
                    done / self.score_seconds)
            line += ")"
        return line


def check_csv(csv_path, paths):
    """Raise :class:`InputError` unless ``csv_path`` can be the tags CSV of ``paths``.

    What stands there is checked before it is opened (a FIFO would block for
    ever, a device never end), and it must not be one of the files to tag
    (``predict RUN a.flac --csv a.flac`` would write over the audio).
    """
    output_path(csv_path)
    check_not_input(csv_path, paths)


def predict_collection(model, paths, csv_path, k=5, pooling="mean", calibration=None, n_jobs=-1,
                   on_prediction=None, progress=None):
    """Tag ``paths`` into ``csv_path``, resuming it if it exists.

    Parameters
    ----------
    model
        A loaded model (any engine): ``predict_tiles``, ``genres_``, ``settings_``.
    paths : list of str
    csv_path : str
    k : int
        Tags per row.
    pooling, calibration
        As in :func:`soundtrack_cnn.scoring.prediction.predict_file`.
    n_jobs : int or None
        Decoding processes (-1: one per core; None or 1: decode in this
        process, as a single file also is).
    on_prediction : callable, optional
        Called with each :class:`TrackPrediction` (tile scores included)
        before its row is written, e.g. to draw its timeline.
    progress : callable, optional
        ``progress(iterable, total)`` wraps the iterable of files still to
        tag (e.g. ``tqdm.tqdm``).

    Returns
    -------
    summary : CollectionSummary
    """
    check_pooling(pooling, calibration)
    started = time.perf_counter()
    check_csv(csv_path, paths)
    paths = distinct_files(paths)
    asked = {same_file_key(path): path for path in paths}
    kept, done, dropped = [], set(), 0
    for path, row in read_tags(csv_path, k).items():
        file_key = same_file_key(path)
        if file_key in asked:
            # A row of a file to tag: kept if the file is unchanged (an error
            # row is tried again), else the file is tagged again.
            if not row["error"] and _still_true(row, path, hash_it=True):
                kept.append(row)
                done.add(file_key)
        elif _still_true(row, path, hash_it=False):
            kept.append(row)
        else:
            dropped += 1
    todo = [path for key, path in asked.items() if key not in done]
    workers = max(1, min(effective_n_jobs(n_jobs), len(todo)))
    summary = CollectionSummary(workers if workers > 1 else 0)
    summary.skipped, summary.dropped = len(paths) - len(todo), dropped
    hop_seconds = model.settings_.hop * model.settings_.winstep
    header = csv_header(k)
    # The rows still true, rewritten at once: stale ones (and a line cut by a
    # kill) are gone before new ones are appended.
    write_bytes(csv_path, _csv_bytes([header] + [[row[column] for column in header]
                                                 for row in kept]))
    with open(csv_path, "ab") as stream:
        for prediction, key in _predictions(model, todo, workers, k, pooling, calibration,
                                            summary, progress):
            if prediction.error:
                summary.failed += 1
            else:
                summary.tagged += 1
                summary.audio_seconds += len(prediction.tile_scores) * hop_seconds
            if on_prediction is not None:
                on_prediction(prediction)
            prediction.tile_scores = None
            stream.write(_csv_bytes([_row(prediction, k, key)]))
            stream.flush()
    rows = {same_file_key(path): row for path, row in read_tags(csv_path, k).items()}
    ordered = [row for key, row in rows.items() if key not in asked] + \
        [rows[key] for key in asked if key in rows]
    write_bytes(csv_path, _csv_bytes([header] + [[row[column] for column in header]
                                                 for row in ordered]))
    summary.wall = time.perf_counter() - started
    return summary


def _predictions(model, paths, workers, k, pooling, calibration, summary, progress):
    """Each path's :class:`TrackPrediction` as its decoding ends, ``workers`` files at a time."""
    jobs = [(path, model.settings_) for path in paths]
    results = imap_unordered(_decode, jobs, n_jobs=workers, name=lambda job: printable(job[0]))
    for (path, _), result in (progress(results, len(jobs)) if progress else results):
        if isinstance(result, Death):
            result = (None, "{}: its decoder {} twice".format(printable(path), result.cause), 0.0,
                      _file_key(path))
        tiles, error, seconds, key = result
        summary.decode_seconds += seconds
        start = time.perf_counter()
        prediction = TrackPrediction(path, error=error) if error else score_tiles(
            model, path, [tiles], k=k, pooling=pooling, calibration=calibration)
        summary.score_seconds += time.perf_counter() - start
        yield prediction, key
