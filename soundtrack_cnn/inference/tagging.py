"""Tag a whole collection: decode on every core while the model scores, into one resumable CSV.

The CSV has one row per file::

    path,tag_1,score_1,...,tag_k,score_k,error

with scores the track's normalised shares (as ``predict`` prints them).  A
file that cannot be read gets its row with the error and empty tags; the
others are still scored.

:func:`tag_collection` is made for archives of thousands of files and
films of hours:

* files are decoded into tiles by worker processes (the package's one pool,
  :func:`soundtrack_cnn.parallel.pool.imap_unordered`: fresh interpreters,
  a file that kills its decoder twice becomes that file's error row) while
  this process scores the tiles of the files already decoded;
* each row is appended (and flushed) as soon as its file is scored, so a
  rerun after Ctrl-C or a crash skips every file already tagged -- files
  with an error row are tried again -- and at the end the CSV is rewritten
  atomically in the order of the inputs, one row per file;
* memory does not grow with the collection: a worker decodes its next file
  only once its tiles were taken, and a file's tile scores are dropped once
  its row is written.

File names are kept as the file system gives them: names that are not
UTF-8 are decoded by :func:`os.fsdecode` (surrogate escapes) and written
back to the CSV as the same bytes, so a path read from the CSV opens the
same file; :func:`printable` shows them in messages.
"""
import csv
import io
import os
import time

import numpy as np

from ..audio.io import AUDIO_EXTENSIONS, find_audio
from ..audio.streaming import stream_tiles
from ..parallel.pool import Death, effective_n_jobs, imap_unordered
from ..errors import InputError
from ..files import write_bytes
from ..scoring.prediction import TrackPrediction, score_tiles

__all__ = ["expand_inputs", "tag_collection", "read_tags", "printable", "csv_header",
           "CollectionSummary"]

#: How the CSV's bytes map to paths: file names that are not UTF-8 survive.
ENCODING, ERRORS = "utf-8", "surrogateescape"


def printable(text):
    """``text`` for a terminal: bytes of a non-UTF-8 file name shown as ``\\xNN``.

    Examples
    --------
    >>> printable(os.fsdecode(b"caf\\xe9.wav"))
    'caf\\\\xe9.wav'
    >>> printable("café.wav")
    'café.wav'
    """
    return text.encode(ENCODING, ERRORS).decode(ENCODING, "backslashreplace")


def expand_inputs(inputs):
    """Files as given, folders replaced by the audio files under them.

    Returns
    -------
    paths : list of str
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
    return paths, any_folder


def csv_header(k):
    """The CSV's header for ``k`` ranked tags.

    Examples
    --------
    >>> csv_header(2)
    ['path', 'tag_1', 'score_1', 'tag_2', 'score_2', 'error']
    """
    header = ["path"]
    for rank in range(1, k + 1):
        header += ["tag_{}".format(rank), "score_{}".format(rank)]
    return header + ["error"]


def _row(prediction, k):
    cells = []
    for genre, share in prediction.top[:k]:
        cells += [genre, "{:.4f}".format(share)]
    return [prediction.path] + cells + [""] * (2 * k - len(cells)) + [prediction.error or ""]


def _csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode(ENCODING, ERRORS)


def read_tags(path, k):
    """The rows of an existing tags CSV, ``{path: row}`` in file order (later rows win).

    A last line cut short (the process was killed while writing it) is
    ignored.  A CSV written with another ``k`` is refused: its columns differ.

    Returns
    -------
    rows : dict
        Empty if ``path`` does not exist.
    """
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as stream:
        data = stream.read()
    if not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
    lines = list(csv.reader(io.StringIO(data.decode(ENCODING, ERRORS))))
    if not lines:
        return {}
    if lines[0] != csv_header(k):
        raise InputError("{}: its columns are not those of --top {} ({}); give another --csv "
                         "or the --top it was written with".format(
                             printable(path), k, ",".join(lines[0])))
    return {row[0]: row for row in lines[1:] if len(row) == len(lines[0])}


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
    """A worker's job ``(path, settings)``: ``(tiles, None, seconds)``, or ``(None, error, seconds)``."""
    path, settings = job
    start = time.perf_counter()
    try:
        tiles = np.concatenate(list(_file_tiles(path, settings)))
        return tiles, None, time.perf_counter() - start
    except InputError as error:
        return None, str(error), time.perf_counter() - start


class CollectionSummary(object):
    """What :func:`tag_collection` did, and how fast.

    Attributes
    ----------
    tagged, failed, skipped : int
        Files scored, files with an error row, files already in the CSV.
    workers : int
        Decoding processes (0: decoded in this process).
    wall, decode_seconds, score_seconds : float
        Seconds: the whole run; decoding, summed over the files; scoring.
    audio_seconds : float
        Audio scored (tiles times the tile's hop).
    """

    def __init__(self, workers):
        self.tagged = self.failed = self.skipped = 0
        self.workers = workers
        self.wall = self.decode_seconds = self.score_seconds = self.audio_seconds = 0.0

    def describe(self, csv_path):
        """One line: counts, then the decoding and scoring rates that overlapped."""
        line = "{}: {} file(s) tagged, {} could not be read".format(
            printable(csv_path), self.tagged, self.failed)
        if self.skipped:
            line += ", {} already there".format(self.skipped)
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


def tag_collection(model, paths, csv_path, k=5, pooling="mean", calibration=None, n_jobs=-1,
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
    started = time.perf_counter()
    previous = read_tags(csv_path, k)
    done = {path for path, row in previous.items() if not row[-1]}
    todo = [path for path in paths if path not in done]
    workers = max(1, min(effective_n_jobs(n_jobs), len(todo)))
    summary = CollectionSummary(workers if workers > 1 else 0)
    summary.skipped = len(paths) - len(todo)
    hop_seconds = model.settings_.hop * model.settings_.winstep
    with open(csv_path, "ab") as stream:
        stream.truncate(_complete_length(csv_path))
        if stream.tell() == 0:
            stream.write(_csv_bytes([csv_header(k)]))
        for prediction in _predictions(model, todo, workers, k, pooling, calibration, summary,
                                       progress):
            if prediction.error:
                summary.failed += 1
            else:
                summary.tagged += 1
                summary.audio_seconds += len(prediction.tile_scores) * hop_seconds
            if on_prediction is not None:
                on_prediction(prediction)
            prediction.tile_scores = None
            stream.write(_csv_bytes([_row(prediction, k)]))
            stream.flush()
    rows, asked = read_tags(csv_path, k), dict.fromkeys(paths)
    ordered = [row for path, row in rows.items() if path not in asked] + \
        [rows[path] for path in asked if path in rows]
    write_bytes(csv_path, _csv_bytes([csv_header(k)] + ordered))
    summary.wall = time.perf_counter() - started
    return summary


def _complete_length(path):
    """Bytes of ``path`` up to its last whole line (a killed run may have cut one)."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as stream:
        data = stream.read()
    return data.rfind(b"\n") + 1


def _predictions(model, paths, workers, k, pooling, calibration, summary, progress):
    """Each path's :class:`TrackPrediction` as its decoding ends, ``workers`` files at a time."""
    jobs = [(path, model.settings_) for path in paths]
    results = imap_unordered(_decode, jobs, n_jobs=workers, name=lambda job: printable(job[0]))
    for (path, _), result in (progress(results, len(jobs)) if progress else results):
        if isinstance(result, Death):
            result = None, "{}: its decoder {} twice".format(printable(path), result.cause), 0.0
        tiles, error, seconds = result
        summary.decode_seconds += seconds
        start = time.perf_counter()
        prediction = TrackPrediction(path, error=error) if error else score_tiles(
            model, path, [tiles], k=k, pooling=pooling, calibration=calibration)
        summary.score_seconds += time.perf_counter() - start
        yield prediction
